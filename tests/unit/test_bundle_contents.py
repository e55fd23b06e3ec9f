"""Crafted bundles, each run through the CLI's check (voicenote_ops.bundle.verify) and the
playbooks' module (roles/release/library/voicenote_bundle_verify.py, as Ansible loads it with
the role's module_utils): both refuse every one with the same sentence, both take a sound one."""

import importlib.util
import io
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PROJECT, role_plugin
from tests.unit.test_bundle import _fake_bundle
from voicenote_ops.bundle import verify_bundle
from voicenote_ops.errors import InvalidInput

pytestmark = [pytest.mark.unit, pytest.mark.security]

ROLE = PROJECT / "roles" / "release"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# What Ansible ships with the module: the role's module_utils files under ansible.module_utils.
module_utils = _load(
    "ansible.module_utils.voicenote_bundle_contents",
    ROLE / "module_utils" / "voicenote_bundle_contents.py",
)
_load(
    "ansible.module_utils.voicenote_bundle_signers",
    ROLE / "module_utils" / "voicenote_bundle_signers.py",
)
module = _load("voicenote_bundle_verify", ROLE / "library" / "voicenote_bundle_verify.py")

Member = tuple[tarfile.TarInfo, bytes | None]
TOP = "voicenote-api-1.0.0"


def repack(source: Path, target: Path, edit: Callable[[list[Member]], list[Member]]) -> Path:
    """A copy of the bundle at source whose entries edit(entries) changes, written to target."""
    with tarfile.open(source) as original:
        members = [(m, original.extractfile(m).read() if m.isfile() else None) for m in original]
    with tarfile.open(target, "w:gz") as copy:
        for member, data in edit(members):
            if data is not None:
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def entry(name: str, kind: bytes = tarfile.REGTYPE, **fields) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    for field, value in fields.items():
        setattr(info, field, value)
    return info, b"x" if kind == tarfile.REGTYPE else None


def added(*entries: Member):
    return lambda members: [*members, *entries]


def renamed(rename: Callable[[str], str]):
    def edit(members):
        for member, _ in members:
            member.name = rename(member.name)
        return members

    return edit


def with_mode(mode: int):
    def edit(members):
        for member, _ in members:
            if member.name.endswith("requirements.lock"):
                member.mode = mode
        return members

    return edit


def lock_twice(members):
    (lock,) = [(m, d) for m, d in members if m.name.endswith("requirements.lock")]
    return [*members, (tarfile.TarInfo(lock[0].name), b"evil==6.6.6\n")]


# case: (file name of the crafted bundle, how it is made, what the refusal says)
CRAFTED = {
    "symlink to /etc/passwd": (
        f"{TOP}.tar.gz",
        added(entry(f"{TOP}/passwd", tarfile.SYMTYPE, linkname="/etc/passwd")),
        "has a link or special file",
    ),
    "hardlink to /etc/passwd": (
        f"{TOP}.tar.gz",
        added(entry(f"{TOP}/passwd", tarfile.LNKTYPE, linkname="/etc/passwd")),
        "has a link or special file",
    ),
    "char device": (
        f"{TOP}.tar.gz",
        added(entry(f"{TOP}/null", tarfile.CHRTYPE, devmajor=1, devminor=3)),
        "has a link or special file",
    ),
    "fifo": (f"{TOP}.tar.gz", added(entry(f"{TOP}/pipe", tarfile.FIFOTYPE)), "link or special"),
    "../x": (f"{TOP}.tar.gz", added(entry("../x")), "has an entry outside the bundle"),
    "/abs": (f"{TOP}.tar.gz", added(entry("/abs")), "has an entry outside the bundle"),
    "file outside the top folder": (
        f"{TOP}.tar.gz",
        added(entry("stray.sh")),
        f"has an entry that is not under {TOP}/: 'stray.sh'",
    ),
    "wrong top folder": (
        f"{TOP}.tar.gz",
        renamed(lambda name: name.replace(TOP, "evil-1.0.0", 1)),
        f"is not under {TOP}/",
    ),
    "top folder mismatching the file name": (
        "voicenote-api-1.0.1.tar.gz",
        lambda members: members,
        "is not under voicenote-api-1.0.1/",
    ),
    "manifest of another release than the file name": (
        "voicenote-api-1.0.1.tar.gz",
        renamed(lambda name: name.replace(TOP, "voicenote-api-1.0.1", 1)),
        "holds release voicenote-api-1.0.0, which its file name does not match",
    ),
    "./ in a name": (f"{TOP}.tar.gz", renamed(lambda name: f"./{name}"), "is not under"),
    "setuid file": (f"{TOP}.tar.gz", with_mode(0o4755), "has an entry with mode 4755"),
    "world-writable file": (f"{TOP}.tar.gz", with_mode(0o666), "has an entry with mode 666"),
    "entry twice": (f"{TOP}.tar.gz", lock_twice, "has an entry twice"),
}


@pytest.fixture
def sound(tmp_path: Path) -> Path:
    return _fake_bundle(tmp_path)[1]


def crafted_bundle(sound: Path, folder: Path, case: str) -> Path:
    file_name, edit, _ = CRAFTED[case]
    folder.mkdir(exist_ok=True)
    return repack(sound, folder / file_name, edit)


def version_of(bundle: Path) -> str:
    return bundle.name.removeprefix("voicenote-api-").removesuffix(".tar.gz")


def test_a_sound_bundle_passes_the_cli_and_the_module(sound: Path) -> None:
    assert verify_bundle(sound).version == "1.0.0"
    summary = module.verify(str(sound), "1.0.0", None, set())
    assert summary["version"] == "1.0.0" and "files" not in summary


@pytest.mark.parametrize("case", CRAFTED)
def test_the_cli_and_the_module_refuse_the_same_crafted_bundle(sound, tmp_path, case) -> None:
    bundle = crafted_bundle(sound, tmp_path / "crafted", case)
    with pytest.raises(InvalidInput) as cli:
        verify_bundle(bundle)
    with pytest.raises(module_utils.BundleRefused) as playbooks:
        module.verify(str(bundle), version_of(bundle), None, set())
    assert CRAFTED[case][2] in cli.value.message
    assert str(playbooks.value) == cli.value.message


def test_the_module_names_a_version_other_than_the_bundles(sound: Path) -> None:
    with pytest.raises(module_utils.BundleRefused, match=r"is release 1\.0\.0, not 1\.0\.1"):
        module.verify(str(sound), "1.0.1", None, set())


def test_an_unpacked_release_with_a_changed_file_is_refused_on_the_host(sound, tmp_path) -> None:
    with tarfile.open(sound) as archive:
        archive.extractall(tmp_path, filter="data")
    release = tmp_path / TOP
    (release / "venv").mkdir()  # made on the host after unpacking: not the bundle's
    assert module.verify(str(release), "1.0.0", None, {"venv"})["version"] == "1.0.0"
    (release / "requirements.lock").write_text("evil==6.6.6\n")
    with pytest.raises(module_utils.BundleRefused, match=r"sha256 differs .*: requirements\.lock"):
        module.verify(str(release), "1.0.0", None, {"venv"})


def test_the_controllers_answer_is_the_modules(sound: Path, tmp_path: Path) -> None:
    """On the controller the action plugin answers in its own process from the module's code:
    the sound bundle's manifest and sha256, and the crafted one's refusal in the CLI's words."""
    action = role_plugin("release", "action_plugins", "voicenote_bundle_verify")
    params = {"path": str(sound), "version": "1.0.0", "python": None, "ignore": [],
              "signature": None, "allowed_signers": "", "signature_required": True}  # fmt: skip
    answer = action.VERIFY.answer(params, str(tmp_path))
    assert answer["manifest"]["version"] == "1.0.0" and "failed" not in answer
    assert answer["sha256"] == module._sha256(str(sound))
    crafted = crafted_bundle(sound, tmp_path / "crafted", "symlink to /etc/passwd")
    refused = action.VERIFY.answer({**params, "path": str(crafted)}, str(tmp_path))
    with pytest.raises(InvalidInput) as cli:
        verify_bundle(crafted)
    assert refused == {"failed": True, "msg": cli.value.message}
