"""What the lab asks of this machine, with its commands recorded instead of run: the
prerequisites (root, tools, apt-get) and the base image (mirror, build, cache)."""

import subprocess
from pathlib import Path

import pytest

from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.lab import image, prereqs

pytestmark = pytest.mark.unit


class Recorder:
    """Stands in for subprocess.run: records each argv and answers from `answers`."""

    def __init__(self, answers=None):
        self.calls: list[list[str]] = []
        self.envs: list[dict | None] = []
        self.answers = answers or (lambda argv: (0, "", ""))

    def __call__(self, argv, **options):
        self.calls.append(list(argv))
        self.envs.append(options.get("env"))
        code, out, err = self.answers(argv)
        return subprocess.CompletedProcess(argv, code, out, err)


@pytest.fixture
def as_root(monkeypatch):
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 0)


@pytest.fixture(autouse=True)
def kernel_settings(tmp_path, monkeypatch):
    """The inotify limit and the sysctl file, as files of the test's own."""
    limit, persisted = tmp_path / "max_user_instances", tmp_path / "sysctl.d" / "60-lab.conf"
    limit.write_text("128\n")
    persisted.parent.mkdir()
    monkeypatch.setattr(prereqs, "INOTIFY_INSTANCES", limit)
    monkeypatch.setattr(prereqs, "SYSCTL_FILE", persisted)
    return limit, persisted


def test_the_inotify_limit_is_raised_now_and_for_the_next_boot(kernel_settings):
    limit, persisted = kernel_settings
    said = []
    prereqs.raise_inotify_limit(said.append)
    assert limit.read_text() == "1024\n"
    assert persisted.read_text() == "fs.inotify.max_user_instances = 1024\n"
    assert said == ["fs.inotify.max_user_instances = 1024"]
    limit.write_text("4096\n")
    prereqs.raise_inotify_limit(said.append)
    assert limit.read_text() == "4096\n" and len(said) == 1, "a higher limit is kept"


def test_missing_tools_are_named_with_the_fix(as_root, monkeypatch):
    monkeypatch.setattr(prereqs.shutil, "which", lambda tool: None if tool == "runc" else tool)
    with pytest.raises(InvalidInput, match="needs runc,") as refused:
        prereqs.require_podman()
    assert "voicenote-ops lab prereqs" in refused.value.fix


def test_every_tool_present_passes(as_root, monkeypatch):
    monkeypatch.setattr(prereqs.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    prereqs.require_podman()


def test_install_refuses_without_root_or_apt(monkeypatch):
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 1000)
    with pytest.raises(InvalidInput, match="not root"):
        prereqs.install(print)
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 0)
    monkeypatch.setattr(prereqs.shutil, "which", lambda tool: None)
    with pytest.raises(InvalidInput, match="needs apt-get") as refused:
        prereqs.install(print)
    assert "podman runc" in refused.value.fix


def installed_except(*missing: str):
    def answer(argv):
        if argv[0] == "dpkg-query":
            return 0, "" if argv[-1] in missing else "install ok installed", ""
        return 0, "", ""

    return answer


def test_install_asks_apt_for_the_missing_packages_only(as_root, monkeypatch):
    monkeypatch.setattr(prereqs.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    recorder = Recorder(installed_except("iptables", "debootstrap"))
    monkeypatch.setattr(prereqs.subprocess, "run", recorder)
    said = []
    prereqs.install(said.append)
    apt = [argv for argv in recorder.calls if argv[0] == "apt-get"]
    assert apt == [
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "iptables", "debootstrap"],
    ]
    assert said == ["fs.inotify.max_user_instances = 1024", "apt-get update", "apt-get install"]
    calls = zip(recorder.calls, recorder.envs, strict=True)
    apt_envs = [env for argv, env in calls if argv[0] == "apt-get"]
    assert [env["DEBIAN_FRONTEND"] for env in apt_envs] == ["noninteractive"] * 2


def test_install_with_everything_there_runs_no_apt(as_root, monkeypatch):
    monkeypatch.setattr(prereqs.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    recorder = Recorder(installed_except())
    monkeypatch.setattr(prereqs.subprocess, "run", recorder)
    prereqs.install(print)
    assert {argv[0] for argv in recorder.calls} == {"dpkg-query"}
    assert len(recorder.calls) == len(prereqs.DEBIAN_PACKAGES)


def test_a_failing_apt_says_its_last_line(as_root, monkeypatch):
    monkeypatch.setattr(prereqs.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    def answer(argv):
        if argv[0] == "apt-get":
            return 100, "", "Reading lists...\nE: Unable to locate package netavark"
        return installed_except("netavark")(argv)

    monkeypatch.setattr(prereqs.subprocess, "run", Recorder(answer))
    with pytest.raises(NeedsAttention, match="`apt-get update` failed: E: Unable to locate"):
        prereqs.install(print)


@pytest.mark.parametrize(
    ("name", "text", "mirror"),
    [
        ("debian.sources",
         "Types: deb\nURIs: http://security.debian.org/debian-security\n\n"
         "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n",
         "http://mirror.example/debian"),
        ("sources.list",
         "# comment\ndeb http://security.debian.org/ bookworm-security main\n"
         "deb http://ftp.example/debian bookworm main\n",
         "http://ftp.example/debian"),
        ("sources.list", "# nothing usable\n", image.DEFAULT_MIRROR),
    ],
    ids=["deb822", "one-line", "none"],
)  # fmt: skip
def test_the_machine_mirror_comes_from_apt_and_skips_security(
    tmp_path, monkeypatch, name, text, mirror
):
    (tmp_path / name).write_text(text)
    monkeypatch.setattr(image, "APT_SOURCES", (tmp_path / "absent", tmp_path / name))
    assert image.machine_mirror() == mirror


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(image.tempfile, "tempdir", str(tmp_path))
    return tmp_path / "state"


RECIPE = image.ImageRecipe(mirror="http://mirror.invalid/debian")


def test_a_cached_image_is_only_tagged(state, monkeypatch):
    podman_calls = []
    monkeypatch.setattr(image.podman, "run", lambda argv, **_: podman_calls.append(argv) or (0, ""))
    monkeypatch.setattr(image, "_build", lambda *_: pytest.fail("a cached image was rebuilt"))
    assert image.ensure_image(RECIPE) == RECIPE.tag
    assert podman_calls == [
        ["podman", "image", "exists", RECIPE.tag],
        ["podman", "tag", RECIPE.tag, RECIPE.alias],
    ]


@pytest.mark.parametrize(("exists", "rebuild"), [(1, False), (0, True)])
def test_a_missing_image_or_a_rebuild_builds(state, monkeypatch, exists, rebuild):
    monkeypatch.setattr(image.podman, "run", lambda argv, **_: (exists, ""))
    built = []
    monkeypatch.setattr(image, "_build", lambda recipe, log: built.append((recipe, log)))
    image.ensure_image(RECIPE, rebuild=rebuild)
    assert built == [(RECIPE, state / "image-build.log")]


def test_building_needs_debootstrap(state, monkeypatch):
    monkeypatch.setattr(image.shutil, "which", lambda tool: None)
    with pytest.raises(InvalidInput, match="needs debootstrap"):
        image._build(RECIPE, state / "log")


def test_a_failed_debootstrap_names_its_log_and_leaves_no_rootfs(state, monkeypatch):
    state.mkdir(parents=True)
    monkeypatch.setattr(image.shutil, "which", lambda tool: f"/usr/sbin/{tool}")
    recorder = Recorder(lambda argv: (1, "", ""))
    monkeypatch.setattr(image.subprocess, "run", recorder)
    log = state / "image-build.log"
    with pytest.raises(NeedsAttention, match="failed at `debootstrap`") as failed:
        image._build(RECIPE, log)
    assert str(log) in failed.value.fix
    assert recorder.calls[0][:2] == ["debootstrap", "--variant=minbase"]
    assert recorder.calls[0][-1] == RECIPE.mirror
    assert [path.name for path in Path(state).iterdir()] == ["image-build.log"]
