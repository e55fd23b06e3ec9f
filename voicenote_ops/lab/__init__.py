"""The lab: real Debian 12 hosts as systemd containers under podman, reached over SSH."""
