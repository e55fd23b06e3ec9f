"""`voicenote-ops bench` on real lab hosts: the no-op benchmark, once, against stock settings and
against the playbooks of a git ref (HEAD's own tree), prints well-formed figures and writes them
to the Markdown file it is given (no figure is judged: timings are for people)."""

import json
import re

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.labs import labelled

pytestmark = pytest.mark.performance

FIGURE = re.compile(r"^\d+\.\d$")


def test_the_noop_benchmark_prints_and_writes_its_figures(tmp_path):
    prefix = lab_name("bench")
    document = tmp_path / "BENCHMARKS.md"
    result = run_cli(
        "bench", "--only", "noop", "--runs", "1", "--no-mitogen", "--lab-prefix", prefix,
        "--output", str(document), "--against", "HEAD", "--json", timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    noop = report["figures"]["noop"]
    assert set(noop) == {"tuned", "stock", "ref"}
    for setting in noop.values():
        for metric in ("wall", "controller_cpu", "hosts_cpu", "app_host_cpu", "peak_mb"):
            figure = setting[metric]
            assert len(figure["samples"]) == 1
            assert 0 < figure["min"] <= figure["median"] <= figure["max"]
    assert report["machine"]["ansible-core"].startswith("2.19")
    text = document.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| no-op redeploy"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    # tuned, ref, stock; then tuned vs stock, ref vs stock, tuned vs ref.
    assert all(FIGURE.match(cell) for cell in cells[1:4]), row
    assert all(re.match(r"^\d+\.\d\dx$", cell) for cell in cells[4:7]), row
    # The benchmark removed its labs.
    assert labelled("container", f"{prefix}-prod") == []
