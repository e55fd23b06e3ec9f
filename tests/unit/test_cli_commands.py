"""The CLI registers its commands one way: each module of voicenote_ops/cli/ that has commands
holds them in a module-level Typer app, and cli/app.py adds every such app, a group's under its
name. A command module left out of cli/app.py, or registered another way, fails here."""

import importlib
import pkgutil

import pytest
import typer
from typer.main import get_command

import voicenote_ops.cli
from voicenote_ops.cli.app import app as root

pytestmark = pytest.mark.unit

MODULES = [
    importlib.import_module(f"voicenote_ops.cli.{info.name}")
    for info in pkgutil.iter_modules(voicenote_ops.cli.__path__)
    if info.name != "app"
]
COMMAND_MODULES = [m for m in MODULES if isinstance(getattr(m, "app", None), typer.Typer)]


def _names(app: typer.Typer) -> set[str]:
    return {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}


def test_command_modules_are_found():
    assert {"deploy", "rollback", "lab", "lock"} <= {
        m.__name__.rsplit(".")[-1] for m in COMMAND_MODULES
    }


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".")[-1])
def test_commands_are_declared_on_the_module_app_only(module):
    assert not hasattr(module, "register"), "declare the commands with @app.command on `app`"


@pytest.mark.parametrize("module", COMMAND_MODULES, ids=lambda m: m.__name__.rsplit(".")[-1])
def test_every_command_module_is_reachable_from_voicenote_ops(module):
    top = get_command(root).commands
    name = module.__name__.rsplit(".")[-1]
    group = [g for g in root.registered_groups if g.typer_instance is module.app]
    assert group, f"cli/app.py does not add {name}.app"
    if group[0].name:
        assert group[0].name == name and group[0].name in top
    else:
        assert _names(module.app) <= top.keys()
