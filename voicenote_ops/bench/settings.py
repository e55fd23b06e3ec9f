"""The Ansible settings a benchmark compares: the project's tuned ansible.cfg, the same playbooks
with stock settings (the baseline), and mitogen where it is installed.

The stock configuration keeps only what correctness needs (the roles path, no default inventory,
pinned host keys, become through sudo, and, without pipelining, module files other users can read
so that tasks can become postgres) and leaves everything else at Ansible's defaults: no
pipelining, `-C -o ControlMaster=auto -o ControlPersist=60s`, 5 forks, implicit fact gathering
without a cache. The playbooks say `gather_facts: false`; a playbook written the stock way would
gather every fact of every host, so the baseline runs one play that does exactly that (once per
host and run: a stock playbook would gather again in each of its plays, so the baseline errs on
the fast side).
"""

import importlib.util
import io
import subprocess
import tarfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from voicenote_ops.errors import InvalidInput

TUNED = "tuned"
STOCK = "stock"
MITOGEN = "mitogen"
REF = "ref"


class Variant(StrEnum):
    TUNED = TUNED
    STOCK = STOCK
    MITOGEN = MITOGEN
    # The playbooks, roles and ansible.cfg of another git ref of this project (bench --against).
    REF = REF


GATHER_PLAYBOOK = """\
---
# The stock baseline's fact gathering: every fact of every host, as a play gathers by default.
- name: Gather every fact of every host
  hosts: all
  gather_facts: true
  gather_subset: [all]
  tasks: []
"""


def stock_config_text(project: Path) -> str:
    """ansible.cfg for the baseline: Ansible's defaults and what correctness needs, no more."""
    return (
        "# Stock Ansible settings for the benchmark's baseline (voicenote-ops bench).\n"
        "[defaults]\n"
        f"roles_path = {project / 'roles'}\n"
        f"library = {project / 'plugins' / 'modules'}\n"
        "inventory = /dev/null\n"
        "host_key_checking = True\n"
        "retry_files_enabled = False\n"
        "# Without pipelining, becoming an unprivileged user (postgres) needs setfacl on the\n"
        "# hosts, or module files readable by every user for the run: the stock workaround.\n"
        "allow_world_readable_tmpfiles = True\n"
        "[privilege_escalation]\n"
        "become_method = sudo\n"
    )


def mitogen_strategy_dir() -> Path | None:
    """mitogen's Ansible strategy plugins, when the package is installed; else None."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    strategies = Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"
    return strategies if strategies.is_dir() else None


def mitogen_config_text(project: Path, strategies: Path) -> str:
    """The project's tuned ansible.cfg with mitogen's linear strategy instead of Ansible's."""
    lines = []
    for line in (project / "ansible.cfg").read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key in ("roles_path", "callback_plugins", "library"):
            value = line.split("=", 1)[1].strip()
            line = f"{key} = {project / value}"
        lines.append(line)
        if line.strip() == "[defaults]":
            lines += [f"strategy_plugins = {strategies}", "strategy = mitogen_linear"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Setting:
    """One column of the benchmark: its ansible.cfg (None: the project's own), whether every
    measured operation starts by gathering every fact, and the project whose playbooks and roles
    run (None: this one)."""

    variant: Variant
    config: Path | None
    gather_playbook: Path | None = None
    project: Path | None = None


def ref_setting(project: Path, ref: str, workdir: Path) -> Setting:
    """The tree of `ref` (a commit, tag or branch of the project's git repository), written out
    as it is in git: its playbooks, roles, inventories and ansible.cfg, run by this CLI."""
    tree = workdir / "ref"
    tree.mkdir(parents=True, exist_ok=True)
    try:
        commit = subprocess.run(
            ["git", "-C", str(project), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "-C", str(project), "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise InvalidInput(
            f"--against {ref} is not a commit of the git repository at {project}.",
            "Name a commit, tag or branch (git log shows them).",
        ) from error
    with tarfile.open(fileobj=io.BytesIO(archive)) as bundle:
        bundle.extractall(tree, filter="data")
    return Setting(Variant.REF, tree / "ansible.cfg", project=tree)


def prepare(
    project: Path, workdir: Path, with_mitogen: bool = True, against: str | None = None
) -> list[Setting]:
    """Write the baseline's (and mitogen's, and the ref's) files into workdir; the settings to
    compare."""
    stock = workdir / "stock" / "ansible.cfg"
    stock.parent.mkdir(parents=True, exist_ok=True)
    stock.write_text(stock_config_text(project))
    gather = workdir / "stock" / "gather-facts.yml"
    gather.write_text(GATHER_PLAYBOOK)
    settings = [Setting(Variant.TUNED, None), Setting(Variant.STOCK, stock, gather)]
    strategies = mitogen_strategy_dir() if with_mitogen else None
    if strategies is not None:
        config = workdir / "mitogen" / "ansible.cfg"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(mitogen_config_text(project, strategies))
        settings.append(Setting(Variant.MITOGEN, config))
    if against:
        settings.append(ref_setting(project, against, workdir))
    return settings
