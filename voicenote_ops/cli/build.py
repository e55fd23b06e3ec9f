"""`voicenote-ops build`: a release bundle of the VoiceNote API, ready for offline hosts."""

from pathlib import Path
from typing import Annotated

import typer

from voicenote_ops.bundle import build_bundle, verify_bundle
from voicenote_ops.bundle.archive import sha256_file
from voicenote_ops.bundle.signature import SIGNING_KEY_ENV, signature_path, signing_key
from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.cli.output import console, err_console, print_json
from voicenote_ops.image.build import BuiltImage, build_image, require_tools
from voicenote_ops.paths import EXAMPLE_APP, project_dir

app = typer.Typer()


def _progress(message: str) -> None:
    err_console.print(message, markup=False, highlight=False)


def _image_result(built: BuiltImage) -> dict:
    return {
        "image": built.reference,
        "image_archive": str(built.archive.path),
        "image_digest": built.archive.digest,
        "image_id": built.archive.config_digest,
        "image_size_bytes": built.archive.size,
        "image_layers_bytes": {"base": built.base.size, "release": built.release.size},
    }


@app.command("build")
def build(
    version: Annotated[
        str, typer.Option("--version", help="Release version, X.Y.Z or X.Y.Z-rc.N.")
    ],
    app_dir: Annotated[
        Path | None,
        typer.Argument(help="The app's source tree (default: examples/voicenote-api)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the bundle.")] = Path("dist"),
    signing_key_file: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            envvar=SIGNING_KEY_ENV,
            help="OpenSSH private key (no passphrase) to sign the bundle with; "
            "without one the bundle is unsigned.",
        ),
    ] = None,
    image: Annotated[
        bool,
        typer.Option(
            "--image",
            help="Also build the OCI image NAME-VERSION.oci.tar from the bundle and load it "
            "into podman as localhost/NAME:VERSION (needs root and the lab prerequisites).",
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Build NAME-VERSION.tar.gz: app wheel, locked wheelhouse, migrations and manifest, and
    with --signing-key its signature NAME-VERSION.tar.gz.sig; with --image, the app's image."""
    # Refuse a bad version or signing key before looking for the project or building anything.
    check_release_version(version)
    signer = signing_key(signing_key_file) if signing_key_file is not None else None
    if image:
        require_tools()
    source = app_dir if app_dir is not None else project_dir() / EXAMPLE_APP
    bundle = build_bundle(source, version, out, signing_key=signer, progress=_progress)
    manifest = verify_bundle(bundle)
    if signer is None:
        err_console.print(
            f"The bundle is unsigned (no --signing-key or ${SIGNING_KEY_ENV}): only an "
            "environment with voicenote_release_allow_unsigned: true takes it.",
            markup=False,
            highlight=False,
        )
    result = {
        "bundle": str(bundle),
        "sha256": sha256_file(bundle),
        "size_bytes": bundle.stat().st_size,
        "signature": str(signature_path(bundle)) if signer is not None else None,
        "signed_by": signer.fingerprint if signer is not None else None,
        "name": manifest.name,
        "version": manifest.version,
        "source_commit": manifest.source_commit,
        "alembic_heads": list(manifest.alembic_heads),
    }
    if image:
        result |= _image_result(build_image(bundle, out, progress=_progress))
    if json_output:
        print_json(result)
        return
    for key, value in result.items():
        console.print(f"{key}: {value}", markup=False, highlight=False, soft_wrap=True)
