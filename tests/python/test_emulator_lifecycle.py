"""No emulator outlives `local_aws.py run`: not after success, not after a
failing command, not after an interrupt, not even if the wrapper is killed."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "local_aws.py"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; only its parent could reap it.
    status = Path(f"/proc/{pid}/status")
    if status.exists() and "State:\tZ" in status.read_text():
        return False
    return True


def _wait_until(predicate, what: str, limit: float = 20.0) -> None:
    """Bounded wait for something to happen (not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


def _start(tmp_path: Path, command: list[str]) -> subprocess.Popen:
    env = {**os.environ, "LOCAL_AWS_STATE_DIR": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, str(TOOL), "run", "--quiet", "--", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _emulator_pid(tmp_path: Path) -> int:
    _wait_until(lambda: (tmp_path / "ready").exists(), "the command to start")
    return json.loads((tmp_path / "stack.json").read_text())["pid"]


def _command_that_waits(tmp_path: Path, exit_code: int = 0) -> list[str]:
    ready = tmp_path / "ready"
    return ["sh", "-c", f"touch {ready}; sleep 0.2; exit {exit_code}"]


def test_a_passing_command_leaves_no_emulator(tmp_path):
    wrapper = _start(tmp_path, _command_that_waits(tmp_path, 0))
    pid = _emulator_pid(tmp_path)
    assert wrapper.wait(timeout=60) == 0
    assert not _alive(pid)


def test_a_failing_command_keeps_its_exit_code_and_leaves_no_emulator(tmp_path):
    wrapper = _start(tmp_path, _command_that_waits(tmp_path, 3))
    pid = _emulator_pid(tmp_path)
    assert wrapper.wait(timeout=60) == 3
    assert not _alive(pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_run_leaves_no_emulator(tmp_path, sig):
    wrapper = _start(tmp_path, ["sh", "-c", f"touch {tmp_path / 'ready'}; sleep 60"])
    pid = _emulator_pid(tmp_path)
    assert _alive(pid)
    wrapper.send_signal(sig)
    assert wrapper.wait(timeout=60) == 130
    assert not _alive(pid)


def test_a_killed_wrapper_takes_the_emulator_with_it(tmp_path):
    group_file = tmp_path / "command-group"
    wrapper = _start(
        tmp_path, ["sh", "-c", f"echo $$ > {group_file}; touch {tmp_path / 'ready'}; sleep 60"]
    )
    pid = _emulator_pid(tmp_path)
    try:
        os.killpg(wrapper.pid, signal.SIGKILL)
        wrapper.wait(timeout=60)
        _wait_until(lambda: not _alive(pid), "the orphaned emulator to stop")
    finally:
        # The command's own children are the test's to clean up: nothing can
        # run in a SIGKILLed wrapper.
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(group_file.read_text()), signal.SIGKILL)
