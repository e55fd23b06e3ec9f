"""User mistakes and broken surroundings: one clear sentence, the exit code from the table,
never a traceback (tests/unit/test_cli_fuzz.py drives every command with broken input)."""

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from voicenote_ops.cli.app import main
from voicenote_ops.errors import DEBUG_ENV, ExitCode, from_exception
from voicenote_ops.services import ci

pytestmark = pytest.mark.unit


def assert_refused(result, code: ExitCode, *phrases: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for phrase in phrases:
        assert phrase in result.stderr


def test_help_lists_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("lab", "ping"):
        assert command in result.stdout


def test_unknown_environment_names_the_known_ones(cli):
    result = cli("ping", "qa")
    assert_refused(result, ExitCode.INVALID, "Unknown environment 'qa'", "dev, staging, prod")


@pytest.mark.parametrize("name", ["1.0.0;id", "$(id)", "../../etc/passwd", "", "x" * 500])
def test_hostile_environment_names_are_refused(cli, name):
    assert_refused(cli("ping", name), ExitCode.INVALID, "is not valid")


def test_a_lab_cannot_take_a_real_environment_name(cli):
    assert_refused(cli("lab", "down", "--name", "prod"), ExitCode.INVALID, "real environment")


def test_unknown_option_is_invalid_input(cli):
    result = cli("lab", "up", "--topology", "mesh")
    assert result.returncode == ExitCode.INVALID
    assert "Traceback" not in result.stderr


def invoke(capsys, *words: str) -> tuple[int, str, str]:
    """main() in this process, as the console script runs it: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_:
        main(list(words))
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def error_line(stderr: str) -> str:
    """The one line of an error; anything else on stderr fails the test."""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_a_usage_mistake_is_one_line_with_where_to_look(capsys):
    code, _, stderr = invoke(capsys, "lab", "up", "--topology", "mesh")
    assert code == ExitCode.INVALID
    assert "'mesh' is not one of 'prod', 'single'" in error_line(stderr)
    assert "lab up --help" in stderr


def test_an_unexpected_error_is_one_line_saying_it_is_a_bug(capsys, monkeypatch):
    def broken(*_args):
        raise RuntimeError("a state no code path expects")

    monkeypatch.setattr(ci, "resolve_ref", broken)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    code, _, stderr = invoke(capsys, "ci", "resolve", "--ref", "refs/heads/main")
    assert code == ExitCode.ATTENTION
    line = error_line(stderr)
    assert "RuntimeError: a state no code path expects" in line
    assert "this is a bug in voicenote-ops" in line and f"{DEBUG_ENV}=1" in line
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(RuntimeError, match="no code path expects"):
        main(["ci", "resolve", "--ref", "refs/heads/main"])


def test_a_nul_byte_is_refused_before_parsing(capsys):
    code, _, stderr = invoke(capsys, "ping", "dev\0")
    assert code == ExitCode.INVALID
    assert "NUL byte" in error_line(stderr)


@pytest.mark.parametrize(
    ("error", "code", "phrase"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/given/file"), ExitCode.ATTENTION,
         "Free space"),
        (OSError(errno.EROFS, "Read-only file system", "/state/x"), ExitCode.ATTENTION,
         "repair the file system"),
        (PermissionError(errno.EACCES, "Permission denied", "/given/file"), ExitCode.INVALID,
         "Check the path you gave"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/given/dir/inner"), ExitCode.INVALID,
         "/given/dir/inner"),
        (PermissionError(errno.EACCES, "Permission denied", "/state/labs/x/lab.json"),
         ExitCode.ATTENTION, "state folder"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "ssh-keygen"),
         ExitCode.ATTENTION, "programs it runs are installed"),
        (json.JSONDecodeError("Expecting value", "x", 0), ExitCode.INVALID, "not valid JSON"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), ExitCode.INVALID,
         "not UTF-8"),
        (KeyError("topology"), ExitCode.ATTENTION, "this is a bug"),
    ],
)  # fmt: skip
def test_errors_no_part_of_the_tool_expected_get_the_code_of_their_cause(error, code, phrase):
    """Input: a path the operator named (or one under it), or data that is not what the tool
    reads; environment: the machine, the tool's own files or programs; anything else: a bug."""
    said = from_exception(error, ["deploy", "--artifact", "/given/file", "/given/dir"])
    assert said.code == code
    assert phrase in said.render()


def _state_with_lab(root: Path, settings: bytes) -> Path:
    lab = root / "labs" / "fuzz"
    (lab / "inventory").mkdir(parents=True)
    (lab / "lab.json").write_bytes(settings)
    (lab / "inventory" / "hosts.yml").write_text(
        "all:\n  children:\n"
        + "".join(f"    {g}: {{hosts: {{{g}1: {{ansible_host: 127.0.0.1}}}}}}\n"
                  for g in ("lb", "app", "db"))
    )  # fmt: skip
    return lab


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe", "is not UTF-8 text"),
        (b'{"topology": "mesh", "app_hosts": 2, "like": "lab"}', "topology"),
        (b'{"topology": "prod", "app_hosts": 1e999, "like": "lab"}', "app_hosts"),
        (b"[]", "not what `voicenote-ops lab up` writes"),
    ],
)
def test_a_damaged_lab_state_names_its_file_and_the_repair(
    capsys, monkeypatch, tmp_path, settings, phrase
):
    lab = _state_with_lab(tmp_path, settings)
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))
    code, _, stderr = invoke(capsys, "ping", "fuzz")
    assert code == ExitCode.INVALID
    line = error_line(stderr)
    assert str(lab / "lab.json") in line and phrase in line
    assert "voicenote-ops lab down --name fuzz" in line


def test_a_damaged_audit_copy_names_the_line(capsys, monkeypatch, tmp_path):
    _state_with_lab(tmp_path, b'{"topology": "prod", "app_hosts": 1, "like": "lab"}')
    audit = tmp_path / "audit" / "fuzz.jsonl"
    audit.parent.mkdir()
    audit.write_text('{"operation": "deploy"}\n[1, 2]\n')
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))
    monkeypatch.delenv("VOICENOTE_VAULT_PASSWORD_FILE", raising=False)
    code, _, stderr = invoke(capsys, "history", "fuzz", "--local")
    assert code == ExitCode.INVALID
    assert f"Line 2 of the audit copy {audit} is not a JSON record" in error_line(stderr)


@pytest.mark.parametrize(
    ("figures", "phrase"),
    [(b"[{", "is not valid JSON"), (b'[{"runs": "3", "figures": {}}]', "0.machine")],
)
def test_damaged_benchmark_figures_are_refused_before_anything_is_measured(
    capsys, tmp_path, figures, phrase
):
    (tmp_path / "B.json").write_bytes(figures)
    for words in (["--render"], ["--only", "noop", "--lab-prefix", "nolab"]):
        code, _, stderr = invoke(capsys, "bench", *words, "--output", str(tmp_path / "B.md"))
        assert code == ExitCode.INVALID
        line = error_line(stderr)
        assert str(tmp_path / "B.json") in line and phrase in line
    assert not (tmp_path / "B.md").exists()


@pytest.mark.parametrize("kind", ["directory", "dev/null", "fifo", "regular file"])
def test_build_names_what_is_wrong_with_the_app_directory(capsys, tmp_path, kind):
    app_dir = {"directory": tmp_path, "dev/null": Path("/dev/null")}.get(kind, tmp_path / "x")
    if kind == "fifo":
        os.mkfifo(app_dir)
    elif kind == "regular file":
        app_dir.write_text("")
    code, _, stderr = invoke(capsys, "build", str(app_dir), "--version", "1.0.0")
    assert code == ExitCode.INVALID
    expected = "has no pyproject.toml" if kind == "directory" else "is not a directory"
    assert expected in error_line(stderr)


def _node(tmp_path: Path, kind: str) -> tuple[Path, Callable[[], object]]:
    """A path of `kind` and what identifies it, to check it was left as it was."""
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    elif kind == "directory":
        path.mkdir()
    elif kind == "symlink":
        (tmp_path / "target").write_text("the target's own content\n")
        path.symlink_to(tmp_path / "target")
    status = path.lstat()
    return path, lambda: (
        status.st_ino,
        status.st_mode,
        path.lstat().st_ino,
        path.lstat().st_mode,
        (tmp_path / "target").read_text() if kind == "symlink" else None,
    )


WRITTEN_NODES = ["fifo", "device", "directory", "symlink"]


@pytest.mark.parametrize("kind", WRITTEN_NODES)
def test_write_secret_refuses_anything_but_a_regular_file_and_leaves_it(
    capsys, monkeypatch, tmp_path, kind
):
    path, identity = _node(tmp_path, kind)
    before = identity()
    monkeypatch.setenv("VOICENOTE_TEST_SECRET", "s3cret")
    code, stdout, stderr = invoke(capsys, "ci", "write-secret", "VOICENOTE_TEST_SECRET", str(path))
    assert code == ExitCode.INVALID
    error_line(stderr)
    assert "s3cret" not in stdout + stderr
    assert identity() == before
    # No partial file left beside it either.
    assert {p.name for p in tmp_path.iterdir()} == {kind} | (
        {"target"} if kind == "symlink" else set()
    )


@pytest.mark.parametrize("kind", WRITTEN_NODES)
def test_github_output_refuses_anything_but_a_regular_file_and_leaves_it(capsys, tmp_path, kind):
    path, identity = _node(tmp_path, kind)
    before = identity()
    code, _, stderr = invoke(
        capsys, "ci", "resolve", "--ref", "refs/tags/v1.0.0", "--github-output", str(path)
    )
    assert code == ExitCode.INVALID
    assert str(path) in error_line(stderr)
    assert identity() == before


def test_github_output_is_appended_to_a_regular_file(capsys, tmp_path):
    outputs = tmp_path / "outputs"
    outputs.write_text("earlier=1\n")
    code, _, _ = invoke(
        capsys, "ci", "resolve", "--ref", "refs/tags/v1.0.0", "--github-output", str(outputs)
    )
    assert code == ExitCode.OK
    assert outputs.read_text() == "earlier=1\nenvironment=prod\nversion=1.0.0\nruntime=bundle\n"


def test_a_secret_is_never_in_a_file_others_can_read(capsys, monkeypatch, tmp_path):
    """Even with umask 0 the file is created 0600 before the secret is written to it, and only
    then moved over the destination (which was world-readable)."""
    destination = tmp_path / "vault-password"
    destination.write_text("old\n")
    destination.chmod(0o644)
    created, at_rename = [], []
    real_open, real_replace = os.open, os.replace

    def recording_open(path, flags, mode=0o777, **kwargs):
        descriptor = real_open(path, flags, mode, **kwargs)
        if flags & os.O_CREAT:
            created.append((Path(path).name, stat.S_IMODE(os.fstat(descriptor).st_mode), flags))
        return descriptor

    def recording_replace(source, target, **kwargs):
        at_rename.append((stat.S_IMODE(os.stat(source).st_mode), Path(source).read_text()))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    monkeypatch.setattr(os, "replace", recording_replace)
    monkeypatch.setenv("VOICENOTE_TEST_SECRET", "s3cret")
    previous = os.umask(0)
    try:
        code, _, _ = invoke(capsys, "ci", "write-secret", "VOICENOTE_TEST_SECRET", str(destination))
    finally:
        os.umask(previous)
    assert code == ExitCode.OK
    ((name, mode, flags),) = created
    assert name != destination.name and mode == 0o600 and flags & os.O_EXCL
    assert at_rename == [(0o600, "s3cret\n")]
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
