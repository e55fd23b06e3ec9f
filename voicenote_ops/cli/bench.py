"""`voicenote-ops bench`: measure provision, deploy, no-op, rollback and scaling on labs of its
own, against a stock-settings baseline in the same run; print the figures and write them to
docs/BENCHMARKS.md."""

import shutil
import signal
import tempfile
from pathlib import Path

import typer

from voicenote_ops.bench import report, scenarios
from voicenote_ops.bench import settings as bench_settings
from voicenote_ops.cli.output import console, err_console, print_json, table
from voicenote_ops.errors import InvalidInput
from voicenote_ops.lab.service import check_lab_name
from voicenote_ops.paths import project_dir

app = typer.Typer()

ONLY_HELP = f"Only this benchmark (repeatable): {', '.join(scenarios.SCENARIOS)}."
AGAINST_HELP = (
    "Also run deploy, no-op and rollback with the playbooks, roles and ansible.cfg of this git "
    "ref of the project (e.g. 7593c6d, main before docs/fast-paths.md), alternating; each row "
    "then shows the tuned settings' ratio over it too."
)
PREAMBLE = "# Benchmarks\n\nWritten by `voicenote-ops bench` (make bench).\n"


def _say(line: str) -> None:
    err_console.print(f"bench: {line}", markup=False, highlight=False)


def _interrupt(_signal: int, _frame: object) -> None:
    # A terminated benchmark removes its labs like an interrupted one (scenarios.run's finally).
    raise KeyboardInterrupt


def _check_writable(path: Path) -> None:
    """A regular file to replace, or a new one in an existing folder."""
    if not path.name or path.name == "..":
        raise InvalidInput(f"--output {str(path)!r} names no file.", "Name a Markdown file.")
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise InvalidInput(f"{path} exists and is not a regular file.", "Name a Markdown file.")
    if not path.parent.is_dir():
        raise InvalidInput(f"{path.parent} is not a folder.", "Name a file in an existing folder.")


@app.command("bench")
def bench(
    only: list[str] = typer.Option(None, "--only", help=ONLY_HELP),
    runs: int = typer.Option(3, "--runs", help="Runs of each figure (1 to 20)."),
    slow_runs: int = typer.Option(
        None, "--slow-runs", help="Runs of provision and scaling (default: --runs)."
    ),
    app_hosts: list[int] = typer.Option(
        None, "--app-hosts", help="Scaling: only these app host counts (1, 2, 4, 8)."
    ),
    mitogen: bool = typer.Option(
        True, "--mitogen/--no-mitogen", help="Also measure mitogen, when it is installed."
    ),
    output: Path = typer.Option(
        None,
        "--output",
        help="The Markdown file to write (default docs/BENCHMARKS.md; figures also in .json).",
    ),
    lab_prefix: str = typer.Option(
        scenarios.LAB_PREFIX, "--lab-prefix", help="Its labs are PREFIX-prod and PREFIX-scale."
    ),
    render: bool = typer.Option(
        False, "--render", help="Measure nothing: write the Markdown again from its .json."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
    against: str = typer.Option(None, "--against", help=AGAINST_HELP),
) -> None:
    """Measure what operators feel, each figure against stock Ansible settings in the same run.

    Makes its own labs (bench-prod, bench-scale) and removes them at the end."""
    plan = scenarios.plan(only, runs, slow_runs, app_hosts)
    for suffix in ("prod", "scale"):
        check_lab_name(f"{lab_prefix}-{suffix}")
    target = output or project_dir() / "docs" / "BENCHMARKS.md"
    # Both files are written at the end: refuse what could not be before measuring.
    _check_writable(target)
    _check_writable(target.with_suffix(".json"))
    figures = target.with_suffix(".json")
    earlier = report.read_figures(figures)
    if render:
        if not earlier:
            missing = "holds no figures" if figures.exists() else "does not exist"
            raise InvalidInput(f"{figures} {missing}.", "Run the benchmark first.")
        report.write_markdown(target, report.markdown(earlier), PREAMBLE)
        console.print(f"written to {target}")
        return
    about = report.machine()
    workdir = Path(tempfile.mkdtemp(prefix="voicenote-bench-"))
    signal.signal(signal.SIGTERM, _interrupt)
    results = report.Results()
    runs_said = f"{plan.runs}" + (
        f" ({plan.slow_runs} for provision and scaling)" if plan.slow_runs != plan.runs else ""
    )

    def write() -> None:
        entries = report.merge(target.with_suffix(".json"), results, about, runs_said)
        report.write_markdown(target, report.markdown(entries), PREAMBLE)

    try:
        compared = bench_settings.prepare(
            project_dir(), workdir, with_mitogen=mitogen, against=against
        )
        _say("settings compared: " + ", ".join(s.variant.value for s in compared))
        bench_run = scenarios.Bench(
            compared, results, scenarios.Releases(workdir / "dist"), _say, lab_prefix, write
        )
        scenarios.run(plan, bench_run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write()
    if json_output:
        print_json({"machine": about, "runs": runs_said, "figures": results.to_json(),
                    "targets": [vars(t) for t in report.targets(results)]})  # fmt: skip
        return
    columns, rows = report.main_table(results)
    table(f"benchmark ({runs_said} runs; median (min-max) s)", columns, rows)
    columns, rows = report.cpu_table(results)
    table("CPU and memory", columns, rows)
    for goal in report.targets(results):
        verdict = {True: "met", False: "not met", None: "-"}[goal.met]
        console.print(f"target: {goal.what}: {goal.figure} ({verdict})")
    console.print(f"written to {target}")
