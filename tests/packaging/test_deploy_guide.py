"""The README's deploy commands, run exactly as written (all but `sam
deploy`, which needs an AWS account), and what `sam build` leaves for
`sam deploy` to upload: the very bootstraps `make package` built and the
other checks of `make test-package` examined."""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- deploy-commands: run as written by tests/packaging/test_deploy_guide.py -->"


def deploy_commands() -> list[str]:
    """The command lines of the README's marked deploy block, comments removed."""
    readme = (ROOT / "README.md").read_text()
    after = readme.split(MARKER, 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.S).group(1)
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_deploy_block_builds_validates_and_packages_as_written(packaged, tmp_path):
    # GIVEN the README's commands, from the repository root like a fresh clone
    commands = deploy_commands()
    run = [c for c in commands if not c.startswith("sam deploy")]
    assert any(c.startswith("sam deploy") for c in commands), commands
    assert {"make package", "sam validate --lint", "sam build"} <= set(run), run
    # WHEN run in one shell, in order, stopping at the first failure
    # (fake credentials and a region: nothing here may reach AWS)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    script = "set -euo pipefail\n" + "\n".join(run) + "\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    # THEN every command succeeds
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    # AND sam build left for each function exactly the bootstrap that was checked
    build_dir = ROOT / "infra" / ".aws-sam" / "build"
    for function in packaged:
        built = build_dir / function.logical_id / "bootstrap"
        assert built.is_file(), f"sam build made no {built}"
        assert built.read_bytes() == Path(function.bootstrap).read_bytes(), function.binary
    assert {p.name for p in build_dir.iterdir() if p.is_dir()} == {f.logical_id for f in packaged}

