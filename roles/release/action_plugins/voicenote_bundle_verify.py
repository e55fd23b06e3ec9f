"""The bundle check (module voicenote_bundle_verify) in the controller's own process when the
task runs on the controller (connection local: the Verify play, before anything reaches a
host): the same answer, from the module's own code, without a module run's Python start and
imports (0.3 s of the 0.45 s it took). On any other connection the module runs on the host."""

import importlib.util
import os
import sys
import tempfile

from ansible.plugins.action import ActionBase

MODULE = "voicenote_bundle_verify"
ROLE = os.path.join(os.path.dirname(__file__), os.pardir)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verify_module():
    """The module's code (its answer()), with the role's module_utils under the names Ansible
    ships them with (ansible.module_utils.NAME), as the module imports them."""
    for name in ("voicenote_bundle_contents", "voicenote_bundle_signers"):
        if f"ansible.module_utils.{name}" not in sys.modules:
            sys.modules[f"ansible.module_utils.{name}"] = _load(
                f"ansible.module_utils.{name}", os.path.join(ROLE, "module_utils", f"{name}.py")
            )
    return _load(f"{MODULE}_on_the_controller", os.path.join(ROLE, "library", f"{MODULE}.py"))


VERIFY = verify_module()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=VERIFY.ARGUMENT_SPEC)
        if self._connection.transport != "local":
            module_args = {key: value for key, value in args.items() if value is not None}
            result.update(self._execute_module(MODULE, module_args, task_vars=task_vars))
            return result
        with tempfile.TemporaryDirectory(prefix="voicenote-verify-") as scratch:
            result.update(VERIFY.answer(args, scratch))
        return result
