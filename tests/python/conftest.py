"""Shared fixtures: a fresh emulator per test module, provisioned from the template."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

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
