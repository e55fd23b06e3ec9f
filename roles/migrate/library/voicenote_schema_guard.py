#!/usr/bin/python
"""Decide whether a release can run on the database's schema, from the releases' manifests.

The migration graph is the union of every installed release's manifest (and the target's): each
migration with its down revisions and whether the previous release's code still works on the
schema it leaves (backward_compatible, expand-only). Decisions:
  current    the database is at the target's head
  upgrade    the database is behind, at revisions the target knows: migrate forward
  compatible the database is ahead, and every migration beyond the target's revisions is
             backward compatible: the target's code runs on it as it is
  downgrade  the database is ahead through an incompatible migration and a downgrade was asked
             for: run it from a release that knows the current head
Refused (failed): ahead through an incompatible migration without a downgrade asked for, or at
a revision no installed release knows."""

import json
import os

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: voicenote_schema_guard
short_description: Decide whether a release can run on the database's current schema
options:
  root:
    description: The app root holding releases/<version>/manifest.json.
    type: path
    default: /opt/voicenote
  target:
    description: The release that is to serve.
    type: str
    required: true
  target_migrations:
    description: The target's manifest migrations, when it is not installed here yet.
    type: list
    elements: dict
  current:
    description: The database's current revisions (empty when never migrated).
    type: list
    elements: str
    required: true
  allow_downgrade:
    description: Accept an incompatible schema by downgrading it to the target's head.
    type: bool
    default: false
  unreadable:
    description: >-
      Why the current revisions could not be read, when they were read before this step (the
      deploy lock's acquire reads them); the guard then fails with it and judges nothing.
    type: str
    default: ""
  database_down:
    description: With unreadable, PostgreSQL did not answer at all (returned with the failure).
    type: bool
    default: false
"""

RETURN = r"""
decision:
  description: current, upgrade, compatible or downgrade; refused when it failed.
  type: str
  returned: always
database_down:
  description: The failure is PostgreSQL not answering (an outage, not a refusal).
  type: bool
  returned: when unreadable was given
"""


def _manifests(root):
    folder = os.path.join(root, "releases")
    found = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name, "manifest.json")
        if os.path.isfile(os.path.join(folder, name, ".installed")) and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                found[name] = json.load(handle)
    return found


def _beyond(current, known, graph):
    """Revisions from the current heads down to (not including) the first known ones."""
    seen, stack = [], list(current)
    while stack:
        revision = stack.pop()
        if revision in known or revision in seen:
            continue
        if revision not in graph:
            return None
        seen.append(revision)
        stack.extend(graph[revision]["down_revisions"])
    return seen


def decide(manifests, target, target_migrations, current, allow_downgrade):
    if target_migrations is None:
        if target not in manifests:
            return "refused", f"Release {target} is not installed, so its schema is unknown.", {}
        target_migrations = manifests[target]["migrations"]
    graph = {m["revision"]: m for manifest in manifests.values() for m in manifest["migrations"]}
    graph.update({m["revision"]: m for m in target_migrations})
    known = {m["revision"] for m in target_migrations}
    referenced = {down for m in target_migrations for down in m["down_revisions"]}
    heads = sorted(known - referenced)
    details = {"target_heads": heads, "current": sorted(current)}
    if set(current) <= known:
        decision = "current" if sorted(current) == heads else "upgrade"
        message = f"The database is at {current or 'no revision'}; {target} knows it."
        return decision, message, details
    beyond = _beyond(current, known, graph)
    if beyond is None:
        return (
            "refused",
            (f"The database is at {', '.join(current)}, which no installed release knows."),
            details,
        )
    incompatible = sorted(r for r in beyond if not graph[r].get("backward_compatible"))
    details["beyond"] = sorted(beyond)
    if not incompatible:
        return (
            "compatible",
            (
                f"Release {target} runs on the current schema: every migration beyond its head "
                f"({', '.join(sorted(beyond))}) is backward compatible."
            ),
            details,
        )
    if allow_downgrade:
        knowing = [
            v
            for v, m in manifests.items()
            if set(current) <= {x["revision"] for x in m["migrations"]}
        ]
        if not knowing:
            message = "No installed release knows the current schema to downgrade it."
            return "refused", message, details
        details["downgrade_release"] = knowing[-1]
        details["downgrade_to"] = heads
        return "downgrade", f"The schema will be downgraded to {', '.join(heads)}.", details
    return (
        "refused",
        (
            f"Release {target}'s code does not know the schema the database is at "
            f"({', '.join(current)}): migration(s) {', '.join(incompatible)} are not backward "
            f"compatible. Ask for an explicit downgrade (--downgrade), taken after a backup, "
            f"or deploy a release that knows the schema."
        ),
        details,
    )


ARGUMENT_SPEC = {
    "root": {"type": "path", "default": "/opt/voicenote"},
    "target": {"type": "str", "required": True},
    "target_migrations": {"type": "list", "elements": "dict"},
    "current": {"type": "list", "elements": "str", "required": True},
    "allow_downgrade": {"type": "bool", "default": False},
    "unreadable": {"type": "str", "default": ""},
    "database_down": {"type": "bool", "default": False},
}


def judgement(manifests, params):
    """The module's result for these parameters and these installed releases' manifests."""
    if params["unreadable"]:
        return {"failed": True, "msg": params["unreadable"], "decision": "refused",
                "database_down": params["database_down"]}  # fmt: skip
    decision, message, details = decide(
        manifests, params["target"], params["target_migrations"], params["current"],
        params["allow_downgrade"],
    )  # fmt: skip
    if decision == "refused":
        return {"failed": True, "msg": message, "decision": decision, **details}
    return {"changed": False, "msg": message, "decision": decision, **details}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    manifests = {} if params["unreadable"] else _manifests(params["root"])
    result = judgement(manifests, params)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
