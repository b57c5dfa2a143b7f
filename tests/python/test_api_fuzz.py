"""The staff API against its own spec (issue #25): schemathesis generates
requests from `docs/openapi.yaml` and sends them to the local server of
`make api` (examples/serve.rs, seeded, on a fresh emulator), once as
`sales` and once as `billing`. A 5xx, a status the operation does not
document, a response that breaks its schema or content type, or a 405
without `Allow` fails the test. Bounded: a fixed number of examples per
operation and a time budget per role (docs/performance.md gives the cost).

The local server's answer to a request it cannot read (a header that is
not UTF-8) is checked here too: 400 with the error shape, as API Gateway
answers, never a closed connection."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import local_aws

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.yaml"
# Per role: examples per operation and the whole run's budget in seconds.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
MAX_SECONDS = int(os.environ.get("API_FUZZ_SECONDS", "75"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
    ]
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(provisioned_stack, tmp_path_factory):
    """GIVEN the local staff API (`make api`) with its seeded seller, on a
    free loopback port of a fresh emulator."""
    cargo = os.environ.get("CARGO", "cargo")
    subprocess.run(
        [cargo, "build", "--quiet", "--workspace", "--locked", "--example", "serve"],
        cwd=ROOT,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    port = _free_port()
    env = {**os.environ, **local_aws.process_environment(provisioned_stack), "BILLING_API_PORT": str(port)}
    log = tmp_path_factory.mktemp("api") / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(target / "debug" / "examples" / "serve"), "--seed"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "staff API on" not in log.read_text():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.terminate()
        server.wait(timeout=10)


def raw_request(url: str, head: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def test_a_header_that_is_not_utf8_is_answered_400(api):
    url, _ = api
    # WHEN a request carries a header value with a byte that is not UTF-8
    answer = raw_request(
        url,
        b"GET /v1/invoices HTTP/1.1\r\nHost: x\r\nX-Local-Role: sales\r\nX-Note: caf\xe9\r\n\r\n",
    )
    # THEN the server answers 400 with the API's error shape
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    error = json.loads(body)
    assert error["code"] == "invalid_request" and error["errors"][0]["pointer"] == "/header"
    # AND a malformed request line too, and the server keeps serving
    assert raw_request(url, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    ok = raw_request(url, b"GET /v1/invoices HTTP/1.1\r\nX-Local-Role: sales\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200"), ok


@pytest.mark.parametrize("role", ["sales", "billing"])
def test_every_answer_is_documented_and_matches_its_schema(api, role, tmp_path):
    url, log = api
    # WHEN schemathesis sends generated valid and invalid requests as `role`
    report = tmp_path / "junit.xml"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        str(SPEC),
        "--url",
        url,
        "--header",
        f"X-Local-Role: {role}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "25",
        # One worker: with two, hypothesis describes its filters by parsing
        # their source with ast.parse from two threads at once, which
        # CPython 3.11 is not safe for ("SystemError: AST constructor
        # recursion depth mismatch", reported by schemathesis as Runtime
        # Errors while every generated case passed; seen 2026-12-07). With
        # the fixed seed, one worker also makes the run repeatable.
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        "--no-shrink",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    # In a scratch folder: schemathesis keeps its crash cache in the working directory.
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=MAX_SECONDS + 120)
    # THEN no check fails
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:] + log.read_text()[-2000:]
