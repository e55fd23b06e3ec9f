"""The nginx switch's module (roles/nginx/library/voicenote_switch.py) on a real file: the new
upstream replaces the old one at once, and a refused check or a failed reload puts the old
bytes back before the module fails."""

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

switch_module = role_plugin("nginx", "library", "voicenote_switch")

CHECK = ["nginx", "-t", "-q"]
BLUE = b"upstream voicenote_live { server 127.0.0.1:8001; }\n"
GREEN = b"upstream voicenote_live { server 127.0.0.1:8002; }\n"


class Nginx:
    """Records the commands the module runs; each answers as told (rc 0 unless failing)."""

    def __init__(self, path, failing=()):
        self.path, self.failing, self.ran = path, set(failing), []

    def run(self, argv):
        self.ran.append((tuple(argv), self.path.read_bytes() if self.path.exists() else None))
        command = argv[0] if argv[0] != "systemctl" else " ".join(argv[:2])
        return (1, "", f"{command}: refused\n") if command in self.failing else (0, "", "")


@pytest.fixture
def upstream(tmp_path):
    path = tmp_path / "live-upstream.conf"
    path.write_bytes(BLUE)
    return path


def switch(path, nginx, content=GREEN):
    before = switch_module.read(str(path))
    return switch_module.switch(str(path), before, content, nginx.run, CHECK, "nginx")


def test_the_new_upstream_is_checked_then_nginx_reloaded(upstream):
    nginx = Nginx(upstream)
    result = switch(upstream, nginx)
    assert result["changed"] is True and result["switched_at"] > 0
    assert upstream.read_bytes() == GREEN
    # nginx -t and the reload both saw the new file.
    assert nginx.ran == [(tuple(CHECK), GREEN), (("systemctl", "reload", "nginx"), GREEN)]
    assert oct(upstream.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in upstream.parent.iterdir()) == ["live-upstream.conf"]


def test_an_upstream_that_already_points_there_is_left_alone_and_nginx_not_reloaded(upstream):
    nginx = Nginx(upstream)
    assert switch(upstream, nginx, content=BLUE) == {"changed": False, "switched_at": None}
    assert nginx.ran == []


def test_a_refused_check_puts_the_old_file_back_and_never_reloads(upstream):
    nginx = Nginx(upstream, failing={"nginx"})
    refused = "nginx -t refused the new upstream: nginx: refused"
    with pytest.raises(switch_module.Failed, match=refused):
        switch(upstream, nginx)
    assert upstream.read_bytes() == BLUE
    assert [argv for argv, _ in nginx.ran] == [tuple(CHECK)]
    assert sorted(p.name for p in upstream.parent.iterdir()) == ["live-upstream.conf"]


def test_a_failed_reload_puts_the_old_file_back_and_reloads_again(upstream):
    nginx = Nginx(upstream, failing={"systemctl reload"})
    with pytest.raises(switch_module.Failed, match="reloading nginx failed"):
        switch(upstream, nginx)
    assert upstream.read_bytes() == BLUE
    # The second reload is asked with the old file back in place.
    assert nginx.ran[-1] == (("systemctl", "reload", "nginx"), BLUE)


def test_a_missing_file_is_written_and_removed_again_when_refused(tmp_path):
    path = tmp_path / "live-upstream.conf"
    with pytest.raises(switch_module.Failed):
        switch(path, Nginx(path, failing={"nginx"}))
    assert not path.exists()
    switch(path, Nginx(path))
    assert path.read_bytes() == GREEN


GATE = {"url": "http://127.0.0.1:8002", "expect_version": "1.1.0"}
VERIFY = {"url": "http://10.0.0.11:8080", "expect_version": "1.1.0"}
PASSED = {"ok": True, "message": "/ready answered 200, /health reports ok, version 1.1.0"}


def gated(path, nginx, *verdicts, verify=None, content=GREEN):
    """The switch with a gate (and a verify) whose checks answer `verdicts` in turn; returns
    its result and the checks it asked for."""
    asked, answers = [], list(verdicts)

    def check_health(params):
        asked.append(params)
        return answers.pop(0)

    params = {"path": str(path), "content": content.decode(), "check": CHECK, "service": "nginx",
              "gate": GATE, "verify": verify}  # fmt: skip
    return switch_module.gated_switch(params, nginx.run, check_health), asked


def test_a_gate_that_passes_is_asked_first_then_the_switch_runs(upstream):
    nginx = Nginx(upstream)
    result, asked = gated(upstream, nginx, PASSED)
    assert asked == [GATE]
    assert result["changed"] is True and result["gate"] == PASSED and result["verify"] is None
    assert upstream.read_bytes() == GREEN


def test_a_gate_that_fails_leaves_the_file_and_nginx_alone(upstream):
    nginx = Nginx(upstream)
    verdict = {"ok": False, "message": "http://127.0.0.1:8002: /ready answered 503 {}"}
    with pytest.raises(switch_module.CheckFailed, match="/ready answered 503") as refused:
        gated(upstream, nginx, verdict, verify=VERIFY)
    assert refused.value.verdict == verdict
    assert upstream.read_bytes() == BLUE and nginx.ran == []


def test_the_check_through_nginx_comes_after_the_reload(upstream):
    nginx = Nginx(upstream)
    result, asked = gated(upstream, nginx, PASSED, PASSED, verify=VERIFY)
    assert asked == [GATE, VERIFY] and result["verify"] == PASSED
    assert nginx.ran[-1] == (("systemctl", "reload", "nginx"), GREEN)


def test_a_check_through_nginx_that_fails_puts_the_old_file_back_and_reloads(upstream):
    nginx = Nginx(upstream)
    failed = {"ok": False, "message": "http://10.0.0.11:8080: /ready answered 502"}
    with pytest.raises(switch_module.Failed, match=r"after the switch, .*answered 502"):
        gated(upstream, nginx, PASSED, failed, verify=VERIFY)
    assert upstream.read_bytes() == BLUE
    assert [argv for argv, _ in nginx.ran] == [tuple(CHECK), ("systemctl", "reload", "nginx"),
                                                ("systemctl", "reload", "nginx")]  # fmt: skip
    assert nginx.ran[-1] == (("systemctl", "reload", "nginx"), BLUE)


def test_a_failed_check_through_an_nginx_that_already_pointed_there_touches_nothing(upstream):
    nginx = Nginx(upstream)
    failed = {"ok": False, "message": "http://10.0.0.11:8080: /ready answered 502"}
    with pytest.raises(switch_module.CheckFailed, match="answered 502"):
        gated(upstream, nginx, PASSED, failed, verify=VERIFY, content=BLUE)
    assert upstream.read_bytes() == BLUE and nginx.ran == []
