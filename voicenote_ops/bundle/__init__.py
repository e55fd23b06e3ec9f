"""Release bundles: one reproducible tarball holding everything a host needs, offline."""

from voicenote_ops.bundle.build import build_bundle
from voicenote_ops.bundle.manifest import Manifest
from voicenote_ops.bundle.verify import verify_bundle

__all__ = ["Manifest", "build_bundle", "verify_bundle"]
