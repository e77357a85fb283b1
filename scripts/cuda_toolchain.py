"""The CUDA toolchain that builds mmcv's CUDA ops: an nvcc of torch's CUDA major version, the GPU
architectures to build, the cached wheel's CUDA tag, and whether the NVIDIA driver can run torch's CUDA.

torch refuses to build an extension with an nvcc of another major version than ``torch.version.cuda``,
so a cluster's CUDA 12 toolkit cannot build for torch's CUDA 13. Where no matching nvcc is found
(CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda*, /opt/cuda*), PyPI's CUDA compiler wheels of torch's
CUDA major.minor are installed into the environment and assembled, with the CUDA libraries torch
installed, into one CUDA_HOME of symbolic links.

Standard library only: ``scripts/setup.sh`` runs it with the environment's Python before the project
is installed, and only where CUDA is wanted (``plan``) or an NVIDIA driver is present (``driver``)::

    python scripts/cuda_toolchain.py plan --assemble-into DIR   # shell assignments: CUDA_HOME, TORCH_CUDA_ARCH_LIST, variant
    python scripts/cuda_toolchain.py driver                     # one line, exit 1, when the driver is too old
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

Version = tuple[int, int]
SEARCH_GLOBS = ("/usr/local/cuda", "/usr/local/cuda-*", "/opt/cuda", "/opt/cuda-*")
# The directories of a CUDA home a build reads; nvcc finds cicc in ../nvvm/bin relative to itself.
HOME_PARTS = ("bin", "include", "lib", "nvvm")
ASSEMBLED_MARK = ".o2f-assembled"


class ToolchainError(Exception):
    """A problem the set-up reports in one line."""


def parse_version(text: str | None) -> Version | None:
    """``13.0`` -> (13, 0); also the ``release 13.0`` of ``nvcc --version`` and nvidia-smi's ``CUDA Version: 12.4``."""
    if not text:
        return None
    match = re.search(r"(?:release|CUDA Version:?)\s*(\d+)\.(\d+)", text) or re.match(r"\s*(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def nvcc_release(nvcc: Path) -> Version | None:
    """The CUDA release an nvcc reports, or None if it does not run."""
    try:
        out = subprocess.run([str(nvcc), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(out)


def has_headers(home: Path) -> bool:
    return (home / "include" / "cuda_runtime.h").exists() or any(home.glob("targets/*/include/cuda_runtime.h"))


def candidate_homes(env: dict[str, str], globs: tuple[str, ...] = SEARCH_GLOBS) -> list[Path]:
    """CUDA homes to try, in order: CUDA_HOME, CUDA_PATH, the home of each nvcc on PATH, the usual places."""
    homes = [Path(env[name]) for name in ("CUDA_HOME", "CUDA_PATH") if env.get(name)]
    for entry in env.get("PATH", "").split(os.pathsep):
        nvcc = Path(entry or ".") / "nvcc"
        if nvcc.is_file():
            homes.append(nvcc.resolve().parent.parent)
    for pattern in globs:
        parent, _, name = pattern.rpartition("/")
        homes.extend(sorted(Path(parent).glob(name), reverse=True))  # cuda-13.1 before cuda-13.0
    unique, seen = [], set()
    for home in homes:
        key = os.path.realpath(home)
        if key not in seen:
            seen.add(key)
            unique.append(home)
    return unique


@dataclass
class Search:
    """The outcome of looking for an nvcc: the matching CUDA home, if any, and what was passed over."""

    home: Path | None = None
    release: Version | None = None
    passed_over: list[str] = field(default_factory=list)


def find_cuda_home(torch_cuda: Version, homes: list[Path]) -> Search:
    """The first home whose nvcc has torch's CUDA major version and whose headers are there."""
    search = Search()
    for home in homes:
        nvcc = home / "bin" / "nvcc"
        if not nvcc.is_file():
            continue
        release = nvcc_release(nvcc)
        if release is None:
            search.passed_over.append(f"{nvcc} does not run")
        elif release[0] != torch_cuda[0]:
            search.passed_over.append(f"{nvcc} is CUDA {version_text(release)}, torch needs {torch_cuda[0]}.x")
        elif not has_headers(home):
            search.passed_over.append(f"{nvcc}: {home} has no include/cuda_runtime.h")
        else:
            search.home, search.release = home, release
            return search
    return search


def wheel_requirements(torch_cuda: Version) -> list[str]:
    """PyPI's CUDA compiler wheels for torch's CUDA major.minor (CUDA 12's carry a ``-cu12`` suffix, and
    its nvcc wheel holds nvvm and the crt headers that CUDA 13 ships separately)."""
    major, minor = torch_cuda
    pin = f"=={major}.{minor}.*"
    if major >= 13:
        names = ["nvidia-cuda-nvcc", "nvidia-cuda-cccl", "nvidia-cuda-crt", "nvidia-nvvm", "nvidia-cuda-runtime"]
    elif major == 12:
        names = ["nvidia-cuda-nvcc-cu12", "nvidia-cuda-cccl-cu12", "nvidia-cuda-runtime-cu12"]
    else:
        raise ToolchainError(f"torch is built for CUDA {version_text(torch_cuda)}, for which PyPI has no "
                             "compiler wheels; install a CUDA toolkit of that version and set CUDA_HOME")
    return [name + pin for name in names]


def wheel_roots(site_packages: Path) -> list[Path]:
    """The folders the NVIDIA wheels installed into (``nvidia/cu13`` for CUDA 13; one per package before)."""
    base = site_packages / "nvidia"
    if not base.is_dir():
        return []
    return [d for d in sorted(base.iterdir()) if d.is_dir() and any((d / part).is_dir() for part in HOME_PARTS)]


def link_tree(source: Path, dest: Path) -> None:
    """Merge ``source`` into ``dest`` with symbolic links: a folder only one source has is one link, a folder
    several have becomes a real folder of links; the first source of a file wins."""
    for entry in sorted(source.iterdir()):
        target = dest / entry.name
        if not os.path.lexists(target):
            target.symlink_to(entry)
        elif entry.is_dir() and target.is_dir():
            if target.is_symlink():  # a second source has this folder too: make it a real one
                first = Path(os.readlink(target))
                target.unlink()
                target.mkdir()
                link_tree(first, target)
            link_tree(entry, target)


def assemble_cuda_home(roots: list[Path], dest: Path) -> Path:
    """One CUDA home of links into ``roots``, laid out as a toolkit: bin/ and nvvm/ side by side, lib64
    beside lib, and the unversioned ``libcudart.so`` a link step asks for."""
    if dest.exists():
        if not (dest / ASSEMBLED_MARK).exists():
            raise ToolchainError(f"{dest} exists and was not assembled by the set-up; remove it or choose another")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for root in roots:
        for part in HOME_PARTS:
            if (root / part).is_dir():
                (dest / part).mkdir(exist_ok=True)
                link_tree(root / part, dest / part)
    lib = dest / "lib"
    if lib.is_dir():
        (dest / "lib64").symlink_to("lib")
        for versioned in sorted(lib.glob("libcudart.so.*")):
            if not os.path.lexists(lib / "libcudart.so"):
                (lib / "libcudart.so").symlink_to(versioned.name)
    (dest / ASSEMBLED_MARK).write_text("\n".join(str(r) for r in roots) + "\n")
    return dest


def arch_list(env: dict[str, str], capabilities: list[Version]) -> str:
    """TORCH_CUDA_ARCH_LIST where set (a cluster with several GPU kinds, or a build without a GPU), else
    the visible GPUs' compute capabilities."""
    if env.get("TORCH_CUDA_ARCH_LIST", "").strip():
        return env["TORCH_CUDA_ARCH_LIST"].strip()
    if not capabilities:
        raise ToolchainError("no GPU is visible to name the architectures to build: set TORCH_CUDA_ARCH_LIST, "
                             "e.g. TORCH_CUDA_ARCH_LIST=9.0 for H100/H200 or '8.0;9.0' for A100 and H100")
    return ";".join(version_text(c) for c in sorted(set(capabilities)))


def variant_tag(torch_cuda: Version, arches: str) -> str:
    """The cached wheel's CUDA part: ``cu130-sm80-sm90`` (``+ptx`` where PTX is embedded too)."""
    parts = []
    for arch in re.split(r"[;,\s]+", arches.strip()):
        match = re.fullmatch(r"(\d+)\.(\d+)([a-z]?)(\+PTX)?", arch, re.IGNORECASE)
        if match:
            parts.append(f"sm{match.group(1)}{match.group(2)}{match.group(3).lower()}"
                         + ("+ptx" if match.group(4) else ""))
        elif arch:
            parts.append(re.sub(r"[^a-z0-9+]", "", arch.lower()))
    return "-".join([f"cu{torch_cuda[0]}{torch_cuda[1]}", *parts])


def driver_version_from_int(value: int) -> Version | None:
    """cudaDriverGetVersion's integer (12040) as (12, 4); 0 means no driver."""
    return (value // 1000, (value % 1000) // 10) if value > 0 else None


def driver_message(torch_version: str, torch_cuda: Version, driver_cuda: Version | None) -> str | None:
    """One line when the driver's CUDA major version is older than torch's (a driver runs any minor
    version of its own major and older majors: CUDA's minor-version compatibility)."""
    if driver_cuda is None or driver_cuda[0] >= torch_cuda[0]:
        return None
    example = "cu126" if driver_cuda[0] == 12 else f"cu{driver_cuda[0]}{driver_cuda[1]}"
    return (f"the NVIDIA driver here supports CUDA {version_text(driver_cuda)}, older than the CUDA "
            f"{version_text(torch_cuda)} torch {torch_version} is built for, so torch sees no GPU: update the "
            f"driver, or set up a fresh environment with torch built for CUDA {driver_cuda[0]}, e.g. "
            f"O2F_TORCH_INDEX_URL=https://download.pytorch.org/whl/{example} bash scripts/setup.sh "
            "(README, GPU set-up)")


def nvidia_smi_driver_cuda() -> Version | None:
    try:
        out = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(re.search(r"CUDA Version:\s*\S+", out).group(0)) if "CUDA Version" in out else None


def torch_driver_cuda(torch) -> Version | None:
    """The driver's CUDA version as torch's runtime reads it (also when the driver is too old for it)."""
    try:
        return driver_version_from_int(int(torch._C._cuda_getDriverVersion()))
    except (AttributeError, RuntimeError):
        return None


def say(line: str) -> None:
    print(f"[setup] {line}", file=sys.stderr)


def driver_problem(torch) -> str | None:
    """The driver-too-old line for this torch, if torch sees no GPU because of it."""
    torch_cuda = parse_version(torch.version.cuda)
    if torch_cuda is None or torch.cuda.is_available():
        return None
    return driver_message(torch.__version__, torch_cuda, torch_driver_cuda(torch) or nvidia_smi_driver_cuda())


def cmd_driver(_: argparse.Namespace) -> int:
    import torch

    message = driver_problem(torch)
    if message:
        say(message)
        return 1
    return 0


def install_compiler_wheels(requirements: list[str]) -> None:
    """pip-installs the compiler wheels into this environment (pip's output goes to stderr)."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", *requirements]
    if subprocess.run(command, stdout=sys.stderr).returncode:
        raise ToolchainError(f"could not install {' '.join(requirements)} (no network? bring the wheels "
                             "and install them with pip --no-index --find-links DIR)")


def cmd_plan(args: argparse.Namespace) -> int:
    import torch

    torch_cuda = parse_version(torch.version.cuda)
    if torch_cuda is None:
        raise ToolchainError(f"torch {torch.__version__} is a CPU-only build; for the CUDA ops install a CUDA "
                             "build (O2F_TORCH_INDEX_URL, README, GPU set-up)")
    capabilities = [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())] \
        if torch.cuda.is_available() else []
    arches = arch_list(dict(os.environ), capabilities)
    search = find_cuda_home(torch_cuda, candidate_homes(dict(os.environ)))
    for note in search.passed_over:
        say(f"passed over: {note}")
    home = search.home
    if home is None:
        requirements = wheel_requirements(torch_cuda)
        say(f"no nvcc for CUDA {torch_cuda[0]}.x found (CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda*, /opt/cuda*): "
            f"installing {' '.join(requirements)}")
        install_compiler_wheels(requirements)
        home = assemble_cuda_home(wheel_roots(Path(sysconfig.get_paths()["platlib"])), Path(args.assemble_into))
        release = nvcc_release(home / "bin" / "nvcc")
        if release is None or release[0] != torch_cuda[0]:
            raise ToolchainError(f"the assembled {home}/bin/nvcc does not report CUDA {torch_cuda[0]}.x")
        search.release = release
    say(f"CUDA {version_text(search.release)} at {home}; building for TORCH_CUDA_ARCH_LIST={arches}")
    for name, value in (("CUDA_HOME", str(home)), ("TORCH_CUDA_ARCH_LIST", arches),
                        ("variant", variant_tag(torch_cuda, arches))):
        print(f"{name}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="find or assemble the CUDA home; print shell assignments")
    plan.add_argument("--assemble-into", required=True, help="where to assemble a CUDA home from wheels")
    plan.set_defaults(run=cmd_plan)
    commands.add_parser("driver", help="one line, exit 1, when the driver is too old for torch").set_defaults(
        run=cmd_driver)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ToolchainError as err:
        say(str(err))
        return 1


if __name__ == "__main__":
    sys.exit(main())
