"""Every command and subcommand, found in the Typer app (a new one is covered without a change
here), driven with broken input and broken surroundings: paths that are missing, directories,
devices, a fifo, or under a regular file; huge, NUL-holding and template-looking words;
numbers beyond any range; corrupt lab state, audit trail and benchmark figures; an unusable
state folder, vault password file or project. Each must end with a code of the README's table
(or 0 where the input is fine after all), one `error:` line on stderr and no traceback.

The CLI runs in this process (main(), as the console script calls it) against a state folder
and a project of the test's own. Nothing can leave the process: starting a program, forking,
connecting a socket and ansible-runner all fail as the OS would refuse them, so a command that
gets that far must say so as cleanly as for any other environment problem.
"""

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import ansible_runner
import pytest
import typer.main
from typer.testing import CliRunner

from tests.conftest import PROJECT
from voicenote_ops.cli.app import app, main
from voicenote_ops.errors import ExitCode
from voicenote_ops.lab import prereqs

pytestmark = pytest.mark.unit

# The lab every ENV argument names; each surrounding breaks its state in another way.
LAB = "fuzz"
SECRET_VARIABLE = "VOICENOTE_FUZZ_SECRET"  # noqa: S105 - the variable's name
HUGE = "x" * 1_000_000
# A case that takes longer is reported as hung (a fifo opened for reading, /dev/zero read whole).
# A hang never ends; the bound leaves room for a 1 MB argument on a loaded 2-core machine (one
# such case outlived 5 s beside a lab run).
SECONDS_PER_CASE = 20
ALLOWED = {ExitCode.OK, ExitCode.INVALID, ExitCode.REFUSED, ExitCode.CONTAINED, ExitCode.ATTENTION}
REFUSED_BY_THE_TEST = "this test lets nothing start a program or open a connection"


def _leaf_commands() -> dict[tuple[str, ...], typer.main.TyperCommand]:
    def walk(command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], typing.Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield path, command
            return
        for name, subcommand in subcommands.items():
            yield from walk(subcommand, (*path, name))

    return dict(walk(typer.main.get_command(app), ()))


COMMANDS = _leaf_commands()


@dataclass(frozen=True)
class Paths:
    """Paths of every kind, made afresh for each case (a case may write to them)."""

    new: str
    missing: str
    directory: str
    regular: str
    fifo: str
    under_regular: str
    dangling_symlink: str

    @classmethod
    def make(cls, root: Path) -> "Paths":
        root.mkdir()
        (root / "directory").mkdir()
        (root / "regular").write_text("not what anything expects\n")
        os.mkfifo(root / "fifo")
        (root / "dangling").symlink_to(root / "nowhere")
        return cls.named(root)

    @classmethod
    def named(cls, root: Path) -> "Paths":
        return cls(
            new=str(root / "new"),
            missing=str(root / "missing" / "file"),
            directory=str(root / "directory"),
            regular=str(root / "regular"),
            fifo=str(root / "fifo"),
            under_regular=str(root / "regular" / "file"),
            dangling_symlink=str(root / "dangling"),
        )

    def broken(self) -> list[str]:
        return [self.missing, self.directory, self.fifo, self.under_regular,
                self.dangling_symlink, "/dev/null", "/dev/zero"]  # fmt: skip


def _kind(param) -> type:
    """What a parameter takes: str, Path, int, float, an Enum, or bool for flags."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return bool
    annotation = param.type_descriptor.annotation
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


WORDS = ["", HUGE, "a\x00b", "{{ lookup('pipe', 'id') }}", "${HOME}", "$(id)", "two\nlines",
         "../../../etc/passwd", "-", "é\udcff"]  # fmt: skip
NUMBERS = [str(2**70), str(-(2**70)), "-1", "0", "1e400", "nan", "inf", "abc", "", HUGE]


def broken_values(param, paths: Paths) -> list[str]:
    kind = _kind(param)
    if kind is Path:
        return [*paths.broken(), "", HUGE, "a\x00b"]
    if kind in (int, float):
        return NUMBERS
    if isinstance(kind, type) and issubclass(kind, Enum):
        return ["bogus", "", HUGE]
    return [*WORDS, *paths.broken()]


# What a required parameter (or an optional one named here) gets while another one is broken:
# values that pass its own checks, so the broken one is reached.
BASELINE_BY_NAME = {
    "environment": LAB,
    "name": LAB,
    "version": "1.0.0",
    "ref": "refs/tags/v1.0.0",
    "variable": SECRET_VARIABLE,
    "host": "lb1",
}


def baseline_value(param, paths: Paths) -> str:
    if param.name in BASELINE_BY_NAME:
        return BASELINE_BY_NAME[param.name]
    kind = _kind(param)
    if kind is Path:
        return paths.new
    if kind in (int, float):
        return "1"
    if isinstance(kind, type) and issubclass(kind, Enum):
        return next(iter(kind)).value
    return LAB


def command_line(path, command, paths: Paths, broken=None, value=None, flags=False) -> list[str]:
    """The command's words: parameters at their baseline, `broken` set to `value`,
    every flag on when `flags`. Options first, then `--` and the arguments, so a value that
    starts with a dash stays a value."""
    options, arguments = [], []
    for param in command.params:
        is_option = bool(getattr(param, "opts", None)) and param.opts[0].startswith("-")
        if param is broken:
            given = value
        elif _kind(param) is bool:
            if flags and is_option:
                options.append(param.opts[0])
            continue
        elif param.required or param.name in BASELINE_BY_NAME:
            given = baseline_value(param, paths)
        else:
            continue
        if is_option:
            options += [param.opts[0], given]
        else:
            arguments.append(given)
    return [*path, *options, "--", *arguments]


# The lab's state, valid: commands get as far as their next check (the runner cannot run).
LAB_SETTINGS = {"topology": "prod", "app_hosts": 1, "like": "lab"}
HOSTS_YML = """\
all:
  children:
    lb: {hosts: {lb1: {ansible_host: 127.0.0.1, ansible_port: 9}}}
    app: {hosts: {app1: {ansible_host: 127.0.0.1, ansible_port: 9}}}
    db: {hosts: {db1: {ansible_host: 127.0.0.1, ansible_port: 9}}}
"""
AUDIT_RECORD = {"operation": "deploy", "to": "1.0.0", "result": "ok", "finished_at": "2024-01-01"}


@dataclass
class World:
    """The test's own state folder and project, reset before each case: lab `fuzz` valid,
    with an audit copy; the project's benchmark figures empty."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def lab(self) -> Path:
        return self.state / "labs" / LAB

    def reset(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        (self.lab / "inventory").mkdir(parents=True)
        (self.lab / "lab.json").write_text(json.dumps(LAB_SETTINGS))
        (self.lab / "inventory" / "hosts.yml").write_text(HOSTS_YML)
        (self.state / "audit").mkdir()
        (self.state / "audit" / f"{LAB}.jsonl").write_text(json.dumps(AUDIT_RECORD) + "\n")
        docs = self.project / "docs"
        shutil.rmtree(docs, ignore_errors=True)
        docs.mkdir(parents=True)
        (docs / "BENCHMARKS.json").write_text("[]\n")

    def make_project(self) -> None:
        """ansible.cfg and links to the checkout's playbooks, roles, inventories and example
        app; docs/ of its own, so nothing here ever writes into the checkout."""
        self.project.mkdir(parents=True)
        shutil.copy(PROJECT / "ansible.cfg", self.project / "ansible.cfg")
        for name in ("playbooks", "roles", "inventories", "examples", "plugins"):
            (self.project / name).symlink_to(PROJECT / name)


def _replace(path: Path, content: bytes | None = None, kind: str = "file") -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(content or b"")


def _settings(world: World) -> Path:
    return world.lab / "lab.json"


def _hosts(world: World) -> Path:
    return world.lab / "inventory" / "hosts.yml"


def _audit(world: World) -> Path:
    return world.state / "audit" / f"{LAB}.jsonl"


def _figures(world: World) -> Path:
    return world.project / "docs" / "BENCHMARKS.json"


# Broken surroundings: each changes the world and may name environment variables to set.
Surrounding = Callable[[World, Paths], dict[str, str]]


def _breaks(file: Callable[[World], Path], content: bytes = b"", kind: str = "file") -> Surrounding:
    def apply(world: World, _paths: Paths) -> dict[str, str]:
        _replace(file(world), content, kind)
        return {}

    return apply


def _points(variable: str, kind: str) -> Surrounding:
    """The variable names a path of this kind (a Paths field, else the device /dev/KIND)."""
    return lambda _world, paths: {variable: getattr(paths, kind, None) or f"/dev/{kind}"}


SURROUNDINGS: dict[str, Surrounding] = {
    "valid lab": lambda _world, _paths: {},
    "lab.json not JSON": _breaks(_settings, b"{not json"),
    "lab.json not UTF-8": _breaks(_settings, b"\xff\xfe\x00\x01"),
    "lab.json a list": _breaks(_settings, b"[1, 2]"),
    "lab.json wrong values": _breaks(
        _settings, json.dumps({"topology": "mesh", "app_hosts": 2**70, "like": None}).encode()
    ),
    "lab.json huge number": _breaks(_settings, b'{"topology": "prod", "app_hosts": 1e999999}'),
    "lab.json a directory": _breaks(_settings, kind="directory"),
    "lab.json a fifo": _breaks(_settings, kind="fifo"),
    "hosts.yml not YAML": _breaks(_hosts, b"all: {children: [\n"),
    "hosts.yml not UTF-8": _breaks(_hosts, b"\xff\xfe\x00"),
    "hosts.yml a list": _breaks(_hosts, b"- 1\n"),
    "hosts.yml a directory": _breaks(_hosts, kind="directory"),
    "hosts.yml a fifo": _breaks(_hosts, kind="fifo"),
    "audit not JSON": _breaks(_audit, b'{"operation": \n[\n'),
    "audit not UTF-8": _breaks(_audit, b"\xff\xfe\n"),
    "audit a list": _breaks(_audit, b"[1]\n"),
    "audit a directory": _breaks(_audit, kind="directory"),
    "benchmark figures not JSON": _breaks(_figures, b"{"),
    "benchmark figures wrong shape": _breaks(_figures, b'[{"figures": 1}]'),
    "benchmark figures a directory": _breaks(_figures, kind="directory"),
    "state folder a regular file": lambda world, paths: {"VOICENOTE_OPS_STATE": paths.regular},
    "state folder under a regular file": lambda world, paths: {
        "VOICENOTE_OPS_STATE": paths.under_regular
    },
    **{
        f"{what} {kind}": _points(variable, kind)
        for what, variable in (
            ("vault password file", "VOICENOTE_VAULT_PASSWORD_FILE"),
            ("project", "VOICENOTE_OPS_PROJECT"),
        )
        for kind in ("missing", "directory", "fifo", "under_regular", "regular", "zero", "null")
    },
}


@pytest.fixture
def contained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Nothing leaves this process, and nothing outside tmp_path changes."""

    def refuse(*_args: object, **_kwargs: object) -> typing.NoReturn:
        raise OSError(errno.EPERM, REFUSED_BY_THE_TEST)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    for name in ("fork", "forkpty", "execv", "execve", "execvp", "execvpe", "posix_spawn",
                 "posix_spawnp", "system"):  # fmt: skip
        monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    for name in ("run", "run_async", "run_command", "run_command_async"):
        monkeypatch.setattr(ansible_runner, name, refuse)
    # `lab prereqs` raises the machine's inotify limit: here, in files of the test.
    (tmp_path / "max_user_instances").write_text("128\n")
    monkeypatch.setattr(prereqs, "INOTIFY_INSTANCES", tmp_path / "max_user_instances")
    monkeypatch.setattr(prereqs, "SYSCTL_FILE", tmp_path / "sysctl.conf")
    monkeypatch.chdir(tmp_path)
    # bench sets its own SIGTERM handler; the test process keeps its own.
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in handlers.items():
        signal.signal(number, handler)


class CaseHung(BaseException):
    """Raised in a case that outlived SECONDS_PER_CASE (a BaseException: nothing catches it)."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    def hung(_number: int, _frame: object) -> typing.NoReturn:
        raise CaseHung

    previous = signal.getsignal(signal.SIGALRM)
    signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_case(words: list[str], environment: dict[str, str]) -> Outcome:
    with CliRunner().isolation(input="", env=environment) as (stdout, stderr, _):
        try:
            with deadline(SECONDS_PER_CASE):
                main(words)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except CaseHung:
            code = -1
        return Outcome(
            code,
            stdout.getvalue().decode(errors="replace"),
            stderr.getvalue().decode(errors="replace"),
        )


def problems(outcome: Outcome) -> list[str]:
    found = []
    if outcome.code == -1:
        return [f"still running after {SECONDS_PER_CASE} s"]
    if outcome.code not in ALLOWED:
        found.append(f"exit {outcome.code}")
    if "Traceback" in outcome.stdout + outcome.stderr:
        found.append("a traceback")
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
    if outcome.code != 0 and len(errors) != 1:
        found.append(f"{len(errors)} error lines")
    if outcome.code == 0 and errors:
        found.append("an error line with exit 0")
    # errors.from_exception's last resorts: a programming error, or bad data without its file.
    for phrase in ("this is a bug", "Data the tool read is"):
        if any(phrase in line for line in errors):
            found.append(f"{phrase!r}")
    return found


def _shown(words: list[str]) -> str:
    return " ".join(repr(w) if len(w) < 80 else f"'{w[:20]}...'({len(w)} chars)" for w in words)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_broken_input_ends_in_one_error_line_and_an_exit_code_of_the_table(
    path: tuple[str, ...], tmp_path: Path, contained: None
) -> None:
    command = COMMANDS[path]
    world = World(tmp_path / "world")
    world.make_project()
    base_environment = {
        "VOICENOTE_OPS_STATE": str(world.state),
        "VOICENOTE_OPS_PROJECT": str(world.project),
        "VOICENOTE_VAULT_PASSWORD_FILE": None,
        SECRET_VARIABLE: "s3cret",
        "VOICENOTE_OPS_DEBUG": None,
    }
    cases: list[tuple[str, Callable[[Paths], list[str]], Surrounding]] = []
    for param in command.params:
        if _kind(param) is bool:
            continue
        for index in range(len(broken_values(param, Paths.named(tmp_path)))):
            cases.append((
                f"{param.name}#{index}",
                lambda paths, param=param, index=index: command_line(
                    path, command, paths, param, broken_values(param, paths)[index]
                ),
                SURROUNDINGS["valid lab"],
            ))  # fmt: skip
    for name, surrounding in SURROUNDINGS.items():
        for flags in (False, True):
            cases.append((
                f"{name}{' with every flag' if flags else ''}",
                lambda paths, flags=flags: command_line(path, command, paths, flags=flags),
                surrounding,
            ))  # fmt: skip

    failures = []
    for number, (label, words_for, surrounding) in enumerate(cases):
        world.reset()
        paths = Paths.make(tmp_path / f"case{number}")
        environment = {**base_environment, **surrounding(world, paths)}
        words = words_for(paths)
        outcome = run_case(words, environment)
        found = problems(outcome)
        if found:
            failures.append(
                f"{label}: {', '.join(found)}: voicenote-ops {_shown(words)}\n"
                f"    stderr: {outcome.stderr[-600:]!r}"
            )
        shutil.rmtree(tmp_path / f"case{number}", ignore_errors=True)
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures[:60])


def test_every_command_is_driven() -> None:
    """The walk finds the subcommands of every group (a group added later included)."""
    assert {"deploy", "rollback", "build", "bench", "load"} <= {p[0] for p in COMMANDS}
    assert {("lab", "up"), ("ci", "write-secret"), ("lock", "release")} <= set(COMMANDS)
