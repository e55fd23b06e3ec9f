"""Build the bundle of one named release of the VoiceNote API, real or deliberately broken.

The source tree is release 1.0.0; every other release is that tree with the patches under
patches/ applied, in order, to a temporary copy. Run with the voicenote-ops environment:

    .venv/bin/python examples/voicenote-api/releases/build_release.py 1.1.0 --out dist

It prints the bundle's path. The bundle is signed (BUNDLE.tar.gz.sig beside it) with the lab's
test-only key, the one labs trust, unless --signing-key names another.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voicenote_ops.bundle import build_bundle
from voicenote_ops.bundle.build import source_commit
from voicenote_ops.bundle.signature import LAB_SIGNING_KEY, signing_key
from voicenote_ops.errors import OpsError

RELEASES_DIR = Path(__file__).resolve().parent
APP_DIR = RELEASES_DIR.parent
PROJECT_DIR = APP_DIR.parent.parent
PATCHES_DIR = RELEASES_DIR / "patches"
NOTE_LANGUAGE = "1.1.0-note-language.patch"


@dataclass(frozen=True)
class Release:
    version: str
    patches: tuple[str, ...]
    promise: str


RELEASES = {
    "1.0.0": Release("1.0.0", (), "Notes, health and readiness; schema 0001."),
    "1.1.0": Release(
        "1.1.0",
        (NOTE_LANGUAGE,),
        "Adds an optional note language (expand-only migration 0002) and ?language= filtering.",
    ),
    "1.1.1": Release(
        "1.1.1",
        (NOTE_LANGUAGE,),
        "1.1.0's code as a release of its own: a move to another runtime with nothing else new.",
    ),
    "2.0.0": Release(
        "2.0.0",
        (NOTE_LANGUAGE, "2.0.0-rename-note-title.patch"),
        "Renames the notes' title column (contract migration 0003, not backward compatible):"
        " 1.1.0's code cannot run on its schema.",
    ),
    # Each broken release has a version of its own: an installed release is never replaced.
    "broken-start": Release(
        "1.2.1",
        (NOTE_LANGUAGE, "broken-start.patch"),
        "The process exits at startup: it imports a module the release does not ship.",
    ),
    "broken-ready": Release(
        "1.2.2",
        (NOTE_LANGUAGE, "broken-ready.patch"),
        "/health answers but /ready is always 503: it checks a table no migration creates.",
    ),
    "broken-traffic": Release(
        "1.2.4",
        (NOTE_LANGUAGE, "broken-traffic.patch"),
        "/health and /ready pass, but every read of a note is a 500: it updates a table no"
        " migration creates. Only real traffic after the switch shows it.",
    ),
    "broken-version": Release(
        "1.2.5",
        (NOTE_LANGUAGE, "broken-version.patch"),
        "/ready passes, but /health reports 1.1.0 (a hard-coded version): the wrong code shipped.",
    ),
    # Faults the alerts must see (docs/monitoring.md): each passes its health gate and the watch
    # of a short window, and only then shows what it does.
    "slow": Release(
        "1.2.6",
        (NOTE_LANGUAGE, "slow.patch"),
        "Every read of a note takes a second more; /health and /ready stay fast.",
    ),
    "memory-eater": Release(
        "1.2.7",
        (NOTE_LANGUAGE, "memory-eater.patch"),
        "Leaks 64 MB a second from its start until the kernel kills it for memory.",
    ),
    "cpu-burner": Release(
        "1.2.8",
        (NOTE_LANGUAGE, "cpu-burner.patch"),
        "Starts one busy process per CPU beside itself, in its unit, until it stops.",
    ),
    "broken-migration": Release(
        "1.2.3",
        (NOTE_LANGUAGE, "broken-migration.patch"),
        "Migration 0003 raises after adding a column; the upgrade is rolled back.",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("release", choices=sorted(RELEASES), help="Which release to build.")
    parser.add_argument("--version", help="Override the release's version (X.Y.Z[-rc.N]).")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="Output directory.")
    parser.add_argument(
        "--signing-key",
        type=Path,
        default=PROJECT_DIR / LAB_SIGNING_KEY,
        help="OpenSSH private key to sign with (default: the lab's test-only key).",
    )
    return parser


def build_release(
    name: str, out_dir: Path, version: str | None = None, key: Path = PROJECT_DIR / LAB_SIGNING_KEY
) -> Path:
    release = RELEASES[name]
    signer = signing_key(key)
    with tempfile.TemporaryDirectory(prefix=f"voicenote-release-{name}-") as scratch:
        tree = Path(scratch) / "voicenote-api"
        shutil.copytree(APP_DIR, tree, ignore=shutil.ignore_patterns("releases", "tests"))
        for patch in release.patches:
            subprocess.run(["git", "apply", str(PATCHES_DIR / patch)], cwd=tree, check=True)
        return build_bundle(
            tree,
            version or release.version,
            out_dir,
            # The copy is outside git: record the commit of the tree it was patched from.
            commit=source_commit(APP_DIR),
            signing_key=signer,
            progress=lambda message: print(message, file=sys.stderr),
        )


def main() -> None:
    arguments = _parser().parse_args()
    try:
        print(
            build_release(
                arguments.release, arguments.out.resolve(), arguments.version, arguments.signing_key
            )
        )
    except OpsError as error:
        print(f"error: {error.render()}", file=sys.stderr)
        sys.exit(int(error.code))


if __name__ == "__main__":
    main()
