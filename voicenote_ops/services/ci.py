"""Which environment a git ref deploys, at which version: the one mapping CI uses.

`refs/heads/develop` deploys dev and `refs/heads/staging` deploys staging, each at
`X.Y.(Z+1)-rc.N`: the patch after the newest release tag `vX.Y.Z`, pre-release number N = the
CI run number. A release tag `refs/tags/vX.Y.Z` deploys prod at `X.Y.Z`. Every other ref
deploys nothing, with a reason. docs/cicd.md says why.

CI also hands the tools what it holds through private files: secrets (`write_secret`), and the
variables of a plain `ansible-playbook` run, which Ansible never templates (`write_playbook_vars`).
"""

import os
import stat
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicenote_ops import rules
from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.errors import (
    MACHINE_FIX,
    InvalidInput,
    NeedsAttention,
    OpsError,
    machine_failure,
)
from voicenote_ops.extravars import write_private_file, write_vars_file
from voicenote_ops.models import playbook_vars

DEPLOYING_BRANCHES = {"develop": "dev", "staging": "staging"}
PROD = "prod"
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
# Git itself allows longer refs; nothing this project deploys is anywhere near this long.
MAX_REF_LENGTH = 255


@dataclass(frozen=True, order=True)
class Release:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def next_patch(self) -> "Release":
        return Release(self.major, self.minor, self.patch + 1)


# Before the first release tag, builds count up towards 0.0.1.
NO_RELEASE_YET = Release(0, 0, 0)


def parse_release_tag(tag: str) -> Release | None:
    """`v1.2.3` -> Release(1, 2, 3); anything else (v1.2, v01.2.3, v1.2.3-rc.1) -> None."""
    match = rules.release_tag().match(tag)
    if match is None or match["rc"]:
        return None
    return Release(*(int(number) for number in match.group("major", "minor", "patch")))


def is_pre_release_tag(tag: str) -> bool:
    """`v1.2.3-rc.1`."""
    match = rules.release_tag().match(tag)
    return match is not None and match["rc"] is not None


def parse_release(version: str) -> Release:
    """A release version typed by a user, `X.Y.Z`."""
    release = parse_release_tag(f"v{version}")
    if release is None:
        raise InvalidInput(
            f"Release {_shown(version)} is not of the form X.Y.Z.", "Use for example 1.4.2."
        )
    return release


def newest_release(tags: Iterable[str]) -> Release:
    """The highest `vX.Y.Z` among tags (pre-release and other tags ignored)."""
    releases = [release for tag in tags if (release := parse_release_tag(tag)) is not None]
    return max(releases, default=NO_RELEASE_YET)


def git_tags(checkout: Path) -> list[str]:
    """Every tag of the checkout. CI must fetch them (actions/checkout with fetch-depth: 0)."""
    done = subprocess.run(
        ["git", "-C", str(checkout), "tag", "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise InvalidInput(
            f"Cannot list the git tags of {checkout}: {last_line}.",
            "Run from a git checkout with its tags, or pass --last-release X.Y.Z.",
        )
    return done.stdout.split()


@dataclass(frozen=True)
class Resolution:
    """What a ref deploys: an environment and version, or nothing and why."""

    environment: str | None
    version: str | None
    reason: str
    # How the environment runs releases (bundle or image), '' when nothing deploys.
    runtime: str = ""

    def to_json(self) -> dict:
        return {
            "environment": self.environment,
            "version": self.version,
            "runtime": self.runtime or None,
            "reason": self.reason,
        }


def _shown(text: str) -> str:
    """A value a user (or an attacker) chose, safe to print: quoted, escaped, shortened."""
    return repr(text if len(text) <= 60 else text[:60] + "...")


def _no_deploy(reason: str) -> Resolution:
    return Resolution(None, None, reason)


def _resolve_branch(
    branch: str, run_number: int | None, last_release: Callable[[], Release]
) -> Resolution:
    environment = DEPLOYING_BRANCHES.get(branch)
    if environment is None:
        if branch == "main":
            return _no_deploy(
                "main deploys nothing by itself; tag a release vX.Y.Z to deploy prod."
            )
        return _no_deploy(
            f"Branch {_shown(branch)} does not deploy; only develop (dev) and staging do."
        )
    if run_number is None:
        raise InvalidInput(
            f"Branch {branch} deploys {environment}, versioned X.Y.Z-rc.N by the CI run number.",
            "Pass --run-number N (GitHub Actions: $GITHUB_RUN_NUMBER).",
        )
    version = f"{last_release().next_patch()}-rc.{run_number}"
    return Resolution(environment, version, f"Branch {branch} deploys {environment}.")


def _resolve_tag(tag: str) -> Resolution:
    release = parse_release_tag(tag)
    if release is not None:
        return Resolution(PROD, str(release), f"Release tag {tag} deploys {PROD}.")
    if is_pre_release_tag(tag):
        return _no_deploy(
            f"Pre-release tag {tag} deploys nothing: staging deploys from the staging branch, "
            "prod from release tags vX.Y.Z."
        )
    return _no_deploy(
        f"Tag {_shown(tag)} is not a release tag vX.Y.Z "
        "(three numbers without leading zeros, e.g. v1.4.2); nothing deploys."
    )


def resolve_ref(
    ref: str, run_number: int | None, last_release: Callable[[], Release]
) -> Resolution:
    """The deploy a pushed ref triggers. `last_release` is asked only when a branch deploys.

    A ref is whatever was pushed, so a malformed one is an answer (nothing deploys), not an
    error; the only error is a deploying branch without the run number its version needs.
    """
    if not ref:
        return _no_deploy("The ref is empty; nothing deploys.")
    if len(ref) > MAX_REF_LENGTH:
        return _no_deploy(f"The ref is longer than {MAX_REF_LENGTH} characters; nothing deploys.")
    if ref.startswith(BRANCH_PREFIX):
        return _resolve_branch(ref.removeprefix(BRANCH_PREFIX), run_number, last_release)
    if ref.startswith(TAG_PREFIX):
        return _resolve_tag(ref.removeprefix(TAG_PREFIX))
    return _no_deploy(
        f"Ref {_shown(ref)} is neither refs/heads/BRANCH nor refs/tags/TAG; nothing deploys."
    )


def github_outputs(resolution: Resolution) -> str:
    """`name=value` lines for $GITHUB_OUTPUT; an empty environment means no deploy.

    Only values the tool built itself go there (an environment name, a version made of digits,
    a runtime of two known words), so a hostile ref can never add lines of its own.
    """
    return (
        f"environment={resolution.environment or ''}\nversion={resolution.version or ''}\n"
        f"runtime={resolution.runtime}\n"
    )


def append_github_outputs(resolution: Resolution, destination: Path) -> None:
    """Append the outputs to the file GitHub names in $GITHUB_OUTPUT, a regular file (or a new
    one). Anything else is refused before a byte is written: opened without following a symlink
    or waiting for a fifo's reader, and checked once open."""
    try:
        mode = destination.lstat().st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    except OSError as error:
        raise _cannot_append(destination, error) from None
    if not stat.S_ISREG(mode):
        raise _cannot_append(destination, "not a regular file")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        descriptor = os.open(destination, flags, 0o644)
    except OSError as error:
        raise _cannot_append(destination, error) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as outputs:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _cannot_append(destination, "not a regular file")
        outputs.write(github_outputs(resolution))


def _cannot_append(destination: Path, why: OSError | str) -> OpsError:
    reason = why if isinstance(why, str) else why.strerror or str(why)
    message = f"Cannot append to --github-output {destination}: {reason}."
    if isinstance(why, OSError) and machine_failure(why):
        return NeedsAttention(message, MACHINE_FIX)
    return InvalidInput(
        message, "Give the file GitHub names in $GITHUB_OUTPUT (a regular file), or a new path."
    )


def write_secret(value: str | None, name: str, destination: Path) -> None:
    """Write a secret handed over in the environment variable `name` to a 0600 file.

    The file is created private before anything is written to it, and the content ends with
    one newline (OpenSSH refuses a private key without it; Ansible strips it from passwords).
    """
    if not value or not value.strip():
        raise InvalidInput(
            f"The environment variable {name} is empty or unset.",
            "Add the secret to the repository's (or the GitHub environment's) secrets.",
        )
    write_private_file(destination, value.rstrip("\r\n") + "\n")


# The phases a deploy runs an operator's hook at (playbooks/vars/phases.yml, tasks/hook.yml).
HOOK_PHASES = rules.hook_points()


@dataclass(frozen=True)
class PlaybookVars:
    """The documented variables of deploy.yml, plan.yml, rollback.yml and provision.yml; None:
    not given, so the inventory's value or the playbook's default applies."""

    version: str | None = None
    artifact: str | None = None
    artifact_signature: str | None = None
    batch_size: int | None = None
    stop_previous: bool = False
    lock_wait: int | None = None
    watch_seconds: int | None = None
    override_promotion: str | None = None
    rollback_to: str | None = None
    downgrade: bool = False
    take_over: bool = False
    # "PHASE=FILE" each: an operator's task file run at that phase.
    hooks: tuple[str, ...] = ()
    # provision.yml: restart PostgreSQL or Redis for a setting they read only at start.
    allow_server_restart: bool = False
    # deploy.yml: deploy while a critical alert fires; the reason is recorded.
    ignore_alerts: str | None = None

    def variables(self) -> dict[str, Any]:
        """The extra vars, after the checks the playbooks would make later (versions, hooks)."""
        for version in (self.version, self.rollback_to):
            if version is not None:
                check_release_version(version)
        return playbook_vars.extravars(
            version=self.version,
            artifact=self.artifact,
            artifact_signature=self.artifact_signature,
            batch_size=self.batch_size,
            stop_previous=self.stop_previous or None,
            lock_wait=self.lock_wait,
            watch_seconds=self.watch_seconds,
            override_promotion=self.override_promotion,
            rollback_to=self.rollback_to,
            downgrade=self.downgrade or None,
            take_over=self.take_over or None,
            hooks=dict(_hook(text) for text in self.hooks) or None,
            allow_server_restart=self.allow_server_restart or None,
            ignore_alerts=self.ignore_alerts,
        )


def _hook(text: str) -> tuple[str, str]:
    phase, separator, path = text.partition("=")
    if not separator or phase not in HOOK_PHASES or not path:
        raise InvalidInput(
            f"Hook {_shown(text)} is not PHASE=FILE with a known phase.",
            f"Phases: {', '.join(HOOK_PHASES)}; e.g. --hook before_upload=hooks/backup.yml.",
        )
    return phase, path


def write_playbook_vars(request: PlaybookVars, destination: Path) -> dict[str, Any]:
    """Write the request's variables for `ansible-playbook -e @destination`; what was written."""
    variables = request.variables()
    write_vars_file(destination, variables)
    return variables
