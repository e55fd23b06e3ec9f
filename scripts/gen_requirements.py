"""Write requirements.txt and requirements-dev.txt from pyproject.toml, or check them (--check).

pyproject.toml is the one source: requirements.txt pins each runtime dependency at the lower
bound of its range (the version the range was tested with), requirements-dev.txt adds the
`dev` extra, which pyproject already pins exactly. Run it after changing pyproject.toml; the
unit tests fail while the files disagree.
"""

import argparse
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PROJECT = Path(__file__).resolve().parent.parent
HEADER = "# Generated from pyproject.toml by scripts/gen_requirements.py; do not edit.\n"


def pinned(spec: str) -> str:
    """`name[extras]>=1.2,<2` -> `name[extras]==1.2`; an exact pin stays as it is."""
    requirement = Requirement(spec)
    bounds = [s.version for s in requirement.specifier if s.operator in ("==", ">=")]
    if len(bounds) != 1:
        raise SystemExit(f"{spec!r}: give it exactly one tested version (>=X or ==X).")
    version = bounds[0]
    if not requirement.specifier.contains(version, prereleases=True):
        raise SystemExit(f"{spec!r}: {version} is outside its own range.")
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return f"{requirement.name}{extras}=={version}{marker}"


def _name(spec: str) -> str:
    return Requirement(spec).name.lower()


def rendered(pyproject: dict) -> dict[str, str]:
    """File name -> the content it must have."""
    project = pyproject["project"]
    runtime = sorted(project["dependencies"], key=_name)
    dev = sorted(project["optional-dependencies"]["dev"], key=_name)
    return {
        "requirements.txt": HEADER + "".join(f"{pinned(spec)}\n" for spec in runtime),
        "requirements-dev.txt": HEADER
        + "-r requirements.txt\n"
        + "".join(f"{pinned(spec)}\n" for spec in dev),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only report files that differ.")
    arguments = parser.parse_args()
    wanted = rendered(tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8")))
    stale = []
    for name, content in wanted.items():
        path = PROJECT / name
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(name)
        if not arguments.check:
            path.write_text(content, encoding="utf-8")
    if arguments.check and stale:
        print(
            f"{', '.join(stale)} disagree with pyproject.toml; "
            "run: .venv/bin/python scripts/gen_requirements.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
