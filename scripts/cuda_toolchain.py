"""The CUDA toolchain that builds mmcv's CUDA ops: an nvcc of torch's CUDA major version, the GPU
architectures to build, the cached wheel's CUDA tag, and whether the NVIDIA driver can run torch's CUDA.

torch refuses to build an extension with an nvcc of another major version than ``torch.version.cuda``,
so a cluster's CUDA 12 toolkit cannot build for torch's CUDA 13. A CUDA home also needs every CUDA
library header torch's CUDA headers include (cusparse.h, cublas_v2.h, ...; read from torch's headers), which
a toolkit of only the compiler and runtime lacks: such a home is completed with the headers and libraries
of torch's own nvidia-* wheels into one CUDA_HOME of symbolic links. Where no matching nvcc is found
(CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda*, /opt/cuda*), PyPI's CUDA compiler wheels of torch's
CUDA major.minor are installed into the environment and assembled the same way.

Standard library only: ``scripts/setup.sh`` runs it with the environment's Python before the project
is installed, and only where CUDA is wanted (``plan``) or an NVIDIA driver is present (``driver``)::

    python scripts/cuda_toolchain.py plan --assemble-into DIR   # sets CUDA_HOME, TORCH_CUDA_ARCH_LIST, variant
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
# Macros a torch CUDA extension build on Linux leaves undefined: the includes they guard (ROCm's hipSOLVER,
# cuDSS, which torch's wheels build without, Windows headers) are not compiled.
UNDEFINED_MACROS = ("USE_ROCM", "USE_CUDSS", "_WIN32", "_MSC_VER")
INCLUDE_LINE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
CONDITION_LINE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)")


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


def has_header(home: Path, name: str) -> bool:
    """Whether a CUDA home has a header in include/ or in targets/*/include/ (a runfile toolkit's real place)."""
    return (home / "include" / name).exists() or any(home.glob(f"targets/*/include/{name}"))


def has_headers(home: Path) -> bool:
    """The compiler's own runtime headers: without them nvcc cannot compile (completing a home starts here)."""
    return has_header(home, "cuda_runtime.h")


def missing_headers(roots: list[Path], names: list[str]) -> list[str]:
    """The headers none of ``roots`` has."""
    return [name for name in names if not any(has_header(root, name) for root in roots)]


def condition_value(directive: str, expression: str) -> bool | None:
    """Whether a branch is compiled where it hangs on an undefined macro (``#ifdef USE_ROCM``, ``#if
    defined(USE_CUDSS)``, one ``&&`` term of it: False; their negation alone: True); None where it cannot tell."""
    expression = expression.split("//")[0].split("/*")[0].strip()
    if directive in ("ifdef", "ifndef"):
        return (directive == "ifndef") if expression in UNDEFINED_MACROS else None
    if "||" in expression:
        return None
    terms = [term.strip() for term in expression.split("&&")]
    for term in terms:
        match = re.fullmatch(r"(!?)\s*defined\s*\(?\s*(\w+)\s*\)?", term)
        if match and match.group(2) in UNDEFINED_MACROS:
            if not match.group(1):
                return False
            if len(terms) == 1:
                return True
    return None


def included_headers(path: Path) -> list[tuple[str, bool]]:
    """The headers a file includes, each with whether it is in angle brackets, outside the branches that
    hang on an undefined macro."""
    found, frames = [], []  # a frame per open #if: [value of the current branch, a branch taken, one unknown]
    for line in path.read_text(errors="replace").splitlines():
        condition = CONDITION_LINE.match(line)
        if condition:
            directive, expression = condition.groups()
            if directive in ("if", "ifdef", "ifndef"):
                value = condition_value(directive, expression)
                frames.append([value, value is True, value is None])
            elif frames and directive == "endif":
                frames.pop()
            elif frames:
                frame = frames[-1]
                value = True if directive == "else" else condition_value("if", expression)
                if frame[1]:
                    value = False
                elif frame[2] and value is not False:
                    value = None
                frame[:] = [value, frame[1] or value is True, frame[2] or value is None]
            continue
        include = INCLUDE_LINE.match(line)
        if include and all(frame[0] is not False for frame in frames):
            found.append((include.group(2), include.group(1) == "<"))
    return found


def torch_cuda_headers(torch_include: Path, system_dirs: list[Path]) -> list[str]:
    """The CUDA library headers a torch CUDA extension build includes: the ``#include <X.h>`` lines, in the
    headers of ATen's CUDA folders (what extensions include) and all they include, that name a header neither
    torch nor the C++ compiler has. Only lines in folders named cuda count: the others' platform headers
    (arm_neon.h) are for other machines. c10/cuda/driver_api.h (nvml.h) only torch's own sources include."""
    torch_include = torch_include.resolve()
    roots = [torch_include, torch_include / "torch" / "csrc" / "api" / "include"]
    todo = [p.resolve() for folder in ("ATen/cuda", "ATen/native/cuda")
            for p in sorted((torch_include / folder).rglob("*")) if p.suffix in (".h", ".cuh")]
    seen, names = set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        in_cuda_folder = path.is_relative_to(torch_include) and "cuda" in path.relative_to(torch_include).parts[:-1]
        for name, angled in included_headers(path):
            places = [root / name for root in roots] + ([] if angled else [path.parent / name])
            found = next((p for p in places if p.is_file()), None)
            if found is not None:
                todo.append(found.resolve())
            elif (angled and in_cuda_folder and "/" not in name and name.endswith(".h")
                  and not any((d / name).exists() for d in system_dirs)):
                names.add(name)
    return sorted(names)


def compiler_include_dirs(env: dict[str, str]) -> list[Path]:
    """The folders the C++ compiler torch builds with (CXX, else c++) searches by itself: headers there
    (math.h) are not the toolkit's to bring."""
    cxx = env.get("CXX") or "c++"
    try:
        done = subprocess.run([*shlex.split(cxx), "-xc++", "-E", "-v", "-"], input="", capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        raise ToolchainError(f"no C++ compiler ({cxx}) to build mmcv's ops with: install g++ or set CXX") from None
    lines = done.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("#include <...>")), None)
    if start is None:
        raise ToolchainError(f"{cxx} -xc++ -E -v - lists no include folders: is it a GCC- or Clang-like compiler?")
    dirs = []
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        dirs.append(Path(line.split(" (")[0].strip()))
    return dirs


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
    lacks: list[str] = field(default_factory=list)  # headers the home lacks and the wheels bring: complete it


def find_cuda_home(torch_cuda: Version, homes: list[Path], required: list[str] = (),
                   wheels: list[Path] = ()) -> Search:
    """The first home whose nvcc has torch's CUDA major version, with its runtime headers, and with the
    ``required`` headers, or those it lacks in ``wheels`` (torch's nvidia-* wheels) to complete it with."""
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
            lacks = missing_headers([home], list(required))
            unfound = missing_headers(list(wheels), lacks)
            if not unfound:
                search.home, search.release, search.lacks = home, release, lacks
                return search
            search.passed_over.append(f"{nvcc}: {home} lacks {', '.join(unfound)}, which the nvidia wheels "
                                      "in this environment do not have either")
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


def part_dir(root: Path, part: str) -> Path | None:
    """A toolkit's folder for ``part``: include and lib may live only in targets/<arch>/, lib as lib64."""
    names = ("lib", "lib64") if part == "lib" else (part,)
    places = [root / name for name in names]
    if part in ("include", "lib"):
        places += sorted(root.glob(f"targets/*/{part}"))
    return next((p for p in places if p.is_dir()), None)


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
    """One CUDA home of links into ``roots`` (the first root's file wins), laid out as a toolkit: bin/ and
    nvvm/ side by side, lib64 beside lib, and the unversioned ``libcudart.so`` (and others) a link step asks for."""
    if dest.exists():
        if not (dest / ASSEMBLED_MARK).exists():
            raise ToolchainError(f"{dest} exists and was not assembled by the set-up; remove it or choose another")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for root in roots:
        for part in HOME_PARTS:
            source = part_dir(root, part)
            if source is not None:
                (dest / part).mkdir(exist_ok=True)
                link_tree(source, dest / part)
    lib = dest / "lib"
    if lib.is_dir():
        (dest / "lib64").symlink_to("lib")
        for versioned in sorted(lib.glob("lib*.so.*")):
            unversioned = lib / (versioned.name.split(".so.")[0] + ".so")
            if not os.path.lexists(unversioned):
                unversioned.symlink_to(versioned.name)
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


def completion_line(home: Path, release: Version, lacks: list[str], wheels: list[Path], dest: Path) -> str:
    """Which parts of a completed CUDA home came from where, in one line."""
    sources = {}
    for name in lacks:
        root = next(root for root in wheels if has_header(root, name))
        sources.setdefault(root, []).append(name)
    taken = "; ".join(f"{', '.join(names)} from {root}" for root, names in sources.items())
    return (f"{home} has nvcc {version_text(release)} but not every header torch's CUDA headers include: "
            f"assembled {dest} of links, nvcc, the runtime and the rest from {home}, {taken} (torch's wheels, "
            "their libraries too)")


def wheels_line(wheels: list[Path], dest: Path) -> str:
    """Which wheels an assembled CUDA home came from, in one line."""
    nvcc = next((root for root in wheels if (root / "bin" / "nvcc").is_file()), None)
    return (f"assembled {dest} of links: nvcc from {nvcc}, headers and libraries from "
            f"{', '.join(str(root) for root in wheels)}")


def choose_cuda_home(torch_cuda: Version, homes: list[Path], required: list[str], site: Path, dest: Path,
                     install=install_compiler_wheels) -> tuple[Path, Version]:
    """The CUDA home to build with and its nvcc's release: one found, one found and completed with torch's
    wheels in ``dest``, or one assembled in ``dest`` from the compiler wheels ``install`` installs into ``site``."""
    search = find_cuda_home(torch_cuda, homes, required, wheel_roots(site))
    for note in search.passed_over:
        say(f"passed over: {note}")
    if search.home is not None and not search.lacks:
        return search.home, search.release
    if search.home is not None:
        wheels = wheel_roots(site)
        home = assemble_cuda_home([search.home, *wheels], dest)
        say(completion_line(search.home, search.release, search.lacks, wheels, dest))
        return home, search.release
    requirements = wheel_requirements(torch_cuda)
    say(f"no nvcc for CUDA {torch_cuda[0]}.x found (CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda*, /opt/cuda*): "
        f"installing {' '.join(requirements)}")
    install(requirements)
    wheels = wheel_roots(site)
    home = assemble_cuda_home(wheels, dest)
    release = nvcc_release(home / "bin" / "nvcc")
    if release is None or release[0] != torch_cuda[0]:
        raise ToolchainError(f"the assembled {home}/bin/nvcc does not report CUDA {torch_cuda[0]}.x")
    lacks = missing_headers([home], required)
    if lacks:
        raise ToolchainError(f"the CUDA home assembled from wheels in {home} lacks {', '.join(lacks)}, which "
                             "torch's CUDA headers include: install a full CUDA toolkit and set CUDA_HOME")
    say(wheels_line(wheels, dest))
    return home, release


def cmd_plan(args: argparse.Namespace) -> int:
    import torch

    torch_cuda = parse_version(torch.version.cuda)
    if torch_cuda is None:
        raise ToolchainError(f"torch {torch.__version__} is a CPU-only build; for the CUDA ops install a CUDA "
                             "build (O2F_TORCH_INDEX_URL, README, GPU set-up)")
    capabilities = [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())] \
        if torch.cuda.is_available() else []
    arches = arch_list(dict(os.environ), capabilities)
    required = torch_cuda_headers(Path(torch.__file__).parent / "include", compiler_include_dirs(dict(os.environ)))
    home, release = choose_cuda_home(torch_cuda, candidate_homes(dict(os.environ)), required,
                                     Path(sysconfig.get_paths()["platlib"]), Path(args.assemble_into))
    say(f"CUDA {version_text(release)} at {home}; building for TORCH_CUDA_ARCH_LIST={arches}")
    for name, value in (("CUDA_HOME", str(home)), ("TORCH_CUDA_ARCH_LIST", arches),
                        ("variant", variant_tag(torch_cuda, arches))):
        print(f"{name}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="find or assemble the CUDA home; print shell assignments")
    plan.add_argument("--assemble-into", required=True,
                      help="where to assemble a CUDA home of links (a found one completed, or the compiler wheels)")
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
