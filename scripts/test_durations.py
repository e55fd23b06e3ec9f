"""Write tests/durations.json from a run's JUnit report: the seconds each unit of work took
(tests/scheduling.py), which the test command's workers take longest first.

    bash scripts/test.sh --junitxml=/tmp/report.xml
    .venv/bin/python scripts/test_durations.py /tmp/report.xml

Units shorter than a second are left out (the scheduler's estimate for them is as good).
"""

import json
import sys
import xml.etree.ElementTree as ET  # nosec B405 - our own pytest run's report
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.scheduling import DURATIONS, unit_of  # noqa: E402


def nodeid(case: ET.Element) -> str:
    """pytest's node id of a JUnit test case (classname: dotted path, then classes)."""
    parts = case.get("classname", "").split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (PROJECT / path).is_file():
            return "::".join([path, *parts[cut:], case.get("name", "")])
    raise SystemExit(f"No test file for {case.get('classname')}: run this from the project.")


def main(report: str) -> None:
    seconds: dict[str, float] = {}
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 # nosec B314 - our own report
        if not case.get("classname"):
            continue  # an error outside any test (an interrupted run's last words)
        unit = unit_of(nodeid(case))
        seconds[unit] = seconds.get(unit, 0.0) + float(case.get("time", 0))
    table = {unit: round(took) for unit, took in sorted(seconds.items()) if took >= 1}
    DURATIONS.write_text(json.dumps(table, indent=1) + "\n")
    print(f"{DURATIONS.relative_to(PROJECT)}: {len(table)} units, {sum(table.values())} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
