"""The documented variables of the playbooks that change an environment (deploy.yml, plan.yml,
rollback.yml, provision.yml, rotate.yml), named once on the Python side: the services' runs
(deploy_run, rollback_run, ...) and `ci vars`, which writes them for a plain ansible-playbook,
both pass a request's fields through this table (docs/cicd.md lists what each one does)."""

from typing import Any

NAMES = {
    "version": "voicenote_version",
    "artifact": "voicenote_artifact",
    "artifact_signature": "voicenote_artifact_signature",
    "batch_size": "voicenote_batch_size",
    "stop_previous": "voicenote_stop_previous",
    "lock_wait": "voicenote_lock_wait",
    "take_over": "voicenote_lock_take_over",
    "watch_seconds": "voicenote_watch_seconds",
    "override_promotion": "voicenote_promotion_override",
    "ignore_alerts": "voicenote_ignore_alerts_reason",
    "image_digest": "voicenote_image_digest",
    "rollback_to": "voicenote_rollback_to",
    "downgrade": "voicenote_allow_downgrade",
    "hooks": "voicenote_hooks",
    "allow_server_restart": "voicenote_allow_server_restart",
    # A variable that names which secret to rotate, not a secret.
    "rotate_secret": "voicenote_rotate_secret",  # nosec B105
    # The environment's name as the CLI knows it (a lab's, or the inventory folder's).
    "env_name": "voicenote_env_name",
}


def extravars(**fields: Any) -> dict[str, Any]:
    """The extra vars of the fields given. A field given as None is not passed: the inventory's
    value or the playbook's default applies."""
    return {NAMES[name]: value for name, value in fields.items() if value is not None}
