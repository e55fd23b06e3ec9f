"""The Python code passes ruff (lint and format) as configured in pyproject.toml, checked with
the make targets CI's lint job runs."""

import pytest

from tests.conftest import run_make

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("target", ["lint-python", "format-check"])
def test_make_target(target):
    result = run_make(target)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
