"""voicenote-ops: Ansible-backed deploys of the VoiceNote API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voicenote-ops")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
