"""What `make package` built is what the template deploys, and runs on
Lambda's OS (provided.al2023: x86_64 by default, glibc 2.34)."""

import stat
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


def test_the_os_check_refuses_binaries_built_for_this_machine():
    # GIVEN binaries of this machine (Debian 12, glibc 2.36), not built for
    # Lambda: this interpreter and bash
    import sys

    candidates = [Path(sys.executable).resolve(), Path("/bin/bash").resolve()]
    newer = [c for c in candidates if package.elf_needs(c).newest_glibc > package.LAMBDA_GLIBC]
    if not newer:
        pytest.skip("no binary on this machine needs a glibc newer than 2.34")
    # THEN the check names the newer glibc versions
    for binary in newer:
        problems = package.lambda_os_problems(binary, "x86_64")
        assert any("newer than 2.34" in p for p in problems), (binary, problems)
    # AND a library Lambda's OS does not ship (the interpreter links libz
    # or libexpat; the check names what is foreign), and the wrong machine
    interpreter = package.lambda_os_problems(candidates[0], "arm64")
    assert any("built for EM_X86_64" in p for p in interpreter), interpreter
    foreign = set(package.elf_needs(candidates[0]).libraries) - package.LAMBDA_LIBRARIES
    if foreign:
        assert any("does not ship" in p for p in interpreter), interpreter
