"""`provision`: users, packages, PostgreSQL, Redis, nginx, env files and the app's unit on every
host of an environment, with playbooks/provision.yml. Runs again without changing anything."""

from collections.abc import Callable
from dataclasses import dataclass

from voicenote_ops.environments import VAULT_PASSWORD_FILE_ENV, Environment, Kind
from voicenote_ops.errors import InvalidInput
from voicenote_ops.runner import PlaybookRun, Progress, RunResult, run_playbook

PLAYBOOK = "provision.yml"
VAULT_FILE = ("group_vars", "all", "vault.yml")


@dataclass(frozen=True)
class HostSummary:
    host: str
    ok: int
    changed: int
    failed: int
    unreachable: int
    failed_task: str | None
    message: str | None

    @property
    def succeeded(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


def provision_request(environment: Environment, check: bool) -> PlaybookRun:
    """The run for an environment, after checking its secrets can be opened (no host touched)."""
    password_file = environment.vault_password_file
    if password_file is None:
        raise InvalidInput(
            f"No vault password for {environment.name}.",
            f"Put it in ~/.config/voicenote-ops/{environment.name}.vault-password (mode 0600) "
            f"or name its file in ${VAULT_PASSWORD_FILE_ENV}.",
        )
    if not password_file.is_file():
        raise InvalidInput(
            f"The vault password file {password_file} does not exist.",
            f"Create it or point ${VAULT_PASSWORD_FILE_ENV} at the right file.",
        )
    vault = environment.inventory.joinpath(*VAULT_FILE)
    if environment.kind is Kind.INVENTORY and not vault.is_file():
        raise InvalidInput(
            f"{environment.name} has no secrets file ({vault}).",
            "Copy vault.yml.example next to it, fill it in and encrypt it (docs/secrets.md).",
        )
    return PlaybookRun(
        playbook=PLAYBOOK,
        inventories=(environment.inventory,),
        check=check,
        vault_password_file=password_file,
    )


def provision(request: PlaybookRun, on_progress: Callable[[Progress], None]) -> RunResult:
    """Run a request of provision_request (made first, so the CLI can confirm in between)."""
    return run_playbook(request, on_progress=on_progress)


def summaries(result: RunResult) -> list[HostSummary]:
    return [
        HostSummary(
            host=name,
            ok=outcome.ok,
            changed=outcome.changed,
            failed=outcome.failed,
            unreachable=outcome.unreachable,
            failed_task=outcome.failed_task,
            message=outcome.message,
        )
        for name, outcome in sorted(result.hosts.items())
    ]


def failure_report(result: RunResult) -> str | None:
    """One sentence naming each failed host and its task, or None when the run succeeded."""
    failing = [summary for summary in summaries(result) if not summary.succeeded]
    if result.succeeded and not failing:
        return None
    if not failing:
        return f"Provisioning stopped ({result.status}, exit code {result.rc}) with no failed host."
    named = ", ".join(
        f"{s.host} (unreachable)" if s.unreachable else f"{s.host} (task {s.failed_task!r})"
        for s in failing
    )
    return f"Provisioning failed on {len(failing)} host(s): {named}."
