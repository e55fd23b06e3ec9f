"""The lab's base image: Debian 12 built offline-from-registries with debootstrap, cached.

The image tag carries a hash of its recipe (suite, packages, mirror, setup script), so an
image is rebuilt only when the recipe changes, and a stale one is never mistaken for current.
"""

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.lab import podman
from voicenote_ops.paths import state_dir

IMAGE_REPOSITORY = "localhost/voicenote-lab"
# What a minimal cloud VM has: Python for Ansible, sshd, sudo, systemd as PID 1.
PACKAGES = (
    "python3",
    "python3-apt",
    "openssh-server",
    "sudo",
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "ca-certificates",
    "procps",
    "curl",
)
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


def machine_mirror() -> str:
    """The Debian mirror this machine's own apt uses (the one known to be reachable)."""
    for source in APT_SOURCES:
        if not source.is_file():
            continue
        for line in source.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2 and "security" not in words[1]:
                return words[1]
    return DEFAULT_MIRROR


@dataclass(frozen=True)
class ImageRecipe:
    suite: str = "bookworm"
    packages: tuple[str, ...] = PACKAGES
    mirror: str = DEFAULT_MIRROR
    # The script run inside the root file system (chroot) after debootstrap, as a resource.
    setup_package: str = "voicenote_ops.lab"
    setup_name: str = "image-setup.sh"

    @property
    def setup_script(self) -> str:
        return files(self.setup_package).joinpath(self.setup_name).read_text()

    @property
    def digest(self) -> str:
        text = "\n".join([self.suite, self.mirror, *self.packages, self.setup_script])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.suite}-{self.digest}"

    @property
    def alias(self) -> str:
        """The stable name molecule scenarios use; always the newest recipe's image."""
        return f"{IMAGE_REPOSITORY}:{self.suite}"

    def debootstrap_argv(self, rootfs: Path) -> list[str]:
        return [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(self.packages)}",
            self.suite,
            str(rootfs),
            self.mirror,
        ]

    def import_argv(self) -> list[str]:
        return [
            "podman",
            "import",
            "--change",
            'CMD ["/sbin/init"]',
            "--change",
            f"LABEL {podman.LABEL_IMAGE}={self.digest}",
            "-",
            self.tag,
        ]


def default_recipe() -> ImageRecipe:
    return ImageRecipe(mirror=machine_mirror())


def image_exists(tag: str) -> bool:
    code, _ = podman.run(["podman", "image", "exists", tag], check=False)
    return code == 0


def require_debootstrap(what: str) -> None:
    if shutil.which("debootstrap") is None:
        raise InvalidInput(
            f"Building {what} needs debootstrap, which this machine does not have.",
            "Install the prerequisites with: voicenote-ops lab prereqs",
        )


def make_rootfs(recipe: ImageRecipe, rootfs: Path, log: Path, *, what: str) -> None:
    """Debootstrap the recipe's root file system at rootfs and run its setup script in it.
    Nothing stays mounted in it afterwards, whatever happened (debootstrap can leave its /proc
    mounted: packing or walking the tree would then read the machine's /proc)."""
    require_debootstrap(what)
    try:
        with log.open("w") as out:
            steps = [
                (recipe.debootstrap_argv(rootfs), None),
                (["chroot", str(rootfs), "/bin/sh", "-s"], recipe.setup_script.encode()),
            ]
            for argv, stdin in steps:
                done = subprocess.run(argv, input=stdin, stdout=out, stderr=out, check=False)
                if done.returncode != 0:
                    raise NeedsAttention(f"Building {what} failed at `{argv[0]}`.", f"See {log}.")
    finally:
        unmount_below(rootfs)


def mounts_below(folder: Path, table: str | None = None) -> list[Path]:
    """The mount points at or below folder, the deepest first, from a mount table in the form
    of /proc/self/mounts (by default that one)."""
    top = str(folder.resolve())
    found = []
    if table is None:
        table = Path("/proc/self/mounts").read_text()
    for line in table.splitlines():
        point = line.split()[1].encode().decode("unicode_escape")
        if point == top or point.startswith(top + "/"):
            found.append(Path(point))
    return sorted(found, key=lambda point: len(point.parts), reverse=True)


def unmount_below(folder: Path) -> None:
    """Unmount whatever is mounted at or below folder (lazily: a busy mount goes when it is
    no longer used)."""
    for point in mounts_below(folder):
        subprocess.run(["umount", "--lazy", str(point)], capture_output=True, check=False)


def remove_build(work: Path) -> None:
    """A build's work folder removed, after anything mounted in it."""
    unmount_below(work)
    shutil.rmtree(work, ignore_errors=True)


def _build(recipe: ImageRecipe, log: Path) -> None:
    require_debootstrap("the lab image")
    work = Path(tempfile.mkdtemp(prefix="image-", dir=state_dir()))
    rootfs = work / "rootfs"
    try:
        make_rootfs(recipe, rootfs, log, what="the lab image")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            recipe.import_argv(), stdin=tar.stdout, capture_output=True, env=podman.podman_env()
        )
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise NeedsAttention(
                "Importing the lab image into podman failed.",
                imported.stderr.decode(errors="replace").strip()[-300:],
            )
    finally:
        remove_build(work)


def ensure_image(recipe: ImageRecipe | None = None, *, rebuild: bool = False) -> str:
    """Return the tag of the lab image for the recipe, building it first if needed."""
    recipe = recipe or default_recipe()
    state_dir().mkdir(parents=True, exist_ok=True)
    # One build at a time on this machine; a second caller waits and then finds it built.
    with (Path(tempfile.gettempdir()) / "voicenote-ops-image.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if rebuild or not image_exists(recipe.tag):
            _build(recipe, state_dir() / "image-build.log")
        podman.run(["podman", "tag", recipe.tag, recipe.alias])
    return recipe.tag
