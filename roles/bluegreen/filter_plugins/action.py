"""What a host needs to serve a release, from its color state (voicenote_bluegreen_state's
result): the one decision the role acts on (tasks/main.yml) and `deploy --plan` reports
(playbooks/plan.yml), so the CLI shows what the deploy will do rather than deciding it again.

  none    its live color already serves the release
  switch  its idle color runs the release (a rollback, or a deploy back to the previous release):
          only nginx moves, after the gate
  start   anything else: the release starts in the idle color first, gated on health
"""


def bluegreen_action(state, version):
    idle = state["colors"][state["idle"]]
    if state.get("serves") == version:
        return "none"
    if idle.get("version") == version and idle.get("active"):
        return "switch"
    return "start"


class FilterModule:
    def filters(self):
        return {"voicenote_bluegreen_action": bluegreen_action}
