"""The one writer of extra vars (voicenote_ops/extravars.py), read back the way ansible-playbook
reads `-e @FILE`, and `voicenote-ops ci vars`, which writes such files for plain runs."""

import errno
import json
import os
import re
import stat
from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import is_trusted_as_template

from tests.conftest import PROJECT, run_cli
from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.errors import ExitCode, InvalidInput, NeedsAttention
from voicenote_ops.extravars import UNSAFE_TAG, vars_yaml, write_private_file, write_vars_file
from voicenote_ops.services import ci

pytestmark = [pytest.mark.unit, pytest.mark.security]

VARIABLES = {
    "reason": "{{ lookup('pipe', 'id') }} {% raw %}x{% endraw %}",
    # Strings that look like other types stay strings; numbers, booleans and null keep theirs.
    "empty": "",
    "octal": "0777",
    "yes_text": "true",
    "version": "1.1.0",
    "lines": "one\ntwo: {{ 7*7 }}\n",
    "unicode": "é ☃ \a",
    "count": 3,
    "flag": True,
    "nothing": None,
    "ratio": 0.5,
    "nested": {"{{ key }}": ["{{ a }}", 1, {"deep": "{{ b }}"}], "off": False},
}


def ansible_reads(path) -> object:
    """What ansible-playbook makes of `-e @path` (ansible.utils.vars.load_extra_vars)."""
    return DataLoader().load_from_file(str(path), trusted_as_template=True)


def kind(value) -> type:
    """The plain type behind Ansible's tagged ones (a bool is no int here)."""
    return next(t for t in (bool, int, float, str, dict, list, type(None)) if isinstance(value, t))


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for pair in value.items() for item in pair for text in strings_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def test_ansible_reads_every_value_back_as_data_of_its_type(tmp_path):
    path = tmp_path / "vars.yml"
    write_vars_file(path, VARIABLES)
    loaded = ansible_reads(path)
    assert loaded == VARIABLES
    assert {name: kind(value) for name, value in loaded.items()} == {
        name: kind(value) for name, value in VARIABLES.items()
    }
    texts = strings_in(loaded)
    assert "{{ key }}" in texts and "{{ b }}" in texts
    assert [text for text in texts if is_trusted_as_template(text)] == []


def test_the_same_values_as_json_would_be_templates(tmp_path):
    """Why the tag: runner's own JSON file (and -e key=value) hands Ansible trusted strings."""
    path = tmp_path / "extravars"
    path.write_text(json.dumps(VARIABLES))
    assert is_trusted_as_template(ansible_reads(path)["reason"])


def test_one_tag_on_the_document():
    """A tag on each string would not do: Ansible resolves a tagged scalar again as if it were
    unquoted, so `!unsafe ''` would arrive as null and `!unsafe '0777'` as 511."""
    text = vars_yaml(VARIABLES)
    assert text.count(UNSAFE_TAG) == 1
    assert re.search(rf"^--- {UNSAFE_TAG}$", text, re.MULTILINE)


@pytest.mark.parametrize("name", ["not-a-name", "1st", "a b", "{{ x }}", "é"])
def test_only_variable_names_are_written(name):
    with pytest.raises(ValueError, match="not a variable name"):
        vars_yaml({name: "x"})


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_is_private_and_replaces_a_regular_file(tmp_path):
    new = tmp_path / "new" / "folder" / "vars.yml"
    write_private_file(new, "a: 1\n")
    assert new.read_text() == "a: 1\n" and mode(new) == 0o600
    assert mode(new.parent) == 0o700
    existing = tmp_path / "existing.yml"
    existing.write_text("old\n")
    existing.chmod(0o644)
    write_private_file(existing, "new\n")
    assert existing.read_text() == "new\n" and mode(existing) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["existing.yml", "new"]


def test_anything_but_a_regular_file_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "target"
    target.write_text("untouched\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (link, tmp_path, fifo, Path("/dev/null")):
        with pytest.raises(InvalidInput, match="exists and is not a regular file"):
            write_vars_file(path, {"a": "b"})
    assert target.read_text() == "untouched\n" and link.is_symlink()


def test_a_folder_that_cannot_be_made_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InvalidInput, match=f"Cannot write {blocker}/vars.yml"):
        write_vars_file(blocker / "vars.yml", {"a": "b"})


def test_a_full_disk_is_the_machine_s_problem_not_the_path(tmp_path, monkeypatch):
    def full(path, flags, mode=0o777):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr("voicenote_ops.extravars.os.open", full)
    with pytest.raises(NeedsAttention, match="No space left on device"):
        write_vars_file(tmp_path / "vars.yml", {"a": "b"})
    assert list(tmp_path.iterdir()) == []


# `voicenote-ops ci vars`: the documented variables of deploy.yml, rollback.yml and provision.yml.


def test_ci_vars_writes_only_what_was_given():
    assert ci.PlaybookVars().variables() == {}
    request = ci.PlaybookVars(
        version="1.1.0", artifact="dist/{{ x }}.tar.gz", artifact_signature="s/{{ x }}.sig",
        batch_size=2, stop_previous=True, lock_wait=0, watch_seconds=0, override_promotion="",
        rollback_to="1.0.0", downgrade=True, take_over=True,
        hooks=("before_upload=hooks/{{ x }}.yml", "after_switch=a=b.yml"),
        allow_server_restart=True, ignore_alerts="{{ x }} is known",
    )  # fmt: skip
    assert request.variables() == {
        "voicenote_version": "1.1.0", "voicenote_artifact": "dist/{{ x }}.tar.gz",
        "voicenote_artifact_signature": "s/{{ x }}.sig", "voicenote_lock_take_over": True,
        "voicenote_batch_size": 2, "voicenote_stop_previous": True, "voicenote_lock_wait": 0,
        "voicenote_watch_seconds": 0, "voicenote_promotion_override": "",
        "voicenote_rollback_to": "1.0.0", "voicenote_allow_downgrade": True,
        "voicenote_hooks": {"before_upload": "hooks/{{ x }}.yml", "after_switch": "a=b.yml"},
        "voicenote_allow_server_restart": True,
        "voicenote_ignore_alerts_reason": "{{ x }} is known",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ci.PlaybookVars(version="{{ 7*7 }}"), "is not of the form X.Y.Z"),
        (ci.PlaybookVars(rollback_to="1.0"), "is not of the form X.Y.Z"),
        (ci.PlaybookVars(hooks=("before_deploy=x.yml",)), "not PHASE=FILE with a known phase"),
        (ci.PlaybookVars(hooks=("before_upload",)), "not PHASE=FILE with a known phase"),
        (ci.PlaybookVars(hooks=("before_upload=",)), "not PHASE=FILE with a known phase"),
    ],
)
def test_ci_vars_refuses_what_the_playbooks_would(tmp_path, request_, message):
    out = tmp_path / "vars.yml"
    with pytest.raises(InvalidInput, match=message):
        ci.write_playbook_vars(request_, out)
    assert not out.exists()


def test_hook_phases_are_the_playbooks():
    """Each phase --hook accepts is one the playbooks (or the bluegreen role) run hooks at."""
    used = {
        match
        for path in [*PROJECT.glob("playbooks/**/*.yml"), *PROJECT.glob("roles/*/tasks/*.yml")]
        for match in re.findall(r"\b(?:before|after)_[a-z]+\b", path.read_text())
    }
    assert set(ci.HOOK_PHASES) == used


def test_ci_vars_refuses_a_destination_that_is_no_regular_file(tmp_path):
    result = run_cli("ci", "vars", "--out", str(tmp_path), "--override-promotion", "x")
    assert_refused(result, ExitCode.INVALID, "is not a regular file", "Name a new path")
