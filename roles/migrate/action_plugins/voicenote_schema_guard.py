"""The schema guard (module voicenote_schema_guard) judged on the controller when the caller
already read the installed releases' migrations (`manifests`, a rollback's plan read them on the
app host with its state): the same decision, from the module's own code, without a round trip.
Without `manifests` the module runs on the host as always and reads them there."""

import importlib.util
import os

from ansible.plugins.action import ActionBase

MODULE = "voicenote_schema_guard"


def guard_module():
    """The module's code (its decide()), loaded from the role's library beside this plugin."""
    path = os.path.join(os.path.dirname(__file__), os.pardir, "library", f"{MODULE}.py")
    spec = importlib.util.spec_from_file_location(f"{MODULE}_on_the_controller", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GUARD = guard_module()
# The module's arguments, and the manifests that make it a decision on the controller.
ARGUMENTS = {**GUARD.ARGUMENT_SPEC, "manifests": {"type": "dict"}}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        manifests = args.pop("manifests")
        if manifests is None and not args["unreadable"]:
            module_args = {key: value for key, value in args.items() if value is not None}
            result.update(self._execute_module(MODULE, module_args, task_vars=task_vars))
        else:
            # A read that failed before this step needs no manifests to fail with.
            result.update(GUARD.judgement(manifests or {}, args))
        return result
