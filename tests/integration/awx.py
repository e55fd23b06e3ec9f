"""An AWX / Automation Platform job, rebuilt on this machine the way AWX's job runner hands it to
ansible-runner (awx/main/tasks/jobs.py, RunJob; AWX's own code, read, not run): a private data
dir with the project under project/, the synced inventory as an executable script under
inventory/, the job's extra vars with AWX's awx_* and tower_* variables written after the user's
(so they win) in env/extravars, the vault password answering ansible-playbook's prompt through
env/passwords, AWX's environment (JOB_ID, AWX_HOST, the roles and collections paths it derives
from the project's ansible.cfg) in env/envvars, and AWX's command line in env/cmdline.

What differs from a real AWX, on purpose: the job runs on this machine instead of in an
execution environment's container, and the lab's SSH key and pinned host keys come from the lab's
host variables instead of a machine credential.
"""

import configparser
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ansible_runner
import yaml

from tests.conftest import PROJECT

AWX_HOST = "https://awx.lab.test"
# The inventory AWX made from the project's inventory source, and its id in AWX.
INVENTORY_ID = 7
# AWX's rule for each path variable (RunJob.build_env): the job's requirements folder first,
# then the project's ansible.cfg setting, then the stock defaults.
AWX_PATHS = {
    "ANSIBLE_ROLES_PATH": (
        "roles_path",
        "requirements_roles",
        "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles",
    ),
    "ANSIBLE_COLLECTIONS_PATHS": (
        "collections_paths",
        "requirements_collections",
        "~/.ansible/collections:/usr/share/ansible/collections",
    ),
    "ANSIBLE_COLLECTIONS_PATH": (
        "collections_path",
        "requirements_collections",
        "~/.ansible/collections:/usr/share/ansible/collections",
    ),
}
# How AWX answers the prompt of --ask-vault-pass (RunJob.get_password_prompts).
VAULT_PROMPT = r"Vault password:\s*?$"


@contextmanager
def release_store(folder: Path) -> Iterator[str]:
    """An HTTP release store on 127.0.0.1 serving folder (bundles and their .sig files), as a
    release job's published artifacts would be; yields its URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{folder.name}/"
    finally:
        server.shutdown()
        server.server_close()


def synced_inventory(inventory_dir: Path) -> dict:
    """What an AWX inventory sync of the environment's inventory keeps: ansible-inventory's
    export of its hosts, groups and group variables, read with no vault password (AWX has none
    at a sync)."""
    env = {key: value for key, value in os.environ.items() if "VAULT" not in key}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-inventory"),
            "-i",
            str(inventory_dir),
            "--list",
            "--export",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _project_copy(destination: Path) -> None:
    """The project as an AWX project sync checks it out: the repository's files, nothing built."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        cwd=PROJECT,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)


def _inventory_script(inventory: dict, variables: dict) -> str:
    """inventory/hosts as AWX writes it (write_inventory_file): a script printing the JSON, the
    inventory's own variables on `all`, AWX's host variables on each host."""
    data = json.loads(json.dumps(inventory))
    data.setdefault("all", {}).setdefault("vars", {}).update(variables)
    hostvars = data.setdefault("_meta", {}).setdefault("hostvars", {})
    for number, name in enumerate(sorted(_hosts(data)), start=1):
        hostvars.setdefault(name, {}).update(
            {"remote_tower_enabled": "true", "remote_tower_id": number}
        )
    return f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(data)!r})\n"


def _hosts(data: dict) -> set[str]:
    return {
        host
        for group in data.values()
        if isinstance(group, dict)
        for host in group.get("hosts", [])
    }


def awx_variables(job_id: int, user: str) -> dict:
    """awx_meta_vars() of a job a user launched from a job template (awx and tower prefixes)."""
    meta = {
        "job_id": job_id,
        "job_launch_type": "manual",
        "user_id": 3,
        "user_name": user,
        "user_email": f"{user}@lab.test",
        "user_first_name": user.title(),
        "user_last_name": "",
        "inventory_id": INVENTORY_ID,
        "inventory_name": "lab",
    }
    return {f"{prefix}_{key}": value for prefix in ("awx", "tower") for key, value in meta.items()}


class _Unsafe(str):
    """A value AWX writes with !unsafe: launch-time and survey answers are never templated."""


class _ExtraVarsDumper(yaml.SafeDumper):
    """YAML as AWX writes env/extravars: _Unsafe strings tagged !unsafe (this dumper only)."""


_ExtraVarsDumper.add_representer(
    _Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value))
)


def _environment(private: Path, control: Path, job_id: int) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PROJECT / "ansible.cfg")
    config = parser["defaults"]
    env = {
        "JOB_ID": str(job_id),
        "INVENTORY_ID": str(INVENTORY_ID),
        "AWX_HOST": AWX_HOST,
        "PROJECT_REVISION": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=PROJECT, check=True
        ).stdout.strip(),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000",
        # AWX's is /runner/cp: short, as SSH's 108-byte socket paths need (a pytest folder is not).
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        # AWX runs in the project folder, whose ansible.cfg Ansible finds there: never another.
        "ANSIBLE_CONFIG": str(private / "project" / "ansible.cfg"),
        # The execution environment's Ansible: here, this venv's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        # A job is no GitHub Actions run, whatever environment the tests run in.
        "GITHUB_RUN_ID": "",
        "GITHUB_ACTOR": "",
    }
    for variable, (setting, folder, default) in AWX_PATHS.items():
        paths = default.split(":")
        if setting in config:
            paths = [config[setting], *paths]
        env[variable] = ":".join([str(private / folder), *paths])
    return env


@dataclass(frozen=True)
class AwxJob:
    rc: int
    status: str
    stdout: str
    private_data_dir: Path


@dataclass(frozen=True)
class RunningJob:
    thread: threading.Thread
    runner: ansible_runner.Runner
    private_data_dir: Path
    control_path_dir: Path

    def wait(self, timeout: float = 1800) -> AwxJob:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the job did not end in {timeout} s"
        shutil.rmtree(self.control_path_dir, ignore_errors=True)
        stdout = self.runner.stdout.read() if self.runner.stdout else ""
        return AwxJob(self.runner.rc, self.runner.status, stdout, self.private_data_dir)


def start_job(
    folder: Path,
    job_id: int,
    user: str,
    playbook: str,
    inventory: dict,
    inventory_vars: dict,
    extra_vars: dict,
    vault_password: str | None,
) -> RunningJob:
    """Job job_id of a job template running playbook (a path in the project), launched by user
    with extra_vars (strings tagged !unsafe, as AWX writes launch-time answers), with a Vault
    credential holding vault_password (None: the template has none)."""
    private = folder / f"awx_{job_id}"
    _project_copy(private / "project")
    (private / "inventory").mkdir(parents=True)
    script = private / "inventory" / "hosts"
    script.write_text(_inventory_script(inventory, inventory_vars))
    script.chmod(0o700)
    control = Path(tempfile.mkdtemp(prefix="awx-cp-"))
    env = private / "env"
    env.mkdir()
    given = {
        key: _Unsafe(value) if isinstance(value, str) else value
        for key, value in extra_vars.items()
    }
    extra = {**given, **awx_variables(job_id, user)}
    (env / "extravars").write_text(yaml.dump(extra, Dumper=_ExtraVarsDumper))
    (env / "envvars").write_text(yaml.safe_dump(_environment(private, control, job_id)))
    cmdline = "-u deploy --become"
    if vault_password is not None:
        # A Vault credential: AWX adds --ask-vault-pass and answers its prompt.
        (env / "passwords").write_text(yaml.safe_dump({VAULT_PROMPT: vault_password}))
        cmdline += " --ask-vault-pass"
    (env / "cmdline").write_text(cmdline)
    thread, runner = ansible_runner.run_async(
        private_data_dir=str(private),
        playbook=playbook,
        inventory=str(script),
        quiet=True,
        # AWX cancels through its own channel; without a callback of its own ansible-runner
        # would take over this process's SIGINT and SIGTERM handlers for good.
        cancel_callback=lambda: False,
    )
    return RunningJob(thread, runner, private, control)
