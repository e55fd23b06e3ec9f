"""`voicenote-ops ci resolve`: the one mapping from a pushed ref to an environment and version."""

import json
import subprocess

import pytest
import typer
from typer.testing import CliRunner

from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.cli import ci as ci_cli
from voicenote_ops.errors import ExitCode, InvalidInput, OpsError
from voicenote_ops.services import ci

pytestmark = pytest.mark.unit

LAST = ci.Release(1, 4, 2)


def resolve(ref: str, run_number: int | None = 57) -> ci.Resolution:
    return ci.resolve_ref(ref, run_number, lambda: LAST)


def run(*args: str):
    """`voicenote-ops ci ARGS` with the exit code main() gives an OpsError."""
    app = typer.Typer()
    app.add_typer(ci_cli.app, name="ci")
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["ci", *args])
    error = result.exception
    code = error.code if isinstance(error, OpsError) else result.exit_code
    return code, result.output, error


@pytest.mark.parametrize(
    ("ref", "environment", "version"),
    [
        ("refs/heads/develop", "dev", "1.4.3-rc.57"),
        ("refs/heads/staging", "staging", "1.4.3-rc.57"),
        ("refs/tags/v1.2.3", "prod", "1.2.3"),
        ("refs/tags/v0.0.0", "prod", "0.0.0"),
        ("refs/tags/v10.20.300", "prod", "10.20.300"),
    ],
)
def test_deploying_refs(ref, environment, version):
    resolution = resolve(ref)
    assert (resolution.environment, resolution.version) == (environment, version)
    # Whatever is resolved must be a version `voicenote-ops build` accepts.
    assert check_release_version(resolution.version) == version


@pytest.mark.parametrize(
    ("ref", "phrase"),
    [
        ("refs/heads/main", "tag a release vX.Y.Z"),
        ("refs/heads/feature/notes-api-fixes", "only develop (dev) and staging"),
        ("refs/heads/hotfix/critical-bug", "only develop (dev) and staging"),
        ("refs/heads/Develop", "does not deploy"),
        ("refs/heads/develop/x", "does not deploy"),
        ("refs/pull/12/merge", "neither refs/heads/BRANCH nor refs/tags/TAG"),
        ("develop", "neither refs/heads/BRANCH nor refs/tags/TAG"),
        ("refs/tags/v1.2.3-rc.1", "Pre-release tag"),
        ("refs/tags/v1.0", "not a release tag"),
        ("refs/tags/v01.2.3", "not a release tag"),
        ("refs/tags/1.2.3", "not a release tag"),
        ("refs/tags/v1.0.1-revert", "not a release tag"),
        ("refs/tags/v1.2.3+build.4", "not a release tag"),
        ("refs/tags/v1.2.3\n", "not a release tag"),
        ("refs/tags/v1.\u0662.3", "not a release tag"),
        ("refs/tags/v1.2.3;id", "not a release tag"),
        ("refs/heads/develop;id", "does not deploy"),
        ("$(id)", "neither"),
        ("`reboot`", "neither"),
        ("refs/heads/develop\nenvironment=prod", "does not deploy"),
        ("", "empty"),
        ("refs/tags/v" + "1" * 300 + ".0.0", "longer than 255"),
    ],
)
def test_other_refs_deploy_nothing_and_say_why(ref, phrase):
    resolution = resolve(ref)
    assert resolution.environment is None
    assert resolution.version is None
    assert phrase in resolution.reason


def test_hostile_refs_are_shown_escaped_and_short():
    reason = resolve("refs/heads/" + "x\n" * 100).reason
    assert "\n" not in reason
    assert len(reason) < 200


def test_the_release_is_only_looked_up_when_a_branch_deploys():
    def no_lookup() -> ci.Release:
        raise AssertionError("looked up the last release")

    assert ci.resolve_ref("refs/tags/v2.0.0", None, no_lookup).environment == "prod"
    assert ci.resolve_ref("refs/heads/main", None, no_lookup).environment is None


def test_a_deploying_branch_needs_the_run_number():
    with pytest.raises(InvalidInput) as refused:
        resolve("refs/heads/develop", run_number=None)
    assert "Pass --run-number" in refused.value.render()


@pytest.mark.parametrize(
    ("tags", "newest"),
    [
        ([], ci.NO_RELEASE_YET),
        (["v1.9.0", "v1.10.0", "v1.2.0"], ci.Release(1, 10, 0)),
        (["v2.0.0-rc.1", "v1.0.0", "v3", "nightly", "v01.0.0"], ci.Release(1, 0, 0)),
    ],
)
def test_newest_release_compares_numbers_not_text(tags, newest):
    assert ci.newest_release(tags) == newest


def test_builds_count_up_across_releases():
    """Every dev build sorts after the release it follows and before the next one."""
    after_release = ci.resolve_ref("refs/heads/develop", 3, lambda: ci.Release(1, 0, 9)).version
    assert after_release == "1.0.10-rc.3"
    assert ci.resolve_ref("refs/heads/develop", 1, lambda: ci.NO_RELEASE_YET).version == (
        "0.0.1-rc.1"
    )


def test_outputs_for_github_are_three_lines_even_for_hostile_refs():
    for ref in ("refs/tags/v1.2.3", "refs/heads/x\nenvironment=prod", ""):
        lines = ci.github_outputs(resolve(ref)).splitlines()
        assert [line.split("=", 1)[0] for line in lines] == ["environment", "version", "runtime"]
    assert ci.github_outputs(resolve("refs/heads/main")) == "environment=\nversion=\nruntime=\n"


def test_cli_json_has_environment_and_version():
    code, output, _ = run(
        "resolve", "--ref", "refs/heads/staging", "--run-number", "8", "--last-release", "2.1.0"
    )
    assert code == 0
    assert output.startswith("staging 2.1.1-rc.8: ")
    code, output, _ = run("resolve", "--ref", "refs/tags/v1.0", "--json")
    assert code == 0
    document = json.loads(output)
    assert document["environment"] is None
    assert document["version"] is None
    assert "not a release tag" in document["reason"]


def test_cli_appends_github_outputs(tmp_path):
    outputs = tmp_path / "github_output"
    outputs.write_text("earlier=step\n")
    code, _, _ = run("resolve", "--ref", "refs/tags/v3.0.1", "--github-output", str(outputs))
    assert code == 0
    assert outputs.read_text() == (
        "earlier=step\nenvironment=prod\nversion=3.0.1\nruntime=bundle\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("resolve",),
        ("resolve", "--ref", "refs/heads/develop", "--run-number", "0"),
        ("resolve", "--ref", "refs/heads/develop", "--run-number", "seven"),
        ("resolve", "--ref", "refs/heads/develop"),
        ("resolve", "--ref", "refs/tags/v1.0.0", "--last-release", "1.0"),
    ],
)
def test_malformed_usage_is_invalid_input(args):
    code, _, error = run(*args)
    assert code == ExitCode.INVALID
    assert error is None or isinstance(error, (InvalidInput, SystemExit))


def test_the_newest_release_comes_from_the_checkout_tags(tmp_path, monkeypatch):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-q",
        "--allow-empty", "-m", "start")  # fmt: skip
    for tag in ("v1.1.0", "v1.10.0", "v2.0.0-rc.1"):
        git("tag", tag)
    assert ci.newest_release(ci.git_tags(tmp_path)) == ci.Release(1, 10, 0)
    with pytest.raises(InvalidInput) as refused:
        ci.git_tags(tmp_path / "not-a-checkout")
    assert "pass --last-release X.Y.Z" in refused.value.render()


def test_the_runtime_comes_from_the_environment_s_inventory(tmp_path):
    from voicenote_ops.services import requests

    shared = tmp_path / "group_vars" / "all"
    shared.mkdir(parents=True)
    assert requests.runtime(tmp_path) == "bundle"
    (shared / "main.yml").write_text("voicenote_runtime: image\n")
    assert requests.runtime(tmp_path) == "image"
    (shared / "zz.yml").write_text("voicenote_runtime: docker\n")
    with pytest.raises(InvalidInput, match="voicenote_runtime"):
        requests.runtime(tmp_path)
    code, output, _ = run("resolve", "--ref", "refs/tags/v1.0.0", "--json")
    assert code == 0 and json.loads(output)["runtime"] == "bundle"
