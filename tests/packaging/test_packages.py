"""What `make package` built is what the template deploys, and runs on
Lambda's OS (provided.al2023: x86_64 by default, glibc 2.34)."""

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import package
import pytest


def test_every_function_of_the_template_is_packaged(packaged):
    # GIVEN the template's functions WHEN packaged THEN each has its zip
    assert [(f.logical_id, f.binary) for f in packaged] == [
        (f.logical_id, f.binary) for f in package.template_functions()
    ]
    for function in packaged:
        assert Path(function.zip).is_file(), function.binary


def test_each_zip_holds_exactly_the_checked_bootstrap_executable(packaged):
    for function in packaged:
        with zipfile.ZipFile(function.zip) as archive:
            (entry,) = archive.infolist()
            assert entry.filename == "bootstrap", function.binary
            assert stat.S_IMODE(entry.external_attr >> 16) == 0o755, function.binary
            assert archive.read(entry) == Path(function.bootstrap).read_bytes(), function.binary


def test_each_bootstrap_needs_only_what_provided_al2023_ships(packaged):
    # THEN no glibc symbol newer than 2.34, no library beyond glibc and
    # libgcc, and the machine of the template's default architecture
    architecture = package.default_architecture()
    problems = {
        f.binary: package.lambda_os_problems(Path(f.bootstrap), architecture) for f in packaged
    }
    assert {name: p for name, p in problems.items() if p} == {}


# Small C programs, linked with the pinned Zig that `make package` links
# with, each against what one check must refuse (or accept).
FIXTURE_SOURCES = {
    "plain.c": "int main(void) { return 0; }\n",
    # arc4random came with glibc 2.36 (Debian 12's), after Lambda's 2.34
    "newer_glibc.c": "#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n",
    "ledger.c": "int ledger_balance(void) { return 42; }\n",
    "foreign_library.c": "int ledger_balance(void);\nint main(void) { return ledger_balance() != 42; }\n",
}


@pytest.fixture(scope="session")
def elf_fixtures(tmp_path_factory):
    """GIVEN binaries that differ from a Lambda package in one way each."""
    out = tmp_path_factory.mktemp("elf")
    for name, text in FIXTURE_SOURCES.items():
        (out / name).write_text(text)

    def cc(target, *args):
        subprocess.run(
            [sys.executable, "-m", "ziglang", "cc", "-target", target, *args],
            cwd=out,
            check=True,
            capture_output=True,
        )

    cc("x86_64-linux-gnu.2.34", "plain.c", "-o", "plain")
    cc("x86_64-linux-gnu.2.36", "newer_glibc.c", "-o", "newer_glibc")
    cc("x86_64-linux-gnu.2.34", "-shared", "ledger.c", "-o", "libledger.so")
    cc("x86_64-linux-gnu.2.34", "foreign_library.c", "-L.", "-lledger", "-o", "foreign_library")
    cc("aarch64-linux-gnu.2.34", "plain.c", "-o", "plain_arm64")
    return out


def test_the_os_check_accepts_a_binary_linked_as_the_packages_are(elf_fixtures):
    assert package.lambda_os_problems(elf_fixtures / "plain", "x86_64") == []
    assert package.lambda_os_problems(elf_fixtures / "plain_arm64", "arm64") == []


def test_the_os_check_names_glibc_symbols_newer_than_lambdas(elf_fixtures):
    problems = package.lambda_os_problems(elf_fixtures / "newer_glibc", "x86_64")
    assert problems == ["needs glibc symbols newer than 2.34: GLIBC_2.36"]


def test_the_os_check_names_a_library_lambdas_os_does_not_ship(elf_fixtures):
    problems = package.lambda_os_problems(elf_fixtures / "foreign_library", "x86_64")
    assert problems == ["needs libraries provided.al2023 does not ship: libledger.so"]


def test_the_os_check_refuses_the_other_architecture(elf_fixtures):
    assert package.lambda_os_problems(elf_fixtures / "plain_arm64", "x86_64") == [
        "built for EM_AARCH64, the template deploys x86_64"
    ]
    assert package.lambda_os_problems(elf_fixtures / "plain", "arm64") == [
        "built for EM_X86_64, the template deploys arm64"
    ]


def test_check_os_exits_non_zero_naming_the_binary_it_refuses(elf_fixtures):
    # WHEN the operator's command checks a good and a bad binary
    result = subprocess.run(
        [
            sys.executable,
            str(package.ROOT / "tools" / "package.py"),
            "check-os",
            str(elf_fixtures / "plain"),
            str(elf_fixtures / "newer_glibc"),
        ],
        capture_output=True,
        text=True,
    )
    # THEN it fails and names the refused one with the reason
    assert result.returncode == 1, result.stdout + result.stderr
    refused = [line for line in result.stdout.splitlines() if "newer than 2.34" in line]
    assert len(refused) == 1 and "newer_glibc" in refused[0], result.stdout
