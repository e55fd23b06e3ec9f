"""Build a release bundle: the app's wheel, its locked wheelhouse, its migrations, a manifest."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from voicenote_ops.bundle import target
from voicenote_ops.bundle.archive import SOURCE_DATE_EPOCH, sha256_file, write_tar_gz
from voicenote_ops.bundle.manifest import MANIFEST_NAME, Manifest, bundle_file_name
from voicenote_ops.bundle.migrations import heads, read_migrations
from voicenote_ops.bundle.signature import SigningKey, sign_bundle, signature_path
from voicenote_ops.bundle.version import check_release_version, package_version
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.files import read_text

LOCK_FILE = "requirements.lock"
WHEELHOUSE = "wheelhouse"
MIGRATIONS = "migrations"
# Copied into the build tree but never shipped or used for building the wheel.
_NOT_SOURCE = ("tests", "releases", "build", "dist", ".venv", "__pycache__", "*.egg-info")
_STATIC_VERSION = re.compile(r'^version\s*=\s*"[^"]*"\s*$', re.MULTILINE)


def _read_project(app_dir: Path) -> dict:
    fix = "Point at the app's source tree (default: examples/voicenote-api)."
    if not app_dir.is_dir():
        exists = app_dir.exists() or app_dir.is_symlink()
        raise InvalidInput(
            f"App directory {app_dir} {'is not a directory' if exists else 'does not exist'}.", fix
        )
    pyproject = app_dir / "pyproject.toml"
    if not pyproject.is_file():
        raise InvalidInput(f"{app_dir} has no pyproject.toml.", fix)
    if not (app_dir / LOCK_FILE).is_file():
        raise InvalidInput(
            f"{app_dir} has no {LOCK_FILE}.", "Generate it as docs/app-and-bundles.md describes."
        )
    try:
        project = tomllib.loads(read_text(pyproject, "the app's project file", fix)).get(
            "project", {}
        )
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{pyproject} is not valid TOML ({error}).") from None
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise InvalidInput(f"{pyproject} has no [project] name.")
    return project


def _migrations_dir(source: Path) -> Path:
    found = sorted(source.glob(f"src/*/{MIGRATIONS}/versions"))
    if len(found) != 1:
        raise InvalidInput(f"{source} needs exactly one src/<package>/{MIGRATIONS}/versions/.")
    return found[0].parent


def _copy_source(app_dir: Path, destination: Path) -> None:
    """Copy with fixed permissions: the wheel records them, and checkouts' umasks differ."""
    shutil.copytree(app_dir, destination, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    for path in destination.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _stamp_version(pyproject: Path, version: str) -> None:
    text = pyproject.read_text(encoding="utf-8")
    stamped, count = _STATIC_VERSION.subn(f'version = "{version}"', text)
    if count != 1:
        raise InvalidInput(f'{pyproject.name} needs exactly one static version = "..." line.')
    pyproject.write_text(stamped, encoding="utf-8")


def source_commit(app_dir: Path) -> str:
    """The checkout's commit, with +dirty when the app has uncommitted changes, else unknown."""
    git = ["git", "-C", str(app_dir)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.returncode != 0:
        return "unknown"
    status = subprocess.run(
        [*git, "status", "--porcelain", "--", "."], capture_output=True, text=True, check=False
    )
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def _pip(arguments: list[str], what: str) -> None:
    environment = {**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        detail = errors[-1] if errors else f"pip exited with {result.returncode}"
        raise NeedsAttention(f"Could not {what}: {detail}")


def _build_wheel(source: Path, wheelhouse: Path) -> Path:
    _pip(["wheel", "--no-deps", "--wheel-dir", str(wheelhouse), str(source)], "build the wheel")
    return next(wheelhouse.glob("*.whl"))


def _download_wheelhouse(lock: Path, wheelhouse: Path) -> None:
    _pip(
        [
            "download",
            "--no-deps",
            "--require-hashes",
            *target.pip_download_target_args(),
            "--requirement",
            str(lock),
            "--dest",
            str(wheelhouse),
        ],
        f"download the locked wheels of {lock.name}",
    )


def _write_manifest(bundle: Path, manifest: Manifest) -> None:
    (bundle / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2) + "\n", "utf-8")


def build_bundle(
    app_dir: Path,
    version: str,
    out_dir: Path,
    *,
    commit: str | None = None,
    signing_key: SigningKey | None = None,
    progress: Callable[[str], None] = lambda _message: None,
) -> Path:
    """Build out_dir/NAME-VERSION.tar.gz from the app at app_dir; same inputs, same bytes.

    commit overrides the source commit recorded in the manifest (for trees copied out of git).
    With signing_key, its signature is written beside it (NAME-VERSION.tar.gz.sig); without,
    the bundle is unsigned and a signature left by an earlier build is removed.
    """
    check_release_version(version)
    name = _read_project(app_dir)["name"]
    with tempfile.TemporaryDirectory(prefix="voicenote-bundle-") as scratch:
        source = Path(scratch) / "source"
        bundle = Path(scratch) / "bundle"
        wheelhouse = bundle / WHEELHOUSE
        _copy_source(app_dir, source)
        _stamp_version(source / "pyproject.toml", version)
        progress(f"building the {name} {version} wheel")
        wheel = _build_wheel(source, wheelhouse)
        progress(f"downloading the wheels {LOCK_FILE} pins")
        _download_wheelhouse(source / LOCK_FILE, wheelhouse)
        shutil.copytree(_migrations_dir(source), bundle / MIGRATIONS)
        shutil.copy(source / LOCK_FILE, bundle / LOCK_FILE)
        migrations = read_migrations(bundle / MIGRATIONS / "versions", relative_to=bundle)
        files = {
            path.relative_to(bundle).as_posix(): sha256_file(path)
            for path in sorted(bundle.rglob("*"))
            if path.is_file()
        }
        manifest = Manifest(
            name=name,
            version=version,
            package_version=package_version(version),
            source_commit=commit or source_commit(app_dir),
            python_tag=target.PYTHON_TAG,
            platforms=tuple(target.platform_tags()),
            wheel=wheel.relative_to(bundle).as_posix(),
            alembic_heads=heads(migrations),
            migrations=migrations,
            files=files,
        )
        _write_manifest(bundle, manifest)
        out_dir.mkdir(parents=True, exist_ok=True)
        destination = out_dir / bundle_file_name(name, version)
        partial = destination.with_suffix(".partial")
        write_tar_gz(bundle, manifest.top_dir, partial)
        signature_path(destination).unlink(missing_ok=True)
        partial.replace(destination)
    progress(f"wrote {destination}")
    if signing_key is not None:
        signature = sign_bundle(destination, signing_key)
        progress(f"signed it with {signing_key.fingerprint}: wrote {signature}")
    return destination
