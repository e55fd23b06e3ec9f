#!/usr/bin/python
"""Ask an app, from the host this runs on, whether it is ready and which release it runs: /ready
until it answers 200, then /health until it reports status ok (and the expected version), each
with a bounded number of attempts. One module run instead of two `uri` runs and their judgement:
the health gate before a switch, the check through a host's nginx after it and the load
balancer's check each cost one round trip to the host."""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voicenote_health_check import CHECK_OPTIONS, check

DOCUMENTATION = r"""
module: voicenote_health
short_description: Wait for /ready, then check that /health reports status ok and a version
options:
  url:
    description: Where the app answers, without a trailing slash.
    type: str
    required: true
  expect_version:
    description: The version /health must report; empty accepts any.
    type: str
    default: ""
  host_header:
    description: The Host header to send; empty sends the URL's host.
    type: str
    default: ""
  retries:
    description: Attempts after the first, for /ready and then for /health.
    type: int
    default: 30
  delay:
    description: Seconds between two attempts.
    type: float
    default: 1
  timeout:
    description: Seconds per request.
    type: float
    default: 5
  validate_certs:
    description: Check TLS certificates (false for self-signed ones).
    type: bool
    default: true
  fail:
    description: Fail when the app is not ready or not healthy (false only reports).
    type: bool
    default: true
"""

RETURN = r"""
result:
  description: url, ok, ready (the last /ready status, -1 when unanswered), status, version and
    color (from /health, null when not asked) and a one-line message.
  type: dict
  returned: always
"""


def main() -> None:
    spec = {**CHECK_OPTIONS, "fail": {"type": "bool", "default": True}}
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    result = check(module.params)
    if module.params["fail"] and not result["ok"]:
        module.fail_json(msg=result["message"], result=result)
    module.exit_json(changed=False, result=result)


if __name__ == "__main__":
    main()
