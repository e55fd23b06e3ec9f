"""manifest.json: what a bundle holds, where it came from, and the sha256 of every file in it."""

from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from voicenote_ops import rules
from voicenote_ops.bundle.contents import MANIFEST_NAME as MANIFEST_NAME

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _inside_bundle(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or ".." in parts or "\\" in path:
        raise ValueError("must be a relative path inside the bundle")
    return path


RelativePath = Annotated[str, AfterValidator(_inside_bundle)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Migration(Strict):
    revision: str
    down_revisions: tuple[str, ...]
    path: RelativePath
    # True when the previous release's code still works on the schema this migration leaves.
    backward_compatible: bool


class Manifest(Strict):
    manifest_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    package_version: str
    source_commit: str
    python_tag: str
    platforms: tuple[str, ...]
    wheel: RelativePath
    alembic_heads: tuple[str, ...]
    migrations: tuple[Migration, ...]
    files: dict[RelativePath, Sha256]

    @field_validator("version")
    @classmethod
    def _release_version(cls, version: str) -> str:
        if not rules.release_version().match(version):
            raise ValueError("must be X.Y.Z or X.Y.Z-rc.N")
        return version

    @property
    def top_dir(self) -> str:
        return f"{self.name}-{self.version}"


def bundle_file_name(name: str, version: str) -> str:
    return f"{name}-{version}.tar.gz"
