"""The map of the house holds: the import contracts in pyproject.toml pass on the code as it is, and
fail the build as soon as an upward import is added."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("aifinops", "portfolio", "intake", "showback", "council")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(where / "pyproject.toml"), "--no-cache"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    """A copy of the project's packages and its contracts, to change without touching the tree."""
    where = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, where / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def test_the_contracts_hold_on_the_code_as_it_is(house):
    result = _lint(house)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("portfolio/models.py", "from showback import models as _upward"),
        ("aifinops/core/audit.py", "import portfolio.models as _upward"),
        ("showback/models.py", "from council import models as _upward"),
        ("intake/models.py", "from showback import models as _upward"),
        ("showback/margins/selectors.py", "from showback.budgets import selectors as _upward"),
    ],
)
def test_an_upward_import_breaks_the_build(house, module, upward):
    path = house / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{upward}  # noqa\n")
        result = _lint(house)
    finally:
        path.write_text(original)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout.upper()
