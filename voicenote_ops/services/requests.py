"""Checks shared by every command that changes an environment, done before any host is touched:
the environment, its vault password, a release version, a bundle, the operator's consent."""

import stat
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from ansible.errors import AnsibleError
from ansible.parsing.vault import is_encrypted

from voicenote_ops import rules
from voicenote_ops.bundle import verify_bundle
from voicenote_ops.bundle.manifest import Manifest, bundle_file_name
from voicenote_ops.bundle.signature import verify_signature
from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.environments import Environment, resolve
from voicenote_ops.errors import GuardRefused, InvalidInput
from voicenote_ops.image.archive import read_archive
from voicenote_ops.inventory import vault_file
from voicenote_ops.vault import open_vault

BUNDLE_NAME = "voicenote-api"


def environment_with_vault(name: str) -> Environment:
    """The environment, once its vault password is there and opens every vault it has."""
    environment = resolve(name)
    vault_password(environment)
    return environment


def vault_password(environment: Environment) -> Path:
    """The environment's vault password file, once it is there and opens every vault of the
    inventory: a missing or wrong password is refused before any host is contacted."""
    password = environment.vault_password_file
    if password is None or not password.is_file():
        where = f" ({password})" if password else ""
        raise InvalidInput(
            f"No vault password file for {environment.name}{where}.",
            "Set VOICENOTE_VAULT_PASSWORD_FILE to a file holding it, or put it in "
            f"~/.config/voicenote-ops/{environment.name}.vault-password (mode 0600).",
        )
    check_vault_password(environment.inventory, password)
    return password


def check_vault_password(inventory: Path, password_file: Path) -> None:
    """Open every vault file of the environment in memory (its secrets file, and any encrypted
    group_vars file): a wrong password is refused here, before any host is contacted, not
    half-way through a run."""
    vault = open_vault(password_file)
    secrets = vault_file(inventory)
    found = sorted(inventory.glob("group_vars/**/*.yml"))
    for path in [secrets, *found] if secrets.is_file() else found:
        content = path.read_bytes()
        if not is_encrypted(content):
            continue
        try:
            vault.decrypt(content)
        except AnsibleError:
            raise InvalidInput(
                f"The vault password in {password_file} does not open {path}.",
                "Use the environment's vault password (VOICENOTE_VAULT_PASSWORD_FILE).",
            ) from None


def under_prod_rules(environment: Environment) -> bool:
    """Whether prod's rules apply: the environment's voicenote_environment (group_vars/all, a lab
    --like prod has prod's) is one the playbooks' rules name (playbooks/vars/versions.yml)."""
    return _prod_rules_apply(_shared_variables(environment.inventory))


def _prod_rules_apply(variables: dict) -> bool:
    """under_prod_rules, from the inventory's shared variables already read."""
    return variables.get("voicenote_environment", "") in rules.prod_rules_environments()


def release_version(environment: Environment, version: str) -> str:
    check_release_version(version)
    if under_prod_rules(environment) and "-" in version:
        raise InvalidInput(
            f"{environment.name} takes only final releases X.Y.Z, not {version}.",
            "Deploy release candidates to staging; tag vX.Y.Z for prod.",
        )
    return version


def _shared_variables(inventory: Path) -> dict:
    """The plain (not vault-encrypted) variables of the inventory's group_vars/all/*.yml, merged
    in Ansible's order (by file name, a later file wins)."""
    variables: dict = {}
    for path in sorted(inventory.glob("group_vars/all/*.yml")):
        content = path.read_bytes()
        if is_encrypted(content):
            continue
        try:
            document = yaml.safe_load(content)
        except yaml.YAMLError as error:
            raise InvalidInput(f"{path} is not valid YAML ({error}).") from None
        variables.update(document if isinstance(document, dict) else {})
    return variables


RUNTIMES = ("bundle", "image")


def runtime(inventory: Path) -> str:
    """How the environment's app hosts run releases (voicenote_runtime in group_vars/all):
    bundle (a venv, the default) or image (docs/images.md)."""
    chosen = _shared_variables(inventory).get("voicenote_runtime", RUNTIMES[0])
    if chosen not in RUNTIMES:
        raise InvalidInput(
            f"voicenote_runtime in {inventory}/group_vars/all is {chosen!r}.",
            f"Set it to one of: {', '.join(RUNTIMES)}.",
        )
    return chosen


def image_digest(version: str, artifact: Path | None) -> str:
    """The digest of the release's image, when `build --image` made its archive beside the
    bundle (NAME-VERSION.oci.tar, beside the path given, not a link's target): an environment
    that runs images deploys it by that digest (the playbooks refuse an image runtime without
    one); '' when there is no archive."""
    folder = artifact.parent if artifact is not None else Path("dist")
    archive = folder / f"{BUNDLE_NAME}-{version}.oci.tar"
    if not archive.exists():
        return ""
    facts = read_archive(archive)
    if facts.version != version:
        raise InvalidInput(
            f"Image archive {archive} is release {facts.version}, not {version}.",
            f"Build it again with: voicenote-ops build --version {version} --image",
        )
    return facts.digest


def bundle(environment: Environment, version: str, artifact: Path | None) -> tuple[Path, Manifest]:
    """The bundle to ship, verified against its manifest: a regular file, of this version, and
    signed by a key the environment pins (docs/app-and-bundles.md, Signing): only where
    voicenote_release_allow_unsigned is true may it be unsigned, and never for prod's rules."""
    path = (
        artifact if artifact is not None else Path("dist") / bundle_file_name(BUNDLE_NAME, version)
    )
    try:
        mode = path.stat().st_mode
    except OSError:
        raise InvalidInput(
            f"Bundle {path} does not exist.",
            f"Build it with: voicenote-ops build --version {version}",
        ) from None
    if not stat.S_ISREG(mode):
        raise InvalidInput(f"Bundle {path} is not a regular file.", "Give the .tar.gz file.")
    manifest = verify_bundle(path)
    if manifest.version != version:
        raise InvalidInput(
            f"Bundle {path} is release {manifest.version}, not {version}.",
            "Give the bundle of the version you deploy.",
        )
    variables = _shared_variables(environment.inventory)
    # Beside the file the playbooks get (a link's target), where they look for it too.
    resolved = path.resolve()
    verify_signature(
        resolved,
        str(variables.get("voicenote_release_allowed_signers") or ""),
        required=variables.get("voicenote_release_allow_unsigned") is not True
        or _prod_rules_apply(variables),
        environment=environment.name,
    )
    return resolved, manifest


def check_lock_wait(seconds: int) -> int:
    """--lock-wait of every command that takes the deploy lock: whole seconds from 0."""
    if seconds < 0:
        raise InvalidInput("--lock-wait must be at least 0.", "Fix the number.")
    return seconds


def check_rollout(batch_size: int, watch_seconds: int | None) -> None:
    """--batch-size and --watch of a deploy: at least one host at a time, and a watch the
    playbooks take (0 to voicenote_watch_seconds_max, playbooks/vars/versions.yml)."""
    longest_watch = rules.watch_seconds_max()
    if batch_size < 1 or not 0 <= (watch_seconds or 0) <= longest_watch:
        raise InvalidInput(
            f"--batch-size must be at least 1 and --watch from 0 to {longest_watch}.",
            "Fix the number.",
        )


def consent(environment: Environment, action: str, yes: bool, ask: Callable[[str], bool]) -> None:
    """prod, and a lab like prod, ask before changing anything, unless --yes. A "no" is a
    refusal (exit 3: nothing changed); no terminal to ask on is a usage mistake (exit 2)."""
    if yes or not under_prod_rules(environment):
        return
    if not sys.stdin.isatty():
        raise InvalidInput(
            f"{action} on {environment.name} needs confirmation and there is no terminal to ask.",
            "Pass --yes to confirm.",
        )
    if not ask(f"{action} on {environment.name} ({environment.kind.value})?"):
        raise GuardRefused(f"{action} on {environment.name} was not confirmed; nothing changed.")
