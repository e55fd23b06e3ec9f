"""The app image's parts without podman: deterministic layers, the OCI archive, the config's
labels and user, the base layer's cache, and the refusals before anything is built."""

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from voicenote_ops.bundle.manifest import Manifest
from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import InvalidInput
from voicenote_ops.image import base, build, oci
from voicenote_ops.image.archive import ArchiveFacts, read_archive
from voicenote_ops.image.layer import Layer, write_layer
from voicenote_ops.lab.image import ImageRecipe
from voicenote_ops.services import push as push_service

pytestmark = pytest.mark.unit


def _tree(root: Path, when: int) -> Path:
    (root / "opt" / "app" / "bin").mkdir(parents=True)
    (root / "opt" / "app" / "bin" / "run").write_text("#!/bin/sh\n")
    (root / "opt" / "app" / "bin" / "run").chmod(0o755)
    (root / "opt" / "app" / "data.txt").write_text("data\n")
    os.link(root / "opt" / "app" / "data.txt", root / "opt" / "app" / "same.txt")
    (root / "opt" / "app" / "python").symlink_to("/usr/bin/python3")
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "tmp").mkdir()
    (root / "tmp" / "leftover").write_text("build noise\n")
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            os.utime(path, (when, when))
    return root


def _names(layer: Layer) -> list[str]:
    with tarfile.open(layer.path) as tar:
        return tar.getnames()


def test_a_tree_packs_to_the_same_layer_whatever_its_times(tmp_path: Path) -> None:
    first = write_layer(_tree(tmp_path / "a", 1_000_000_000), tmp_path / "a.tar.gz")
    second = write_layer(_tree(tmp_path / "b", 2_000_000_000), tmp_path / "b.tar.gz")

    assert first.digest == second.digest and first.diff_id == second.diff_id
    blob = first.path.read_bytes()
    assert first.digest == f"sha256:{hashlib.sha256(blob).hexdigest()}"
    assert first.diff_id == f"sha256:{hashlib.sha256(gzip.decompress(blob)).hexdigest()}"
    assert first.size == len(blob)


def test_a_layer_keeps_links_and_modes_and_leaves_runtime_mounts_empty(tmp_path: Path) -> None:
    layer = write_layer(_tree(tmp_path / "root", 1_000_000_000), tmp_path / "layer.tar.gz")

    with tarfile.open(layer.path) as tar:
        members = {member.name: member for member in tar.getmembers()}
    assert "tmp" in members and "tmp/leftover" not in members
    assert members["opt/app/python"].issym()
    assert members["opt/app/python"].linkname == "/usr/bin/python3"
    assert members["opt/app/same.txt"].islnk()
    assert members["opt/app/bin/run"].mode & 0o777 == 0o755
    assert {member.uname for member in members.values()} == {""}


def test_a_layer_of_one_folder_carries_its_parents_and_nothing_else(tmp_path: Path) -> None:
    root = _tree(tmp_path / "root", 1_000_000_000)
    layer = write_layer(root, tmp_path / "layer.tar.gz", only=("opt/app",))

    names = _names(layer)
    assert names[:2] == ["opt", "opt/app"]
    assert all(name == "opt" or name.startswith("opt/app") for name in names)
    assert "etc/passwd" not in names


def _layer(tmp_path: Path, name: str, content: str) -> Layer:
    root = tmp_path / f"root-{name}"
    (root / name).mkdir(parents=True)
    (root / name / "file").write_text(content)
    return write_layer(root, tmp_path / f"{name}.tar.gz")


def _read_archive(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar if member.isfile()}


def test_the_archive_is_an_oci_layout_whose_digest_names_its_manifest(tmp_path: Path) -> None:
    layers = [_layer(tmp_path, "base", "base\n"), _layer(tmp_path, "app", "app\n")]
    config = oci.image_config(layers, {"User": "10001:10001"}, ["base", "app"])
    archive = oci.write_archive(layers, config, "localhost/app:1.0.0", tmp_path / "app.oci.tar")

    files = _read_archive(archive.path)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    (entry,) = index["manifests"]
    assert entry["digest"] == archive.digest
    assert entry["annotations"] == {oci.REF_NAME: "localhost/app:1.0.0"}
    manifest_bytes = files[f"blobs/sha256/{archive.digest[7:]}"]
    assert archive.digest == f"sha256:{hashlib.sha256(manifest_bytes).hexdigest()}"
    manifest = json.loads(manifest_bytes)
    assert manifest["config"]["digest"] == archive.config_digest
    config_bytes = files[f"blobs/sha256/{archive.config_digest[7:]}"]
    assert json.loads(config_bytes)["rootfs"]["diff_ids"] == [layer.diff_id for layer in layers]
    for descriptor, layer in zip(manifest["layers"], layers, strict=True):
        assert descriptor == {
            "mediaType": oci.MEDIA_LAYER,
            "digest": layer.digest,
            "size": layer.size,
        }
        assert files[f"blobs/sha256/{layer.digest[7:]}"] == layer.path.read_bytes()


def test_the_same_layers_and_config_give_the_same_archive(tmp_path: Path) -> None:
    layers = [_layer(tmp_path, "base", "base\n")]
    config = oci.image_config(layers, {"Labels": {"b": "2", "a": "1"}}, ["base"])
    first = oci.write_archive(layers, config, "localhost/app:1", tmp_path / "first.oci.tar")
    second = oci.write_archive(layers, config, "localhost/app:1", tmp_path / "second.oci.tar")

    assert first.digest == second.digest
    assert first.path.read_bytes() == second.path.read_bytes()
    other = oci.image_config(layers, {"Labels": {"a": "1", "b": "3"}}, ["base"])
    changed = oci.write_archive(layers, other, "localhost/app:1", tmp_path / "other.oci.tar")
    assert changed.digest != first.digest


MANIFEST = Manifest.model_validate(
    {
        "name": "voicenote-api",
        "version": "1.1.0",
        "package_version": "1.1.0",
        "source_commit": "abc123",
        "python_tag": "cp311",
        "platforms": ["manylinux_2_36_x86_64"],
        "wheel": "wheelhouse/voicenote_api-1.1.0-py3-none-any.whl",
        "alembic_heads": ["0002"],
        "migrations": [],
        "files": {
            "requirements.lock": "f" * 64,
            "wheelhouse/voicenote_api-1.1.0-py3-none-any.whl": "e" * 64,
        },
    }
)


def test_the_config_runs_the_release_as_a_user_and_labels_its_inputs(tmp_path: Path) -> None:
    base_layer = Layer(tmp_path / "base.tar.gz", "sha256:" + "1" * 64, "sha256:" + "2" * 64, 9)
    labels = build.labels(MANIFEST, "d" * 64, base_layer, "recipe12")
    settings = build.settings(MANIFEST, labels)

    assert settings["User"] == "10001:10001"
    assert settings["Cmd"] == ["voicenote-api"]
    assert settings["WorkingDir"] == "/opt/voicenote-api"
    assert settings["Env"][0].startswith("PATH=/opt/voicenote-api/venv/bin:")
    assert labels == {
        "org.opencontainers.image.title": "voicenote-api",
        "org.opencontainers.image.version": "1.1.0",
        "org.opencontainers.image.revision": "abc123",
        "io.voicenote-ops.lock-sha256": "f" * 64,
        "io.voicenote-ops.bundle-sha256": "d" * 64,
        "io.voicenote-ops.alembic-heads": "0002",
        "io.voicenote-ops.base-layer": base_layer.digest,
        "io.voicenote-ops.base-recipe": "recipe12",
    }
    assert build.image_reference(MANIFEST) == "localhost/voicenote-api:1.1.0"
    assert build.archive_name(MANIFEST) == "voicenote-api-1.1.0.oci.tar"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[ImageRecipe]:
    """The base cache in a folder of the test's own; base builds recorded, not run."""
    monkeypatch.setenv("VOICENOTE_OPS_CACHE", str(tmp_path / "cache"))
    built: list[ImageRecipe] = []

    def fake_build(recipe: ImageRecipe, destination: Path, log: Path) -> Layer:
        built.append(recipe)
        destination.write_bytes(recipe.digest.encode())
        return Layer(destination, "sha256:" + "a" * 64, "sha256:" + "b" * 64, 12)

    monkeypatch.setattr(base, "build_base", fake_build)
    return built


def test_the_base_layer_is_built_once_per_recipe(cache: list[ImageRecipe]) -> None:
    recipe = ImageRecipe(packages=base.PACKAGES, setup_package="voicenote_ops.image",
                         setup_name="base-setup.sh")  # fmt: skip
    first = base.ensure_base(recipe)
    again = base.ensure_base(recipe)
    other = base.ensure_base(ImageRecipe(packages=(*base.PACKAGES, "curl"),
                                         setup_package="voicenote_ops.image",
                                         setup_name="base-setup.sh"))  # fmt: skip

    assert first == again and other.path != first.path
    assert [recipe.packages[-1] for recipe in cache] == ["ca-certificates", "curl"]


def test_a_cached_base_whose_blob_is_gone_is_built_again(cache: list[ImageRecipe]) -> None:
    recipe = base.recipe()
    base.ensure_base(recipe).path.unlink()
    base.ensure_base(recipe)

    assert len(cache) == 2


def test_an_image_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(InvalidInput, match="not root"):
        build.require_tools()


def test_an_image_needs_podman_and_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(build.shutil, "which", lambda tool: None if tool != "chroot" else tool)
    with pytest.raises(InvalidInput, match="needs podman, debootstrap,") as refused:
        build.require_tools()
    assert "voicenote-ops lab prereqs" in refused.value.fix


def _archive(tmp_path: Path, labels: dict[str, str]) -> Path:
    layers = [_layer(tmp_path, "base", "base\n")]
    config = oci.image_config(layers, {"Labels": labels}, ["base"])
    return oci.write_archive(layers, config, "localhost/app:1", tmp_path / "app.oci.tar").path


LABELS = {"org.opencontainers.image.title": "app", "org.opencontainers.image.version": "1.2.0"}


def test_an_archive_is_read_for_its_digest_name_and_version(tmp_path: Path) -> None:
    path = _archive(tmp_path, LABELS)
    facts = read_archive(path)
    index = json.loads(_read_archive(path)["index.json"])
    assert facts == ArchiveFacts(index["manifests"][0]["digest"], "app", "1.2.0")


def _rewritten(path: Path, name: str, content: bytes | None) -> Path:
    """The archive with one member replaced (or left out, with None)."""
    files = _read_archive(path)
    files[name] = content
    files = {member: data for member, data in files.items() if data is not None}
    broken = path.with_name("broken.oci.tar")
    with tarfile.open(broken, "w") as tar:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return broken


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "does not exist"),
        ("not-tar", "is not an OCI image archive of one image"),
        ("no-index", "it has no index.json"),
        ("tampered", "manifest does not match"),
        ("unlabelled", "has no title and version labels"),
    ],
)
def test_an_archive_that_is_not_one_image_of_ours_is_refused(tmp_path, damage, message) -> None:
    good = _archive(tmp_path, LABELS if damage != "unlabelled" else {})
    if damage == "missing":
        path = tmp_path / "missing.oci.tar"
    elif damage == "not-tar":
        path = tmp_path / "text.oci.tar"
        path.write_text("not an archive\n")
    elif damage == "no-index":
        path = _rewritten(good, "index.json", None)
    elif damage == "tampered":
        digest = read_archive(good).digest
        manifest = _read_archive(good)[f"blobs/sha256/{digest[7:]}"]
        path = _rewritten(good, f"blobs/sha256/{digest[7:]}", manifest.replace(b"1.2.0", b"6.6.6"))
    else:
        path = good
    with pytest.raises(InvalidInput, match=message):
        read_archive(path)


def test_a_push_to_an_environment_without_a_registry_is_refused_before_any_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(push_service, "run_playbook", lambda *_a, **_k: pytest.fail("ran"))
    environment = Environment("prod", Kind.INVENTORY, tmp_path, "prod", registry=False)
    with pytest.raises(InvalidInput, match="prod has no registry host") as refused:
        push_service.push(environment, _archive(tmp_path, LABELS), lambda _progress: None)
    assert "--registry" in refused.value.fix


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n", "is not an armored GPG secret key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\n", "is not an armored GPG secret key"),
    ],
)
def test_a_signing_key_that_is_not_a_gpg_secret_key_is_refused(tmp_path, content, message):
    key = tmp_path / "key.asc"
    if content is not None:
        key.write_text(content)
    with pytest.raises(InvalidInput, match=message) as refused:
        push_service.check_signing_key(key)
    assert "--signing-key" in refused.value.fix


def test_the_lab_signing_key_is_taken() -> None:
    key = Path(__file__).resolve().parents[2] / "inventories" / "lab" / "image-signing-key.asc"
    assert push_service.check_signing_key(key) == key
