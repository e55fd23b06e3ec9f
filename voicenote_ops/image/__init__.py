"""OCI images of the app: a base made here from Debian packages, the release's venv on top."""
