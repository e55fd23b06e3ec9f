"""What the lab needs on this machine, checked before use and installed on request."""

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from voicenote_ops.errors import InvalidInput, NeedsAttention

# Measured set (see docs/lab.md): without iptables netavark fails every run; crun is
# replaced by runc through the lab's containers.conf.
DEBIAN_PACKAGES = (
    "podman",
    "runc",
    "uidmap",
    "fuse-overlayfs",
    "slirp4netns",
    "netavark",
    "aardvark-dns",
    "iptables",
    "debootstrap",
    "openssh-client",
    # Pushes and signs image archives (playbooks/push.yml: skopeo, gpg); runs the compose
    # stack (voicenote-ops compose, docs/images.md).
    "skopeo",
    "gnupg",
    "podman-compose",
)
REQUIRED_TOOLS = ("podman", "runc", "iptables", "ssh", "ssh-keygen")


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        raise InvalidInput(f"{why}, and this process is not root.", "Run it as root (sudo).")


def require_tools(what: str, tools: tuple[str, ...], *, root_because: str) -> None:
    """Refuse, naming the fix, when this process is not root or a tool is missing."""
    require_root(root_because)
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise InvalidInput(
            f"{what} needs {', '.join(missing)}, which this machine does not have.",
            "Install the prerequisites with: voicenote-ops lab prereqs",
        )


def require_podman() -> None:
    require_tools(
        "The lab", REQUIRED_TOOLS, root_because="Lab hosts are podman containers run as root"
    )


def _installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "install ok installed"


# Every lab host's systemd takes inotify instances, all counted against root: the kernel's
# default of 128 runs out at about 15 hosts, and a new host then never starts sshd.
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_NEEDED = 1024
SYSCTL_FILE = Path("/etc/sysctl.d/60-voicenote-lab.conf")


def raise_inotify_limit(progress: Callable[[str], None]) -> None:
    """At least INOTIFY_NEEDED inotify instances, now and after a reboot."""
    if int(INOTIFY_INSTANCES.read_text().strip()) < INOTIFY_NEEDED:
        progress(f"fs.inotify.max_user_instances = {INOTIFY_NEEDED}")
        INOTIFY_INSTANCES.write_text(f"{INOTIFY_NEEDED}\n")
    setting = f"fs.inotify.max_user_instances = {INOTIFY_NEEDED}\n"
    if not SYSCTL_FILE.is_file() or SYSCTL_FILE.read_text() != setting:
        SYSCTL_FILE.write_text(setting)


def install(progress: Callable[[str], None]) -> None:
    require_root("Installing the lab prerequisites takes apt-get as root")
    raise_inotify_limit(progress)
    if shutil.which("apt-get") is None:
        raise InvalidInput(
            "Installing the lab prerequisites needs apt-get (a Debian or Ubuntu machine).",
            f"Install these with your package manager: {' '.join(DEBIAN_PACKAGES)}.",
        )
    missing = [package for package in DEBIAN_PACKAGES if not _installed(package)]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
    ):
        progress(" ".join(argv[:2]))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise NeedsAttention(
                f"`{' '.join(argv[:2])}` failed: {last[0]}",
                "Check that this machine reaches a Debian package mirror.",
            )
