"""Alembic migrations read statically (never imported): revisions, heads, compatibility."""

import ast
from pathlib import Path

from voicenote_ops.bundle.manifest import Migration
from voicenote_ops.errors import InvalidInput

DECLARED = ("revision", "down_revision", "backward_compatible")


def _module_constants(path: Path) -> dict[str, object]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        raise InvalidInput(f"Migration {path.name} is not valid Python: {error.msg}.") from None
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in DECLARED:
            try:
                constants[target.id] = ast.literal_eval(value)
            except ValueError:
                raise InvalidInput(
                    f"Migration {path.name} sets {target.id} to an expression, not a literal."
                ) from None
    return constants


def _down_revisions(path: Path, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InvalidInput(f"Migration {path.name} has a down_revision that is not None or strings.")


def read_migration(path: Path, relative_to: Path) -> Migration:
    constants = _module_constants(path)
    if not isinstance(constants.get("revision"), str):
        raise InvalidInput(f"Migration {path.name} has no revision = '...' string.")
    if not isinstance(constants.get("backward_compatible"), bool):
        raise InvalidInput(
            f"Migration {path.name} does not declare backward_compatible = True or False.",
            "Declare whether the previous release's code still works after it (expand-only).",
        )
    return Migration(
        revision=constants["revision"],
        down_revisions=_down_revisions(path, constants.get("down_revision")),
        path=path.relative_to(relative_to).as_posix(),
        backward_compatible=constants["backward_compatible"],
    )


def read_migrations(versions_dir: Path, relative_to: Path) -> tuple[Migration, ...]:
    """Every migration in versions_dir, ordered by file name."""
    return tuple(read_migration(path, relative_to) for path in sorted(versions_dir.glob("*.py")))


def heads(migrations: tuple[Migration, ...]) -> tuple[str, ...]:
    """Revisions no other migration builds on: what `alembic upgrade head(s)` ends at."""
    superseded = {down for migration in migrations for down in migration.down_revisions}
    return tuple(sorted(m.revision for m in migrations if m.revision not in superseded))
