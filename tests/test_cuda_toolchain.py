"""scripts/cuda_toolchain.py: which nvcc the CUDA build uses, which headers torch's CUDA headers need of
it, how a toolkit lacking some is completed from torch's wheels, what it installs when none fits, the
architectures and cache tag of the build, and the driver-too-old line, on fake toolkits and a fake torch."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("cuda_toolchain", ROOT / "scripts" / "cuda_toolchain.py")
toolchain = importlib.util.module_from_spec(spec)
sys.modules["cuda_toolchain"] = toolchain  # dataclasses look their module up while the file runs
spec.loader.exec_module(toolchain)


def write_nvcc(bin_dir: Path, release: str | None) -> Path:
    """An ``nvcc`` script printing what ``nvcc --version`` prints for ``release`` (None: it fails)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    nvcc = bin_dir / "nvcc"
    body = (f'echo "nvcc: NVIDIA (R) Cuda compiler driver"\necho "Cuda compilation tools, release {release}, '
            f'V{release}.88"' if release else "exit 1")
    nvcc.write_text(f"#!/bin/sh\n{body}\n")
    nvcc.chmod(0o755)
    return nvcc


# The layouts' headers: a compiler + runtime toolkit (this machine's /usr/local/cuda) has RUNTIME only;
# torch's wheels (nvidia/cu13) bring the math libraries' LIBRARY headers; REQUIRED is what a fake torch needs.
RUNTIME = ("cuda.h", "cuda_runtime.h", "cuda_runtime_api.h", "cuda_fp16.h")
LIBRARY = ("cublasLt.h", "cublas_v2.h", "curand.h", "cusolverDn.h", "cusparse.h")
REQUIRED = sorted(RUNTIME + LIBRARY)


def write_headers(include: Path, names) -> None:
    include.mkdir(parents=True, exist_ok=True)
    for name in names:
        (include / name).write_text(f"// {include}\n")


def fake_toolkit(path: Path, release: str | None, headers=RUNTIME + LIBRARY) -> Path:
    """A CUDA home with an nvcc of ``release`` and ``headers`` (the default: a full toolkit's)."""
    write_nvcc(path / "bin", release)
    if headers:
        write_headers(path / "include", headers)
        (path / "lib").mkdir()
        (path / "lib" / "libcudart.so.13").write_text("")
        (path / "nvvm" / "bin").mkdir(parents=True)
    return path


def fake_wheels(site: Path, headers=LIBRARY, nvcc: str | None = None) -> Path:
    """torch's CUDA 13 wheels in ``site``: nvidia/cu13 with ``headers`` and their libraries; nvcc and the
    runtime headers too where the compiler wheels are installed (``nvcc``)."""
    cu13 = site / "nvidia" / "cu13"
    write_headers(cu13 / "include", headers)
    (cu13 / "lib").mkdir(parents=True, exist_ok=True)
    for lib in ("libcublas.so.13", "libcusparse.so.12", "libcudart.so.13"):
        (cu13 / "lib" / lib).write_text("")
    if nvcc:
        write_nvcc(cu13 / "bin", nvcc)
        write_headers(cu13 / "include", RUNTIME)
        (cu13 / "nvvm" / "bin").mkdir(parents=True, exist_ok=True)
    return cu13


@pytest.mark.parametrize("text, expected", [
    ("nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 13.0, V13.0.88", (13, 0)),
    ("| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |", (12, 4)),
    ("12.6", (12, 6)),
    ("", None),
    (None, None),
])
def test_parse_version(text, expected):
    assert toolchain.parse_version(text) == expected


def test_cuda_home_set_to_another_major_is_passed_over_for_one_on_path(tmp_path):
    old = fake_toolkit(tmp_path / "cuda-12.4", "12.4")
    new = fake_toolkit(tmp_path / "cuda-13.0", "13.0")
    env = {"CUDA_HOME": str(old), "PATH": f"/nonexistent{os.pathsep}{new / 'bin'}"}
    homes = toolchain.candidate_homes(env, globs=())
    assert homes == [old, new.resolve()]
    search = toolchain.find_cuda_home((13, 0), homes)
    assert search.home == new.resolve() and search.release == (13, 0)
    assert search.passed_over == [f"{old / 'bin' / 'nvcc'} is CUDA 12.4, torch needs 13.x"]


def test_usual_locations_newest_first_and_minor_version_may_differ(tmp_path):
    fake_toolkit(tmp_path / "cuda-12.8", "12.8")
    fake_toolkit(tmp_path / "cuda-13.0", "13.0")
    newer = fake_toolkit(tmp_path / "cuda-13.1", "13.1")
    homes = toolchain.candidate_homes({"PATH": ""}, globs=(f"{tmp_path}/cuda-*",))
    assert homes[0] == newer
    search = toolchain.find_cuda_home((13, 0), homes)
    assert search.home == newer and search.release == (13, 1) and search.passed_over == []


def test_broken_nvcc_and_headerless_home_are_passed_over(tmp_path):
    broken = fake_toolkit(tmp_path / "broken", None)
    bare = fake_toolkit(tmp_path / "bare", "13.0", headers=())
    search = toolchain.find_cuda_home((13, 0), [broken, bare, tmp_path / "no-nvcc-here"])
    assert search.home is None
    assert search.passed_over == [f"{broken / 'bin' / 'nvcc'} does not run",
                                  f"{bare / 'bin' / 'nvcc'}: {bare} has no include/cuda_runtime.h"]


def test_none_found_plans_the_compiler_wheels_of_torchs_cuda(tmp_path):
    homes = [fake_toolkit(tmp_path / "cuda-12.4", "12.4")]
    assert toolchain.find_cuda_home((13, 0), homes).home is None
    assert toolchain.wheel_requirements((13, 0)) == [
        "nvidia-cuda-nvcc==13.0.*", "nvidia-cuda-cccl==13.0.*", "nvidia-cuda-crt==13.0.*",
        "nvidia-nvvm==13.0.*", "nvidia-cuda-runtime==13.0.*"]
    assert toolchain.wheel_requirements((12, 6)) == [
        "nvidia-cuda-nvcc-cu12==12.6.*", "nvidia-cuda-cccl-cu12==12.6.*", "nvidia-cuda-runtime-cu12==12.6.*"]
    with pytest.raises(toolchain.ToolchainError, match="CUDA 11.8"):
        toolchain.wheel_requirements((11, 8))


def test_assembled_home_from_per_package_wheels(tmp_path):
    """CUDA 12's wheels: one folder per package; nvcc must find nvvm/ beside bin/."""
    site = tmp_path / "site-packages"
    nvcc_pkg = site / "nvidia" / "cuda_nvcc"
    write_nvcc(nvcc_pkg / "bin", "12.6")
    (nvcc_pkg / "nvvm" / "bin").mkdir(parents=True)
    (nvcc_pkg / "nvvm" / "bin" / "cicc").write_text("")
    (nvcc_pkg / "include").mkdir()
    (nvcc_pkg / "include" / "crt").mkdir()
    runtime = site / "nvidia" / "cuda_runtime"
    (runtime / "include").mkdir(parents=True)
    (runtime / "include" / "cuda_runtime.h").write_text("runtime")
    (runtime / "lib").mkdir()
    (runtime / "lib" / "libcudart.so.12").write_text("")
    (site / "nvidia" / "cublas" / "include").mkdir(parents=True)
    (site / "nvidia" / "cublas" / "include" / "cublas_v2.h").write_text("")
    (site / "nvidia" / "not_a_toolkit_part").mkdir()
    roots = toolchain.wheel_roots(site)
    assert [r.name for r in roots] == ["cublas", "cuda_nvcc", "cuda_runtime"]

    home = toolchain.assemble_cuda_home(roots, tmp_path / "cuda")
    assert (home / "bin" / "nvcc").resolve() == (nvcc_pkg / "bin" / "nvcc").resolve()
    assert (home / "nvvm" / "bin" / "cicc").exists() and (home / "nvvm").parent == (home / "bin").parent
    assert {p.name for p in (home / "include").iterdir()} == {"cublas_v2.h", "crt", "cuda_runtime.h"}
    assert (home / "lib64" / "libcudart.so").resolve() == (runtime / "lib" / "libcudart.so.12").resolve()
    assert toolchain.has_headers(home)
    assert toolchain.find_cuda_home((12, 6), [home]).home == home
    # assembled again over its earlier self; a folder it did not make is refused
    assert toolchain.assemble_cuda_home(roots, home) == home
    (tmp_path / "mine").mkdir()
    with pytest.raises(toolchain.ToolchainError, match="not assembled by the set-up"):
        toolchain.assemble_cuda_home(roots, tmp_path / "mine")


def test_assembled_home_merges_a_folder_two_wheels_share(tmp_path):
    """CUDA 13's wheels all install into nvidia/cu13; cuDNN's folder beside it shares include/ and lib/."""
    site = tmp_path / "site-packages"
    cu13 = site / "nvidia" / "cu13"
    write_nvcc(cu13 / "bin", "13.0")
    (cu13 / "include" / "cccl").mkdir(parents=True)
    (cu13 / "include" / "cuda_runtime.h").write_text("")
    (site / "nvidia" / "cudnn" / "include" / "cccl").mkdir(parents=True)
    (site / "nvidia" / "cudnn" / "include" / "cccl" / "extra.h").write_text("")
    (site / "nvidia" / "cudnn" / "include" / "cudnn.h").write_text("")
    home = toolchain.assemble_cuda_home(toolchain.wheel_roots(site), tmp_path / "cuda")
    cccl = home / "include" / "cccl"
    assert cccl.is_dir() and not cccl.is_symlink() and [p.name for p in cccl.iterdir()] == ["extra.h"]
    assert (home / "include" / "cudnn.h").exists() and toolchain.nvcc_release(home / "bin" / "nvcc") == (13, 0)


def write_torch_include(include: Path) -> Path:
    """A fake torch/include: ATen's CUDA headers including CUDA library headers the way torch's do."""
    files = {
        "ATen/cuda/CUDAContextLight.h": """#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>
#include <cusparse.h>   // sparse
#if defined(USE_CUDSS)
#include <cudss.h>
#endif
#if defined(USE_ROCM) && ROCM_VERSION >= 60000
#include <hipsolver.h>
#else
#include <cusolverDn.h>
#endif
#ifndef USE_ROCM
#include <cublasLt.h>
#endif
#ifdef CUDART_VERSION
#include <cublas_v2.h>
#endif
#include <c10/cuda/CUDAFunctions.h>
#include "Local.h"
#include <math.h>
""",
        "ATen/cuda/Local.h": "#include <cuda_fp16.h>\n",
        "ATen/native/cuda/Randperm.cuh": "#include <curand.h>\n#include <ATen/cuda/CUDAContextLight.h>\n",
        "c10/cuda/CUDAFunctions.h": "#include <cuda_runtime.h>\n#include <c10/util/Half.h>\n",
        "c10/cuda/driver_api.h": "#include <nvml.h>\n",  # only torch's own sources include it
        "c10/util/Half.h": "#if defined(__aarch64__)\n#include <arm_neon.h>\n#endif\n#include <cuda.h>\n",
    }
    for name, text in files.items():
        (include / name).parent.mkdir(parents=True, exist_ok=True)
        (include / name).write_text(text)
    return include


def test_headers_a_torch_cuda_build_needs_are_read_from_torchs_headers(tmp_path):
    """What ATen's CUDA headers include, followed through torch's headers, less the compiler's own (math.h),
    the branches for ROCm and cuDSS, and folders not named cuda (c10/util's cuda.h, arm_neon.h)."""
    include = write_torch_include(tmp_path / "torch" / "include")
    system = tmp_path / "usr-include"
    write_headers(system, ["math.h"])
    assert toolchain.torch_cuda_headers(include, [system]) == [
        "cublasLt.h", "cublas_v2.h", "cuda_fp16.h", "cuda_runtime.h", "cuda_runtime_api.h", "curand.h",
        "cusolverDn.h", "cusparse.h"]
    assert "math.h" in toolchain.torch_cuda_headers(include, [])


def test_installed_torchs_cuda_headers_need_the_math_libraries():
    """The list for the torch installed here: the math libraries' headers a compiler + runtime toolkit lacks."""
    import torch

    include = Path(torch.__file__).parent / "include"
    if not (include / "ATen" / "cuda" / "CUDAContextLight.h").exists():
        pytest.skip("torch here ships no CUDA headers")
    needed = toolchain.torch_cuda_headers(include, toolchain.compiler_include_dirs(dict(os.environ)))
    assert {"cuda_runtime.h", "cusparse.h", "cublas_v2.h", "cublasLt.h", "cusolverDn.h", "curand.h"} <= set(needed)
    assert not {"cudss.h", "nvml.h", "math.h", "cxxabi.h", "arm_neon.h"} & set(needed)


def test_compiler_include_dirs_from_its_verbose_output(tmp_path):
    cxx = tmp_path / "fake c++"
    cxx.write_text('#!/bin/sh\ncat >&2 <<EOF\nignoring nonexistent directory "/nowhere"\n'
                   '#include "..." search starts here:\n#include <...> search starts here:\n /usr/include/c++/12\n'
                   ' /usr/include\n /Library/Frameworks (framework directory)\nEnd of search list.\nEOF\n')
    cxx.chmod(0o755)
    assert toolchain.compiler_include_dirs({"CXX": f"'{cxx}'"}) == [
        Path("/usr/include/c++/12"), Path("/usr/include"), Path("/Library/Frameworks")]
    with pytest.raises(toolchain.ToolchainError, match="no C\\+\\+ compiler"):
        toolchain.compiler_include_dirs({"CXX": str(tmp_path / "no-such-c++")})
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\nexit 1\n")
    silent.chmod(0o755)
    with pytest.raises(toolchain.ToolchainError, match="lists no include folders"):
        toolchain.compiler_include_dirs({"CXX": str(silent)})


def choose(tmp_path, homes):
    """choose_cuda_home on fake toolkits and torch's fake wheels; installing the compiler wheels adds nvcc
    13.0 and the runtime headers to nvidia/cu13. Returns the home, its release and what was installed."""
    site = tmp_path / "site-packages"
    fake_wheels(site)
    installed = []

    def install(requirements):
        installed.extend(requirements)
        fake_wheels(site, nvcc="13.0")

    home, release = toolchain.choose_cuda_home((13, 0), homes, REQUIRED, site, tmp_path / "venv" / "cuda", install)
    return home, release, installed


@pytest.mark.parametrize("layout", ["full", "compiler+runtime", "none", "other-major"])
def test_each_toolkit_layout_gives_a_home_with_every_header(tmp_path, capsys, layout):
    """A full toolkit is used as it is; a compiler + runtime one is completed with torch's wheels; with none,
    or one of CUDA 12, the compiler wheels are installed and the home is assembled from wheels only."""
    toolkit = {"full": lambda: [fake_toolkit(tmp_path / "cuda-13.0", "13.0")],
               "compiler+runtime": lambda: [fake_toolkit(tmp_path / "cuda-13.0", "13.0", headers=RUNTIME)],
               "none": lambda: [],
               "other-major": lambda: [fake_toolkit(tmp_path / "cuda-12.4", "12.4")]}[layout]()
    home, release, installed = choose(tmp_path, toolkit)
    said = capsys.readouterr().err.splitlines()
    assert release == (13, 0) and toolchain.missing_headers([home], REQUIRED) == []
    dest, cu13 = tmp_path / "venv" / "cuda", tmp_path / "site-packages" / "nvidia" / "cu13"
    if layout == "full":
        assert home == toolkit[0] and installed == [] and said == [] and not dest.exists()
    elif layout == "compiler+runtime":
        assert home == dest and installed == []
        assert (home / "bin" / "nvcc").resolve() == (toolkit[0] / "bin" / "nvcc").resolve()
        assert (home / "include" / "cuda_runtime.h").resolve().parent == toolkit[0] / "include"
        assert (home / "include" / "cusparse.h").resolve().parent == cu13 / "include"
        assert said == [f"[setup] {toolkit[0]} has nvcc 13.0 but not every header torch's CUDA headers include: "
                        f"assembled {dest} of links, nvcc, the runtime and the rest from {toolkit[0]}, cublasLt.h, "
                        f"cublas_v2.h, curand.h, cusolverDn.h, cusparse.h from {cu13} (torch's wheels, their "
                        "libraries too)"]
    else:
        assert home == dest and installed == toolchain.wheel_requirements((13, 0))
        assert (home / "bin" / "nvcc").resolve() == (cu13 / "bin" / "nvcc").resolve()
        passed = [f"[setup] passed over: {toolkit[0] / 'bin' / 'nvcc'} is CUDA 12.4, torch needs 13.x"] \
            if toolkit else []
        assert said == passed + [
            "[setup] no nvcc for CUDA 13.x found (CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda*, /opt/cuda*): "
            f"installing {' '.join(installed)}",
            f"[setup] assembled {dest} of links: nvcc from {cu13}, headers and libraries from {cu13}"]


def test_completed_home_is_links_assembled_again_idempotently(tmp_path):
    toolkit = fake_toolkit(tmp_path / "cuda-13.0", "13.0", headers=RUNTIME)
    home, _, _ = choose(tmp_path, [toolkit])
    cu13 = tmp_path / "site-packages" / "nvidia" / "cu13"
    links = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_symlink())
    files = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink()]
    assert files == [home / toolchain.ASSEMBLED_MARK]  # links only, nothing copied
    assert "lib/libcublas.so" in links
    assert (home / "lib64" / "libcublas.so").resolve() == cu13 / "lib" / "libcublas.so.13"
    assert (home / "lib" / "libcudart.so.13").resolve() == toolkit / "lib" / "libcudart.so.13"  # the toolkit's wins
    again, _, _ = choose(tmp_path, [toolkit])
    assert again == home and sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_symlink()) == links


def test_runfile_toolkit_with_headers_under_targets_is_completed(tmp_path):
    """NVIDIA's runfile: include -> targets/x86_64-linux/include, libraries in lib64."""
    toolkit = tmp_path / "cuda-13.0"
    write_nvcc(toolkit / "bin", "13.0")
    write_headers(toolkit / "targets" / "x86_64-linux" / "include", RUNTIME)
    (toolkit / "lib64").mkdir()
    (toolkit / "lib64" / "libcudart_static.a").write_text("")
    home, _, installed = choose(tmp_path, [toolkit])
    assert installed == [] and toolchain.missing_headers([home], REQUIRED) == []
    assert (home / "lib64" / "libcudart_static.a").exists()


def test_home_that_cannot_be_completed_is_passed_over_naming_what_it_lacks(tmp_path):
    """torch's wheels have no cuSOLVER here: the compiler + runtime toolkit cannot be completed."""
    toolkit = fake_toolkit(tmp_path / "cuda-13.0", "13.0", headers=RUNTIME)
    wheels = [fake_wheels(tmp_path / "site-packages", headers=("cublasLt.h", "cublas_v2.h", "curand.h", "cusparse.h"))]
    search = toolchain.find_cuda_home((13, 0), [toolkit], REQUIRED, wheels)
    assert search.home is None and search.passed_over == [
        f"{toolkit / 'bin' / 'nvcc'}: {toolkit} lacks cusolverDn.h, which the nvidia wheels in this environment "
        "do not have either"]
    full = fake_toolkit(tmp_path / "cuda-13.1", "13.1")
    found = toolchain.find_cuda_home((13, 0), [toolkit, full], REQUIRED, wheels)
    assert found.home == full and found.lacks == [] and len(found.passed_over) == 1


def test_wheels_only_home_lacking_a_header_is_refused_in_one_line(tmp_path, capsys):
    site = tmp_path / "site-packages"
    fake_wheels(site, headers=("cublasLt.h", "cublas_v2.h", "curand.h", "cusolverDn.h"))
    with pytest.raises(toolchain.ToolchainError, match=r"assembled from wheels in .* lacks cusparse\.h, which"):
        toolchain.choose_cuda_home((13, 0), [], REQUIRED, site, tmp_path / "cuda",
                                   lambda _: fake_wheels(site, headers=(), nvcc="13.0"))


def test_home_chosen_here_preprocesses_torchs_cuda_headers(tmp_path):
    """On a machine with a real toolkit of torch's CUDA (complete, or completed from torch's wheels): nvcc
    preprocesses what an extension includes (CUDAContextLight.h: cusparse.h was the first it lacked)."""
    import torch

    torch_cuda = toolchain.parse_version(torch.version.cuda)
    include = Path(torch.__file__).parent / "include"
    if torch_cuda is None or not (include / "ATen" / "cuda" / "CUDAContext.h").exists():
        pytest.skip("torch here is a CPU build")
    required = toolchain.torch_cuda_headers(include, toolchain.compiler_include_dirs(dict(os.environ)))
    site = Path(torch.__file__).parent.parent
    homes = toolchain.candidate_homes(dict(os.environ))
    if toolchain.find_cuda_home(torch_cuda, homes, required, toolchain.wheel_roots(site)).home is None:
        pytest.skip("no toolkit of torch's CUDA here (the compiler wheels are not installed by the tests)")
    home, _ = toolchain.choose_cuda_home(torch_cuda, homes, required, site, tmp_path / "cuda")
    source = tmp_path / "ext.cu"
    source.write_text("#include <ATen/cuda/CUDAContext.h>\n#include <c10/cuda/CUDAGuard.h>\n"
                      "#include <curand_kernel.h>\n__global__ void kernel(float* x) { x[0] = 1; }\n")
    done = subprocess.run([str(home / "bin" / "nvcc"), "-E", "-std=c++17", f"-I{include}",
                           f"-I{include / 'torch' / 'csrc' / 'api' / 'include'}", f"-I{home / 'include'}",
                           str(source), "-o", str(tmp_path / "ext.ii")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cusparseHandle_t" in (tmp_path / "ext.ii").read_text()


def test_architectures_from_env_else_visible_devices():
    assert toolchain.arch_list({"TORCH_CUDA_ARCH_LIST": " 8.0;9.0 "}, [(8, 6)]) == "8.0;9.0"
    assert toolchain.arch_list({}, [(9, 0), (8, 0), (9, 0)]) == "8.0;9.0"
    with pytest.raises(toolchain.ToolchainError, match="set TORCH_CUDA_ARCH_LIST"):
        toolchain.arch_list({"TORCH_CUDA_ARCH_LIST": ""}, [])


@pytest.mark.parametrize("cuda, arches, tag", [
    ((13, 0), "9.0", "cu130-sm90"),
    ((12, 6), "8.0;8.6 9.0+PTX", "cu126-sm80-sm86-sm90+ptx"),
    ((13, 0), "9.0a", "cu130-sm90a"),
])
def test_cache_tag_names_cuda_version_and_architectures(cuda, arches, tag):
    assert toolchain.variant_tag(cuda, arches) == tag


def test_driver_too_old_line():
    line = toolchain.driver_message("2.14.1+cu130", (13, 0), (12, 4))
    assert "\n" not in line
    assert "CUDA 12.4, older than the CUDA 13.0 torch 2.14.1+cu130 is built for" in line
    assert "O2F_TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 bash scripts/setup.sh" in line
    assert toolchain.driver_message("2.14.1", (13, 0), (13, 0)) is None
    assert toolchain.driver_message("2.14.1", (12, 6), (12, 4)) is None  # minor-version compatibility
    assert toolchain.driver_message("2.14.1", (13, 0), None) is None


def fake_torch(cuda: str | None, available: bool, driver: int) -> SimpleNamespace:
    return SimpleNamespace(__version__="2.14.1", version=SimpleNamespace(cuda=cuda),
                           cuda=SimpleNamespace(is_available=lambda: available),
                           _C=SimpleNamespace(_cuda_getDriverVersion=lambda: driver))


def test_driver_problem_reads_torchs_driver_version():
    assert toolchain.driver_version_from_int(12040) == (12, 4)
    assert "CUDA 12.4, older than the CUDA 13.0" in toolchain.driver_problem(fake_torch("13.0", False, 12040))
    assert toolchain.driver_problem(fake_torch("13.0", True, 13000)) is None
    assert toolchain.driver_problem(fake_torch(None, False, 12040)) is None  # a CPU build of torch


def test_plan_prints_the_assignments_setup_sh_evaluates(tmp_path):
    """The command setup.sh runs, with the installed torch and a fake toolkit of torch's CUDA."""
    import torch

    if torch.version.cuda is None:
        pytest.skip("torch here is a CPU build")
    needed = toolchain.torch_cuda_headers(Path(torch.__file__).parent / "include",
                                          toolchain.compiler_include_dirs(dict(os.environ)))
    home = fake_toolkit(tmp_path / "cuda", torch.version.cuda, headers=needed)
    env = {"PATH": os.environ["PATH"], "CUDA_HOME": str(home), "TORCH_CUDA_ARCH_LIST": "9.0",
           "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, str(ROOT / "scripts" / "cuda_toolchain.py"), "plan", "--assemble-into",
               str(tmp_path / "assembled")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    major, minor = torch.version.cuda.split(".")[:2]
    assert done.stdout.splitlines() == [f"CUDA_HOME={home}", "TORCH_CUDA_ARCH_LIST=9.0",
                                        f"variant=cu{major}{minor}-sm90"]
    env.pop("TORCH_CUDA_ARCH_LIST")
    refused = subprocess.run(command, env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "[setup] no GPU is visible to name the architectures to build: set TORCH_CUDA_ARCH_LIST, "
        "e.g. TORCH_CUDA_ARCH_LIST=9.0 for H100/H200 or '8.0;9.0' for A100 and H100"]
