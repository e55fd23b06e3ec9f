#!/usr/bin/python
"""The audit trail's signed records.

`append`, on the lock host: sign the run's record with the environment's audit signing key
(`ssh-keygen -Y sign`, namespace voicenote-audit) and append it, in one step, so that no record
this host wrote is unsigned while the key is installed; the signed line is returned for the
controller's copy. `evidence`, on the controller: the records of an audit folder that match the
given fields AND carry a signature of a pinned public key (`ssh-keygen -Y verify`). A line
written by hand, signed by another key, or with one field changed after signing is not evidence.

What is signed is the record's canonical JSON (keys sorted, no spaces, ASCII) without its
`signature` field, so any copy of the record (the lock host's trail, the controller's, one
brought by `voicenote-ops history`) verifies the same.

An append can also release the run's deploy lease (release_lease_file, release_lease_id) in the
same round trip, after the record and even when writing the record failed: a run that ends
never keeps its lease for want of a line in the trail."""

import fcntl
import glob
import json
import os
import re
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voicenote_lease import release

DOCUMENTATION = r"""
module: voicenote_audit
short_description: Append a signed audit record, or find the verified records of an audit folder
options:
  action:
    description: append (on the lock host) or evidence (on the controller).
    type: str
    choices: [append, evidence]
    required: true
  path:
    description: The trail to append to (append).
    type: path
  record:
    description: The record to sign and append (append).
    type: dict
  signing_key:
    description: The OpenSSH private key that signs (append); a record is unsigned without it.
    type: path
  trails:
    description: The folder whose *.jsonl trails are read (evidence).
    type: path
  match:
    description: Fields a record must have, with these values, to be evidence.
    type: dict
  allowed_signers:
    description: >-
      The keys whose signatures count (evidence), in git's allowed-signers format, principal
      voicenote-audit: C(voicenote-audit namespaces="voicenote-audit" ssh-ed25519 AAAA...).
    type: str
  release_lease_file:
    description: The deploy lease file whose lease to release after the append (append).
    type: path
  release_lease_id:
    description: >-
      The run's lease id: released after the append, even when the append failed; a lease no
      longer this run's is left as it is (append).
    type: str
"""

RETURN = r"""
line:
  description: The appended line, signature included (append).
  type: str
  returned: when action is append
signed:
  description: Whether the appended record is signed (append).
  type: bool
  returned: when action is append
evidence:
  description: The matching records whose signature verifies (evidence).
  type: list
  returned: when action is evidence
unverified:
  description: How many matching records carry no signature of a pinned key (evidence).
  type: int
  returned: when action is evidence
pinned:
  description: Whether the allowed signers name any key at all (evidence).
  type: bool
  returned: when action is evidence
released:
  description: Whether the run's lease was released (append with release_lease_id).
  type: bool
  returned: when release_lease_id is given
"""

NAMESPACE = "voicenote-audit"
SIGNATURE = "signature"
# The principal every allowed-signers line names: the keys themselves say who vouches.
PRINCIPAL = "voicenote-audit"
# An allowed-signers line with a public key (a placeholder or a comment has none).
_PINNED_KEY = re.compile(r"^[^#]*\s(?:ssh|ecdsa|sk)-\S+\s+AAAA", re.MULTILINE)


def canonical(record):
    """The bytes a signature covers: the record without its signature, in one fixed form."""
    unsigned = {key: value for key, value in record.items() if key != SIGNATURE}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(record, key_file):
    """The record with its signature by key_file."""
    done = subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-n", NAMESPACE, "-f", key_file],
        input=canonical(record),
        capture_output=True,
        check=True,
    )
    return {**record, SIGNATURE: done.stdout.decode()}


def pins_a_key(allowed_signers):
    return _PINNED_KEY.search(allowed_signers) is not None


def verified(record, allowed_signers_file, scratch):
    """Whether the record carries a signature, by an allowed signer, of exactly its content."""
    signature = record.get(SIGNATURE)
    if not isinstance(signature, str) or not signature:
        return False
    signature_file = os.path.join(scratch, "record.sig")
    with open(signature_file, "w", encoding="ascii", errors="replace") as handle:
        handle.write(signature)
    done = subprocess.run(
        ["ssh-keygen", "-Y", "verify", "-f", allowed_signers_file, "-I", PRINCIPAL,
         "-n", NAMESPACE, "-s", signature_file],
        input=canonical(record), capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


def records_in(folder):
    """Every JSON object in the folder's *.jsonl files; other lines are no records."""
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*.jsonl"))):
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


def evidence(folder, match, allowed_signers):
    """(records matching every field of `match` and signed by an allowed signer, how many
    matching records are not)."""
    candidates = [
        r for r in records_in(folder) if all(k in r and r[k] == v for k, v in match.items())
    ]
    if not candidates or not pins_a_key(allowed_signers):
        return [], len(candidates)
    with tempfile.TemporaryDirectory() as scratch:
        signers = os.path.join(scratch, "allowed_signers")
        with open(signers, "w", encoding="utf-8") as handle:
            handle.write(allowed_signers.rstrip("\n") + "\n")
        good = [r for r in candidates if verified(r, signers, scratch)]
    return good, len(candidates) - len(good)


def append(path, record, key_file):
    """Sign (when the key is there) and append the record; the line written."""
    if key_file and os.path.isfile(key_file):
        record = sign(record, key_file)
    line = json.dumps(record, sort_keys=True) + "\n"
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line)
    return line.rstrip("\n"), SIGNATURE in record


def main():
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True, "choices": ["append", "evidence"]},
            "path": {"type": "path"},
            "record": {"type": "dict"},
            "signing_key": {"type": "path"},
            "trails": {"type": "path"},
            "match": {"type": "dict", "default": {}},
            "allowed_signers": {"type": "str", "default": ""},
            "release_lease_file": {"type": "path"},
            "release_lease_id": {"type": "str", "default": ""},
        },
        required_if=[("action", "append", ["path", "record"]), ("action", "evidence", ["trails"])],
        supports_check_mode=False,
    )
    params = module.params
    if params["release_lease_id"] and not params["release_lease_file"]:
        module.fail_json(msg="release_lease_file is needed to release a lease.")
    if params["action"] == "append":
        append_and_release(module, params)
    try:
        good, unverified = evidence(params["trails"], params["match"], params["allowed_signers"])
    except (OSError, ValueError, subprocess.CalledProcessError) as error:
        module.fail_json(msg=said(error))
    pinned = pins_a_key(params["allowed_signers"])
    module.exit_json(changed=False, evidence=good, unverified=unverified, pinned=pinned)


def said(error):
    detail = getattr(error, "stderr", None)
    return f"{error}{': ' + detail.decode().strip() if detail else ''}"


def append_and_release(module, params):
    """Append the record, then release the run's lease when asked, whatever the append did."""
    result, failure = {}, None
    try:
        line, signed = append(params["path"], params["record"], params["signing_key"])
        result.update(line=line, signed=signed)
    except (OSError, ValueError, subprocess.CalledProcessError) as error:
        failure = f"The audit record could not be written: {said(error)}"
    if params["release_lease_id"]:
        try:
            _, result["released"] = release(
                params["release_lease_file"], params["release_lease_id"]
            )
        except OSError as error:
            result["released"] = False
            failure = failure or f"The deploy lease could not be released: {error}"
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
