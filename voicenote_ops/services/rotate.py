"""`rotate ENV SECRET`: a new secret for the fleet without a failed request.

The new value is made here (never typed, never printed) and written to the environment's vault
first, beside the value in use (`<name>_previous`); playbooks/rotate.yml then has the server take
it beside the old one, rolls the app onto it host by host, and revokes the old one. Only after it
succeeded is `<name>_previous` removed. A run that failed or was interrupted leaves both in the
vault, and the next `rotate` finishes that rotation instead of starting another.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.environments import Environment
from voicenote_ops.errors import InvalidInput
from voicenote_ops.runner import Progress, RunResult, run_playbook
from voicenote_ops.services.requests import environment_with_vault
from voicenote_ops.vault import read_vault, write_vault

VAULT_FILE = ("group_vars", "all", "vault.yml")
# What can be rotated: the vault variable, and the playbook that rolls the fleet onto it.
SECRETS = {"redis-password": ("vault_redis_password", "rotate.yml")}
PREVIOUS = "_previous"


@dataclass(frozen=True)
class Rotation:
    environment: Environment
    secret: str
    variable: str
    playbook: str
    vault: Path
    # A rotation that failed or was interrupted is finished, not started again.
    resumed: bool


def prepare(environment: str, secret: str) -> tuple[Environment, str]:
    """Every check that needs no host and changes nothing."""
    if secret not in SECRETS:
        raise InvalidInput(
            f"{secret!r} is not a secret rotate knows.", f"Rotate one of: {', '.join(SECRETS)}."
        )
    env = environment_with_vault(environment)
    vault = env.inventory.joinpath(*VAULT_FILE)
    if not vault.is_file():
        raise InvalidInput(f"{env.name} has no vault file ({vault}).", "See docs/secrets.md.")
    return env, secret


def _password(environment: Environment) -> Path:
    password = environment.vault_password_file
    if password is None:  # environment_with_vault refused it already
        raise InvalidInput(f"No vault password for {environment.name}.", "See docs/secrets.md.")
    return password


def begin(environment: Environment, secret: str) -> Rotation:
    """Write the new value to the vault beside the one in use (or find a rotation under way)."""
    variable, playbook = SECRETS[secret]
    vault = environment.inventory.joinpath(*VAULT_FILE)
    password = _password(environment)
    variables = read_vault(vault, password)
    if variable not in variables:
        raise InvalidInput(f"{vault} has no {variable}.", "Add it (vault.yml.example lists it).")
    resumed = bool(variables.get(variable + PREVIOUS))
    if not resumed:
        variables[variable + PREVIOUS] = variables[variable]
        variables[variable] = secrets.token_urlsafe(32)
        write_vault(vault, password, variables)
    return Rotation(environment, secret, variable, playbook, vault, resumed)


def rotate(
    rotation: Rotation, lock_wait: int, on_progress: Callable[[Progress], None]
) -> RunResult:
    return run_playbook(
        rotation.environment.playbook_run(
            rotation.playbook,
            extravars={
                "voicenote_lock_wait": lock_wait,
                "voicenote_env_name": rotation.environment.name,
            },
            interruptible=True,
        ),
        on_progress=on_progress,
    )


def finish(rotation: Rotation) -> None:
    """The old value is revoked everywhere: the vault keeps only the new one."""
    password = _password(rotation.environment)
    variables = read_vault(rotation.vault, password)
    variables.pop(rotation.variable + PREVIOUS, None)
    write_vault(rotation.vault, password, variables)
