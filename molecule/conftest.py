"""testinfra for the molecule scenarios: the scenario's lab hosts over SSH (pinned host keys),
the lab's secrets from its vault, and helpers for checks across hosts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra
import yaml

PROJECT = Path(__file__).resolve().parent.parent
VAULT = PROJECT / "inventories" / "lab.vault.yml"
VAULT_PASSWORD = PROJECT / "inventories" / "lab" / "vault-password.txt"


def _lab_inventory() -> dict:
    lab = "mol-" + os.environ["MOLECULE_SCENARIO_NAME"]
    status = subprocess.run(
        [sys.executable, "-m", "voicenote_ops", "lab", "status", "--name", lab, "--json"],
        capture_output=True, text=True, check=True, cwd=PROJECT,
    )  # fmt: skip
    (found,) = json.loads(status.stdout)["labs"]
    return yaml.safe_load((Path(found["inventory"]) / "hosts.yml").read_text())


@pytest.fixture(scope="session")
def lab_hosts() -> dict[str, dict]:
    """Each host's inventory variables, by name."""
    groups = _lab_inventory()["all"]["children"]
    return {name: v for group in groups.values() for name, v in group["hosts"].items()}


@pytest.fixture(scope="session")
def hosts(lab_hosts):
    """testinfra hosts by name, over SSH as the deploy user, with sudo."""
    return {
        name: testinfra.get_host(
            f"ssh://{v['ansible_user']}@{v['ansible_host']}:{v['ansible_port']}",
            ssh_identity_file=v["ansible_ssh_private_key_file"],
            ssh_extra_args=v["ansible_ssh_common_args"],
            sudo=True,
            # One SSH connection per host for the whole session.
            controlpath=f"/tmp/voicenote-testinfra-{os.getpid()}-{name}",
        )
        for name, v in lab_hosts.items()
    }


@pytest.fixture(scope="session")
def address(lab_hosts):
    """A host's private address on the lab's network."""
    return lambda name: lab_hosts[name]["voicenote_private_address"]


@pytest.fixture(scope="session")
def secrets() -> dict:
    decrypted = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-vault"), "view",
         "--vault-password-file", str(VAULT_PASSWORD), str(VAULT)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return yaml.safe_load(decrypted.stdout)


@pytest.fixture(scope="session")
def listening_on(hosts):
    """The local address:port pairs a host listens on for a TCP port."""

    def local_addresses(name: str, port: int) -> set[str]:
        lines = hosts[name].run(f"ss -Hltn 'sport = :{port}'").stdout.splitlines()
        return {line.split()[3] for line in lines if line.strip()}

    return local_addresses
