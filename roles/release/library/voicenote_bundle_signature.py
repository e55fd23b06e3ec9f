#!/usr/bin/python
"""Verify a release bundle's OpenSSH signature against the environment's allowed signers before
anything of the bundle is read or unpacked: on the controller, and on each host after the upload.
The rules are voicenote_ops/bundle/signers.py, the CLI's too (module_utils/ links it)."""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voicenote_bundle_signers import SignatureRefused, check_signature

DOCUMENTATION = r"""
module: voicenote_bundle_signature
short_description: Verify a release bundle's signature against allowed signers
description:
  - Runs C(ssh-keygen -Y verify -I voicenote-release -n voicenote-release) on I(signature) with
    the bundle on standard input and I(allowed_signers) as the allowed signers file. Read-only.
  - A signature that is there is verified whenever a key is pinned. With I(required), a bundle
    without a signature, or allowed signers that pin no key, fail; without, they pass unchecked
    (I(signed) false).
options:
  path:
    description: The bundle file.
    type: path
    required: true
  signature:
    description: Its signature (C(ssh-keygen -Y sign -n voicenote-release) output).
    type: path
    required: true
  allowed_signers:
    description: The allowed-signers text (git's format), one key a line.
    type: str
    required: true
  required:
    description: Refuse a bundle without a signature, and allowed signers that pin no key.
    type: bool
    default: true
"""

RETURN = r"""
signed:
  description: Whether a pinned key's signature was verified.
  returned: always
  type: bool
key:
  description: The fingerprint of the key that signed the bundle (SHA256:...).
  returned: when I(signed)
  type: str
"""


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "signature": {"type": "path", "required": True},
            "allowed_signers": {"type": "str", "required": True},
            "required": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        key = check_signature(
            params["path"],
            params["signature"],
            params["allowed_signers"],
            params["required"],
            scratch=module.tmpdir,
        )
    except SignatureRefused as error:
        module.fail_json(msg=str(error), signed=False, reason=error.reason)
    module.exit_json(changed=False, signed=key is not None, key=key)


if __name__ == "__main__":
    main()
