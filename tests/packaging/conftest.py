"""The packaged functions of `make package` (run after it, by `make test-package`)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import package  # noqa: E402


@pytest.fixture(scope="session")
def packaged():
    """GIVEN every function as `make package` built and zipped it."""
    if not package.manifest_path().is_file():
        pytest.fail(f"{package.manifest_path()} is missing: run `make package` first")
    return package.read_manifest()
