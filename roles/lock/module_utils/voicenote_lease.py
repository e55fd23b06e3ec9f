"""The deploy lease kept in a file on the lock host: what acquire, renew, release, status and
force_release decide, and the file written or removed under an flock. Shared by the modules
voicenote_lock (every action) and voicenote_audit (an append that also releases the run's
lease, in the same round trip)."""

import fcntl
import json
import os
import secrets
import time

ACTIONS = ["acquire", "renew", "release", "status", "force_release"]


def _now():
    return int(time.time())


def _stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            lease = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a torn or foreign file is no lease
    return lease if isinstance(lease, dict) else None


def _write(path, lease):
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(lease, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o640)
    os.replace(temporary, path)


def live(lease, now):
    return lease is not None and lease.get("expires_epoch", 0) > now


def mine(lease, params):
    return lease is not None and bool(params["lease_id"]) and lease.get("id") == params["lease_id"]


def same_run(lease, params):
    return lease is not None and bool(params["run"]) and lease.get("run") == params["run"]


def refusal(lease):
    """What a second holder is told: who holds the lease, until when, and the two ways on."""
    return (
        f"{lease.get('operation', 'a run')} of {lease.get('version') or 'the environment'} by "
        f"{lease.get('holder', 'someone')} holds the deploy lock since "
        f"{lease.get('acquired_at', '?')} (until {lease.get('expires_at', '?')} unless renewed); "
        "once sure that run is dead, take the lock over with --take-over "
        "(-e voicenote_lock_take_over=true), recorded in the audit trail, or wait for it."
    )


def new_lease(params, previous, now):
    """The lease this run holds from now on; a renewal keeps its id and start."""
    kept = previous if params["action"] == "renew" else {}
    return {
        "id": kept.get("id") or secrets.token_hex(8),
        "holder": params["holder"],
        "run": params["run"],
        "operation": params["operation"],
        "version": params["version"],
        "acquired_at": kept.get("acquired_at", _stamp(now)),
        "renewed_at": _stamp(now),
        "renewed_epoch": now,
        "expires_at": _stamp(now + params["ttl"]),
        "expires_epoch": now + params["ttl"],
    }


class LeaseLost(Exception):
    """A renewal found the lease gone, expired and taken, or taken over."""


def decide(params, previous, now):
    """The outcome of the action on the lease as it is (a dict, with `write` the lease to write,
    or `remove`), or None when acquire must wait for another holder's live lease."""
    action = params["action"]
    if action == "status":
        return {"lease": previous if live(previous, now) else None}
    if action == "force_release":
        return {"lease": None, "remove": previous is not None}
    if action == "release":
        ours = mine(previous, params)
        return {"lease": None if ours else previous, "remove": ours}
    if action == "renew":
        if not mine(previous, params):
            now_held = (
                f"{previous.get('holder')}'s since {previous.get('acquired_at')}"
                if previous
                else "gone"
            )
            raise LeaseLost(
                f"The deploy lease is no longer this run's ({params['holder']}): it is "
                f"{now_held} (taken over, or broken with lock release)."
            )
        lease = new_lease(params, previous, now)
        return {"lease": lease, "write": lease}
    contested = live(previous, now)
    if contested and not (same_run(previous, params) or params["take_over"]):
        return None
    lease = new_lease(params, previous, now)
    return {"lease": lease, "write": lease, "taken_over": previous if contested else None}


def apply(path, outcome):
    """Write or remove the lease file as decided; whether it changed."""
    if outcome.get("write") is not None:
        _write(path, outcome["write"])
        return True
    if outcome.get("remove"):
        os.unlink(path)
        return True
    return False


def under_flock(path, params):
    """Decide the action on the lease as it is and apply it, holding the lease's flock:
    (previous lease, outcome or None when acquire must wait, whether the file changed).
    Raises LeaseLost (with the lease found, .previous) for a renewal of a lease no longer this
    run's."""
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    with open(f"{path}.flock", "a", encoding="utf-8") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        previous = _read(path)
        try:
            outcome = decide(params, previous, _now())
        except LeaseLost as lost:
            lost.previous = previous
            raise
        changed = outcome is not None and apply(path, outcome)
    return previous, outcome, changed


def release(path, lease_id):
    """Release the lease with this id (nothing when it is no longer this run's):
    (previous lease, whether it was removed)."""
    previous, _, changed = under_flock(path, {"action": "release", "lease_id": lease_id})
    return previous, changed
