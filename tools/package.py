#!/usr/bin/env python3
"""Package every function of infra/template.yaml for Lambda, once.

`make package` runs `build`: one `cargo lambda build --release` over the
binaries of all `AWS::Serverless::Function` resources of the template (one
target directory, so the dependencies are compiled once and every function
gets the same features), then zips each `bootstrap` the way `sam package` /
`sam deploy` zips a built function, writes `target/lambda/manifest.json`
(what the checks and the cold-start bench read) and prints the size table.

The target (x86_64, glibc 2.34 of `provided.al2023`) is not set here but in
the workspace's `[workspace.metadata.lambda.build]`, which cargo-lambda
reads however it is started: by this script or by `sam build`, whose
`rust-cargolambda` build method runs `cargo lambda build --release --bin
NAME` per function in the same target directory and so finds these
artifacts up to date. What is checked is therefore what is deployed.

Usage:
  package.py build        build, zip, write the manifest, print the table
  package.py table        print the table of what is built
  package.py functions    print the template's functions (logical id, binary)
  package.py check-os [--architecture A] [BOOTSTRAP...]
                          check the packaged bootstraps (or these) against
                          provided.al2023 on the template's (or that) architecture
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_aws import load_template, resources_of_type  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
# Budgets of the zip each function uploads (issue 14), in MB: every
# function 10; invoice-pdf embeds its fonts and templates and may use 15.
DEFAULT_ZIP_BUDGET_MB = 10
ZIP_BUDGET_MB = {"invoice-pdf": 15}
BUILD_METHOD = "rust-cargolambda"


@dataclass
class EventSource:
    """How a function is invoked, as far as a simple test event needs it."""

    type: str
    method: str | None = None
    path: str | None = None


@dataclass
class Function:
    """One function of the template and where its package is."""

    logical_id: str
    binary: str
    events: list[EventSource] = field(default_factory=list)
    bootstrap: str = ""
    zip: str = ""
    zipped_bytes: int = 0
    unzipped_bytes: int = 0
    zip_budget_mb: int = DEFAULT_ZIP_BUDGET_MB


def target_dir() -> Path:
    """Cargo's target directory, as cargo and `sam build` resolve it."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return Path(configured).resolve() if configured else ROOT / "target"


def lambda_dir() -> Path:
    """Where cargo-lambda puts `<binary>/bootstrap`."""
    return target_dir() / "lambda"


def manifest_path() -> Path:
    return lambda_dir() / "manifest.json"


def template_functions(template: dict | None = None) -> list[Function]:
    """Every function of the template, in template order; refuses one that
    `sam build` would not build with cargo-lambda from this workspace."""
    template = template or load_template()
    functions = []
    for logical_id, res in resources_of_type(template, "AWS::Serverless::Function").items():
        metadata = res.get("Metadata", {})
        if metadata.get("BuildMethod") != BUILD_METHOD:
            raise ValueError(f"{logical_id}: Metadata.BuildMethod must be {BUILD_METHOD}")
        binary = metadata.get("BuildProperties", {}).get("Binary")
        if not binary:
            raise ValueError(f"{logical_id}: Metadata.BuildProperties.Binary names no binary")
        events = [
            EventSource(
                type=event.get("Type", ""),
                method=event.get("Properties", {}).get("Method"),
                path=event.get("Properties", {}).get("Path"),
            )
            for event in res.get("Properties", {}).get("Events", {}).values()
        ]
        functions.append(
            Function(
                logical_id=logical_id,
                binary=binary,
                events=events,
                zip_budget_mb=ZIP_BUDGET_MB.get(binary, DEFAULT_ZIP_BUDGET_MB),
            )
        )
    return functions


def cargo_lambda_build(binaries: list[str]) -> None:
    """One release build of all `binaries` (cargo-lambda and Zig from PATH)."""
    command = ["cargo", "lambda", "build", "--release", "--locked"]
    for binary in binaries:
        command += ["--bin", binary]
    print("+ " + " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def zip_like_sam(bootstrap: Path, destination: Path) -> None:
    """The zip `sam package` makes of a built function directory: one
    deflated `bootstrap`, Unix mode 0755, no timestamp (1980)."""
    info = zipfile.ZipInfo("bootstrap")
    info.create_system = 3
    info.external_attr = 0o100755 << 16
    tmp = destination.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, bootstrap.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(destination)


def package(functions: list[Function]) -> list[Function]:
    """Zip every built bootstrap and record sizes."""
    for function in functions:
        bootstrap = lambda_dir() / function.binary / "bootstrap"
        if not bootstrap.is_file():
            raise FileNotFoundError(f"{function.logical_id}: {bootstrap} was not built")
        archive = bootstrap.with_name("bootstrap.zip")
        zip_like_sam(bootstrap, archive)
        function.bootstrap = str(bootstrap)
        function.zip = str(archive)
        function.unzipped_bytes = bootstrap.stat().st_size
        function.zipped_bytes = archive.stat().st_size
    return functions


def write_manifest(functions: list[Function]) -> None:
    data = {"functions": [asdict(f) for f in functions]}
    manifest_path().write_text(json.dumps(data, indent=2) + "\n")


def read_manifest() -> list[Function]:
    """The functions of the last `build`, with their packages."""
    data = json.loads(manifest_path().read_text())
    functions = []
    for entry in data["functions"]:
        entry["events"] = [EventSource(**e) for e in entry["events"]]
        functions.append(Function(**entry))
    return functions


def table(functions: list[Function]) -> str:
    lines = [
        "| function | zipped | unzipped | zip budget |",
        "| --- | --- | --- | --- |",
    ]
    for f in functions:
        within = "met" if f.zipped_bytes <= f.zip_budget_mb * MB else "OVER"
        lines.append(
            f"| {f.binary} | {f.zipped_bytes / MB:.1f} MB | {f.unzipped_bytes / MB:.1f} MB "
            f"| {f.zip_budget_mb} MB: {within} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------- Lambda's OS

# provided.al2023 is Amazon Linux 2023's minimal image: glibc 2.34 and
# libgcc, and nothing else a binary may link to (no OpenSSL, zlib or
# libstdc++ is promised). These are the shared objects of those two
# packages that a Rust program can need: glibc's libc, libm, the libraries
# merged into libc since 2.34 but still linkable by name (libpthread,
# libdl, librt, libutil), libresolv, the dynamic loaders, and libgcc_s for
# unwinding.
LAMBDA_GLIBC = (2, 34)
LAMBDA_LIBRARIES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libgcc_s.so.1",
    }
)
# ELF machine of each template architecture.
ELF_MACHINES = {"x86_64": "EM_X86_64", "arm64": "EM_AARCH64"}


@dataclass
class ElfNeeds:
    """What a binary asks of the system it runs on."""

    machine: str
    libraries: list[str]
    glibc_versions: list[tuple[int, ...]]

    @property
    def newest_glibc(self) -> tuple[int, ...]:
        return max(self.glibc_versions, default=(0,))


def elf_needs(path: Path) -> ElfNeeds:
    """The NEEDED libraries and GLIBC_x.y symbol versions of an ELF file."""
    from elftools.elf.dynamic import DynamicSection  # the venv has pyelftools
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    libraries: list[str] = []
    versions: set[tuple[int, ...]] = set()
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                libraries += [tag.needed for tag in section.iter_tags() if tag.entry.d_tag == "DT_NEEDED"]
            if isinstance(section, GNUVerNeedSection):
                for _, auxiliaries in section.iter_versions():
                    for aux in auxiliaries:
                        name = aux.name
                        if name.startswith("GLIBC_") and name[6:].replace(".", "").isdigit():
                            versions.add(tuple(int(p) for p in name[6:].split(".")))
        machine = elf.header["e_machine"]
    return ElfNeeds(machine=machine, libraries=sorted(set(libraries)), glibc_versions=sorted(versions))


def lambda_os_problems(path: Path, architecture: str) -> list[str]:
    """Why `path` would not start on provided.al2023 (empty: it would)."""
    needs = elf_needs(path)
    problems = []
    if needs.machine != ELF_MACHINES[architecture]:
        problems.append(f"built for {needs.machine}, the template deploys {architecture}")
    foreign = sorted(set(needs.libraries) - LAMBDA_LIBRARIES)
    if foreign:
        problems.append(f"needs libraries provided.al2023 does not ship: {', '.join(foreign)}")
    if needs.newest_glibc > LAMBDA_GLIBC:
        newer = [".".join(map(str, v)) for v in needs.glibc_versions if v > LAMBDA_GLIBC]
        problems.append(f"needs glibc symbols newer than 2.34: GLIBC_{', GLIBC_'.join(newer)}")
    return problems


def default_architecture(template: dict | None = None) -> str:
    """The architecture a default deploy of the template runs on."""
    template = template or load_template()
    return str(template["Parameters"]["Architecture"]["Default"])


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "build":
        functions = template_functions()
        cargo_lambda_build([f.binary for f in functions])
        package(functions)
        write_manifest(functions)
        print(table(functions))
        return 0
    if command == "table":
        print(table(read_manifest()))
        return 0
    if command == "check-os":
        rest = argv[1:]
        architecture = default_architecture()
        if rest[:1] == ["--architecture"] and len(rest) >= 2:
            architecture, rest = rest[1], rest[2:]
        paths = [Path(p) for p in rest] or [Path(f.bootstrap) for f in read_manifest()]
        failed = False
        for path in paths:
            if not path.is_file():
                print(f"{path}: missing")
                failed = True
                continue
            problems = lambda_os_problems(path, architecture)
            needs = elf_needs(path)
            print(
                f"{path}: {needs.machine}, glibc {'.'.join(map(str, needs.newest_glibc))}, "
                f"{' '.join(needs.libraries)}" + (f"; {'; '.join(problems)}" if problems else "")
            )
            failed |= bool(problems)
        return 1 if failed else 0
    if command == "functions":
        for f in template_functions():
            print(f"{f.logical_id} {f.binary}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
