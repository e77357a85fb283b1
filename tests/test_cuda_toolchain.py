"""scripts/cuda_toolchain.py: which nvcc the CUDA build uses, what it installs when none fits, the
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


def fake_toolkit(path: Path, release: str | None, headers: bool = True) -> Path:
    write_nvcc(path / "bin", release)
    if headers:
        (path / "include").mkdir(parents=True)
        (path / "include" / "cuda_runtime.h").write_text("")
    return path


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
    bare = fake_toolkit(tmp_path / "bare", "13.0", headers=False)
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
    home = fake_toolkit(tmp_path / "cuda", torch.version.cuda)
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
