"""Bundles without the network: versions, migrations read statically, manifest, verification."""

import gzip
import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from voicenote_ops.bundle import Manifest, verify_bundle
from voicenote_ops.bundle.archive import sha256_file, write_tar_gz
from voicenote_ops.bundle.manifest import MANIFEST_NAME
from voicenote_ops.bundle.migrations import heads, read_migrations
from voicenote_ops.bundle.version import check_release_version, package_version
from voicenote_ops.cli.app import app as root_app
from voicenote_ops.errors import ExitCode, InvalidInput

pytestmark = pytest.mark.unit

APP_MIGRATIONS = Path(__file__).resolve().parents[2] / "examples/voicenote-api/src/voicenote_api"


@pytest.mark.parametrize(
    ("version", "pep440"),
    [("1.0.0", "1.0.0"), ("10.20.30", "10.20.30"), ("1.2.0-rc.3", "1.2.0rc3")],
)
def test_release_versions_and_their_wheel_spelling(version: str, pep440: str) -> None:
    assert check_release_version(version) == version
    assert package_version(version) == pep440


@pytest.mark.parametrize(
    "version", ["1.0", "v1.0.0", "1.0.0-rc1", "1.0.0-rc.0", "01.0.0", "1.0.0-beta.1", "", "1.0.0 "]
)
def test_malformed_versions_are_refused(version: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape("is not of the form X.Y.Z or X.Y.Z-rc.N")):
        check_release_version(version)


def _migration(directory: Path, name: str, body: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(body)


def test_the_apps_migrations_declare_their_compatibility() -> None:
    migrations = read_migrations(APP_MIGRATIONS / "migrations/versions", APP_MIGRATIONS)
    assert [(m.revision, m.down_revisions, m.backward_compatible) for m in migrations] == [
        ("0001", (), True)
    ]
    assert migrations[0].path == "migrations/versions/0001_create_notes.py"


def test_migrations_are_read_without_importing_them(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    # Importing this would raise; reading it statically must not.
    _migration(
        versions,
        "a.py",
        'raise SystemExit("imported")\nrevision = "a"\ndown_revision = None\n'
        "backward_compatible = True\n",
    )
    _migration(
        versions,
        "b.py",
        'revision: str = "b"\ndown_revision: str | None = "a"\nbackward_compatible = False\n',
    )
    _migration(
        versions, "c.py", 'revision = "c"\ndown_revision = "a"\nbackward_compatible = True\n'
    )
    _migration(
        versions, "d.py", 'revision = "d"\ndown_revision = ("b", "c")\nbackward_compatible = True\n'
    )
    migrations = read_migrations(versions, tmp_path)
    assert [m.backward_compatible for m in migrations] == [True, False, True, True]
    assert migrations[3].down_revisions == ("b", "c")
    assert heads(migrations) == ("d",)
    assert heads(migrations[:3]) == ("b", "c")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('revision = "x"\ndown_revision = None\n', "does not declare backward_compatible"),
        ('revision = "x"\nbackward_compatible = "yes"\n', "does not declare backward_compatible"),
        ('revision = "x"\nbackward_compatible = FLAG\n', "expression, not a literal"),
        ("down_revision = None\nbackward_compatible = True\n", "has no revision"),
        ("revision = (\n", "is not valid Python"),
    ],
)
def test_migrations_without_declarations_are_refused(
    tmp_path: Path, body: str, message: str
) -> None:
    _migration(tmp_path, "x.py", body)
    with pytest.raises(InvalidInput, match=message):
        read_migrations(tmp_path, tmp_path)


def _fake_bundle(tmp_path: Path, version: str = "1.0.0") -> tuple[Path, Path]:
    """A small bundle made the way build_bundle makes one, without pip."""
    content = tmp_path / "content"
    wheel = content / "wheelhouse" / f"voicenote_api-{version}-py3-none-any.whl"
    wheel.parent.mkdir(parents=True)
    wheel.write_bytes(b"not really a wheel")
    (content / "requirements.lock").write_text("fastapi==1.0 --hash=sha256:00\n")
    _migration(
        content / "migrations" / "versions",
        "0001_x.py",
        'revision = "0001"\ndown_revision = None\nbackward_compatible = True\n',
    )
    migrations = read_migrations(content / "migrations" / "versions", content)
    manifest = Manifest(
        name="voicenote-api",
        version=version,
        package_version=package_version(version),
        source_commit="unknown",
        python_tag="cp311",
        platforms=("manylinux_2_36_x86_64",),
        wheel=wheel.relative_to(content).as_posix(),
        alembic_heads=heads(migrations),
        migrations=migrations,
        files={
            path.relative_to(content).as_posix(): sha256_file(path)
            for path in content.rglob("*")
            if path.is_file()
        },
    )
    (content / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2))
    bundle = tmp_path / f"voicenote-api-{version}.tar.gz"
    write_tar_gz(content, f"voicenote-api-{version}", bundle)
    return content, bundle


def test_a_bundle_matching_its_manifest_verifies(tmp_path: Path) -> None:
    _, bundle = _fake_bundle(tmp_path, "2.0.0-rc.1")
    manifest = verify_bundle(bundle)
    assert manifest.version == "2.0.0-rc.1"
    assert manifest.alembic_heads == ("0001",)
    assert set(manifest.files) == {
        "wheelhouse/voicenote_api-2.0.0-rc.1-py3-none-any.whl",
        "requirements.lock",
        "migrations/versions/0001_x.py",
    }


def test_tar_bytes_depend_on_content_not_on_file_times(tmp_path: Path) -> None:
    content, bundle = _fake_bundle(tmp_path)
    first = bundle.read_bytes()
    for path in content.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    write_tar_gz(content, "voicenote-api-1.0.0", bundle)
    assert bundle.read_bytes() == first
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        assert names == sorted(names, key=lambda name: name.split("/"))
        assert {(m.mtime, m.uid, m.gid, m.uname) for m in tar} == {(1580601600, 0, 0, "")}


def _repack(content: Path, bundle: Path) -> None:
    write_tar_gz(content, bundle.name.removesuffix(".tar.gz"), bundle)


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    content, bundle = _fake_bundle(tmp_path)
    (content / "requirements.lock").write_text("evil==6.6.6\n")
    _repack(content, bundle)
    differs = re.escape("sha256 differs from its manifest: requirements.lock")
    with pytest.raises(InvalidInput, match=differs):
        verify_bundle(bundle)


def test_an_added_file_is_refused(tmp_path: Path) -> None:
    content, bundle = _fake_bundle(tmp_path)
    (content / "wheelhouse" / "extra-1.0-py3-none-any.whl").write_bytes(b"x")
    _repack(content, bundle)
    with pytest.raises(InvalidInput, match=re.escape("does not list: wheelhouse/extra-1.0")):
        verify_bundle(bundle)


def test_a_removed_file_is_refused(tmp_path: Path) -> None:
    content, bundle = _fake_bundle(tmp_path)
    (content / "migrations" / "versions" / "0001_x.py").unlink()
    _repack(content, bundle)
    with pytest.raises(InvalidInput, match="lacks files its manifest lists: migrations/versions"):
        verify_bundle(bundle)


def _edit_manifest(content: Path, **changes: object) -> None:
    document = json.loads((content / MANIFEST_NAME).read_text())
    document.update(changes)
    (content / MANIFEST_NAME).write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"surprise": 1}, r"invalid manifest.json \(surprise: Extra inputs"),
        ({"version": "1.0"}, r"invalid manifest.json \(version: "),
        ({"files": {"../etc/passwd": "0" * 64}}, r"invalid manifest.json \(files"),
        ({"files": {"requirements.lock": "not-a-digest"}}, r"invalid manifest.json \(files"),
        ({"version": "9.9.9", "package_version": "9.9.9"}, "holds release voicenote-api-9.9.9"),
    ],
)
def test_a_bad_manifest_is_refused(tmp_path: Path, changes: dict, message: str) -> None:
    content, bundle = _fake_bundle(tmp_path)
    _edit_manifest(content, **changes)
    _repack(content, bundle)
    with pytest.raises(InvalidInput, match=message):
        verify_bundle(bundle)


def test_a_bundle_without_manifest_is_refused(tmp_path: Path) -> None:
    content, bundle = _fake_bundle(tmp_path)
    (content / MANIFEST_NAME).unlink()
    _repack(content, bundle)
    with pytest.raises(InvalidInput, match=re.escape("has no voicenote-api-1.0.0/manifest.json")):
        verify_bundle(bundle)


def test_entries_escaping_the_bundle_are_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "voicenote-api-1.0.0.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        entry = tarfile.TarInfo("voicenote-api-1.0.0/../../escape")
        entry.size = 1
        tar.addfile(entry, io.BytesIO(b"x"))
    bundle.write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(InvalidInput, match="entry outside the bundle"):
        verify_bundle(bundle)


def test_a_file_that_is_no_bundle_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "voicenote-api-1.0.0.tar.gz"
    bundle.write_text("hello")
    with pytest.raises(InvalidInput, match=re.escape("is not a readable .tar.gz bundle")):
        verify_bundle(bundle)
    with pytest.raises(InvalidInput, match="does not exist"):
        verify_bundle(tmp_path / "missing.tar.gz")


def test_manifest_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Manifest.model_validate({"name": "voicenote-api", "unexpected": True})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["build", "--version", "1.0"], "is not of the form X.Y.Z"),
        (["build", "/nonexistent", "--version", "1.0.0"], "does not exist"),
        (["build", "{tmp}", "--version", "1.0.0"], "has no pyproject.toml"),
    ],
)
def test_build_refuses_bad_input_with_exit_code_2(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(root_app, [arg.format(tmp=tmp_path) for arg in arguments])
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.code == ExitCode.INVALID
    assert message in result.exception.render()


def test_build_without_version_is_a_usage_error() -> None:
    result = CliRunner().invoke(root_app, ["build"])
    assert result.exit_code == 2
    assert "--version" in result.output


def test_build_image_without_the_tools_is_refused_before_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda tool: None if tool == "debootstrap" else tool)
    out = tmp_path / "dist"
    result = CliRunner().invoke(
        root_app, ["build", "--version", "1.0.0", "--image", "--out", str(out)]
    )
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.code == ExitCode.INVALID
    assert "needs debootstrap" in result.exception.render()
    assert not out.exists()
