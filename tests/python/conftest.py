"""Shared fixtures: a fresh emulator per test module, provisioned from the template."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import local_aws  # noqa: E402


@pytest.fixture(scope="module")
def provisioned_stack(tmp_path_factory):
    """GIVEN an emulator on loopback provisioned from infra/template.yaml."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with local_aws.emulator(log) as endpoint:
        yield local_aws.provision(endpoint)


@pytest.fixture(scope="module")
def template():
    return local_aws.load_template()


@pytest.fixture(scope="module")
def client(provisioned_stack):
    def make(service):
        return local_aws._client(service, provisioned_stack.endpoint)

    return make


def _run_example(package, example, out):
    """Runs a workspace crate's example that writes its samples to `out`."""
    cargo = os.environ.get("CARGO", "cargo")
    subprocess.run(
        [cargo, "run", "--quiet", "-p", package, "--example", example, "--", str(out)],
        cwd=ROOT,
        check=True,
    )
    return out


@pytest.fixture(scope="session")
def documents(tmp_path_factory):
    """GIVEN every sample document billing-documents renders (PDF, XML,
    XRechnung, expected facts), rendered once for the whole session."""
    given = os.environ.get("INVOICE_DOCUMENTS_DIR")
    if given:
        return Path(given)
    return _run_example("billing-documents", "render_samples", tmp_path_factory.mktemp("documents"))


@pytest.fixture(scope="session")
def collection_files(tmp_path_factory):
    """GIVEN the sample SEPA collection files billing-sepa writes (pain.008),
    written once for the whole session."""
    out = _run_example("billing-sepa", "collection_samples", tmp_path_factory.mktemp("collections"))
    return sorted(out.glob("*.xml"))
