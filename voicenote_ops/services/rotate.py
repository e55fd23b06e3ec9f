"""`rotate ENV SECRET`: a new secret for the fleet without a failed request.

A new password is made here (never typed, never printed); a new webhook URL, made by its
provider, comes from the operator on stdin (never argv). It is written to the environment's vault
first, beside the value in use (`<name>_previous`); playbooks/rotate.yml then has the server take
it beside the old one, rolls the app onto it host by host, and revokes the old one. Only after it
succeeded is `<name>_previous` removed. A run that failed or was interrupted leaves both in the
vault, and the next `rotate` finishes that rotation instead of starting another; a webhook URL,
which no host holds, is put back instead.
"""

import secrets
import string
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicenote_ops.environments import Environment
from voicenote_ops.errors import GuardRefused, InvalidInput, OpsError
from voicenote_ops.models import playbook_vars
from voicenote_ops.models.results import Progress, RunResult
from voicenote_ops.runner import PlaybookRun, run_playbook
from voicenote_ops.services.requests import check_lock_wait, environment_with_vault
from voicenote_ops.vault import read_vault, write_vault

PREVIOUS = "_previous"
# The role that owns the app's database when the vault names no login (the postgresql role's
# postgresql_app_user); an inventory that renames it sets vault_postgresql_app_login.
DATABASE_OWNER = "voicenote"


def _token() -> str:
    return secrets.token_urlsafe(32)


def _next_login(in_use: str) -> str:
    """The app's two PostgreSQL logins are used in turn: OWNER_a, OWNER_b, OWNER_a, ..."""
    base, _, slot = in_use.rpartition("_")
    if base and slot in ("a", "b"):
        return f"{base}_{'b' if slot == 'a' else 'a'}"
    return f"{in_use}_a"


@dataclass(frozen=True)
class Secret:
    """What rotate changes in the vault for one secret (playbooks/vars/rotations.yml says what
    the fleet does with it): the variables that change together, the first the secret itself,
    and how their new values are made from the ones in use."""

    variables: tuple[str, ...]
    new_values: Callable[[dict[str, Any], str | None], dict[str, Any]]
    # A variable's value in use when the vault has none.
    defaults: dict[str, str] = field(default_factory=dict)
    # The operator gives the new value (a webhook URL is made by its provider) and no host holds
    # it: a failed rotation puts the value in use back in the vault.
    given: bool = False


def webhook_url(value: str) -> str:
    """A webhook URL as the operator gave it, refused with one sentence when it cannot be one."""
    url = value.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(
            "The new webhook URL is not an http(s) URL with a host.",
            "Give the URL the provider made, e.g. https://hooks.slack.com/services/...",
        )
    if any(character in string.whitespace or not character.isprintable() for character in url):
        raise InvalidInput(
            "The new webhook URL holds spaces or control characters.",
            "Give the URL alone, on one line.",
        )
    return url


SECRETS = {
    "redis-password": Secret(
        ("vault_redis_password",),
        lambda in_use, given: {"vault_redis_password": _token()},
    ),
    "postgresql-password": Secret(
        ("vault_postgresql_app_password", "vault_postgresql_app_login"),
        lambda in_use, given: {
            "vault_postgresql_app_password": _token(),
            "vault_postgresql_app_login": _next_login(in_use["vault_postgresql_app_login"]),
        },
        defaults={"vault_postgresql_app_login": DATABASE_OWNER},
    ),
    "webhook-url": Secret(
        ("vault_notify_webhook_url",),
        lambda in_use, given: {"vault_notify_webhook_url": webhook_url(given or "")},
        given=True,
    ),
}


@dataclass(frozen=True)
class Rotation:
    environment: Environment
    secret: str
    vault: Path
    # A rotation that failed or was interrupted is finished, not started again.
    resumed: bool


def prepare(environment: str, secret: str, lock_wait: int = 0) -> tuple[Environment, str]:
    """Every check that needs no host and changes nothing."""
    check_lock_wait(lock_wait)
    if secret not in SECRETS:
        raise InvalidInput(
            f"{secret!r} is not a secret rotate knows.", f"Rotate one of: {', '.join(SECRETS)}."
        )
    env = environment_with_vault(environment)
    vault = env.vault_file
    if not vault.is_file():
        raise InvalidInput(f"{env.name} has no vault file ({vault}).", "See docs/secrets.md.")
    return env, secret


def _password(environment: Environment) -> Path:
    password = environment.vault_password_file
    if password is None:  # environment_with_vault refused it already
        raise InvalidInput(f"No vault password for {environment.name}.", "See docs/secrets.md.")
    return password


def check_given(secret: str, given: str | None) -> str | None:
    """The value the operator gave, checked before anything is written (None when rotate makes
    the new value itself)."""
    if not SECRETS[secret].given:
        return None
    return webhook_url(given or "")


def begin(environment: Environment, secret: str, given: str | None = None) -> Rotation:
    """Write the new values to the vault beside the ones in use (or find a rotation under way:
    a new webhook URL given then replaces the one it was moving to)."""
    spec = SECRETS[secret]
    vault = environment.vault_file
    password = _password(environment)
    variables = read_vault(vault, password)
    first = spec.variables[0]
    if first not in variables and not spec.given:
        raise InvalidInput(f"{vault} has no {first}.", "Add it (vault.yml.example lists it).")
    resumed = first + PREVIOUS in variables
    if resumed and given is None:
        return Rotation(environment, secret, vault, resumed)
    in_use = {name: variables.get(name, spec.defaults.get(name, "")) for name in spec.variables}
    new = spec.new_values(in_use, given)
    if not resumed:
        variables.update({name + PREVIOUS: value for name, value in in_use.items()})
    variables.update(new)
    write_vault(vault, password, variables)
    return Rotation(environment, secret, vault, resumed)


def rotate_run(rotation: Rotation, lock_wait: int) -> PlaybookRun:
    """The documented variables of rotate.yml: what CI would pass with -e (the vault already
    holds both values). Ctrl-C stops it at its next phase."""
    return rotation.environment.playbook_run(
        "rotate.yml",
        extravars=playbook_vars.extravars(
            lock_wait=lock_wait,
            env_name=rotation.environment.name,
            rotate_secret=rotation.secret,
        ),
        interruptible=True,
    )


def rotate(
    rotation: Rotation, lock_wait: int, on_progress: Callable[[Progress], None]
) -> RunResult:
    return run_playbook(rotate_run(rotation, lock_wait), on_progress=on_progress)


def finish(rotation: Rotation) -> None:
    """The old values are revoked everywhere: the vault keeps only the new ones."""
    password = _password(rotation.environment)
    variables = read_vault(rotation.vault, password)
    for name in SECRETS[rotation.secret].variables:
        variables.pop(name + PREVIOUS, None)
    write_vault(rotation.vault, password, variables)


def never_started(rotation: Rotation, given: str | None, error: OpsError) -> bool:
    """Whether a failed rotation left every host as it was: refused before any host (a bad
    request, the deploy lock held by another run) when it was not finishing one under way, or
    a value no host holds (a webhook URL)."""
    refused = isinstance(error, InvalidInput | GuardRefused) and not rotation.resumed
    return refused or given is not None


def abandon(rotation: Rotation) -> None:
    """A rotation that changed no host (its accept phase failed before any): the vault gets the
    values in use back, as if it never started."""
    password = _password(rotation.environment)
    variables = read_vault(rotation.vault, password)
    for name in SECRETS[rotation.secret].variables:
        if name + PREVIOUS in variables:
            variables[name] = variables.pop(name + PREVIOUS)
    write_vault(rotation.vault, password, variables)
