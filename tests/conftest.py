"""Shared fixtures: synthetic data written once per session, the repository root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# On pytest-xdist's workers (two, as pyproject.toml asks), one thread each, in the worker and in what it starts
# (before torch is imported): two threads a worker oversubscribe the cores, and idle OpenMP threads spin.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config: pytest.Config) -> None:
    """Tests sharing a costly fixture (``xdist_group``) must reach one worker. pytest-xdist 3.8 groups them by
    renaming each test's ``_nodeid``, which pytest 9.2 no longer reads: every group would be split, each
    worker would set the fixture up, and a one-per-machine one (the Slurm node) fails on the second."""
    version = tuple(map(int, pytest.__version__.split(".")[:2]))
    if config.getoption("dist", default="no") == "loadgroup" and version >= (9, 2):
        raise pytest.UsageError(f"pytest {pytest.__version__} breaks pytest-xdist's --dist loadgroup; install the "
                                "pytest pyproject.toml's dev group pins (bash scripts/setup.sh does)")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """Synthetic shapes in COCO layout, the ``ci`` scale's dataset."""
    from o2f.pipeline.data.synthetic_shapes import prepare_synthetic_shapes

    root = tmp_path_factory.mktemp("data") / "synthetic_shapes"
    prepare_synthetic_shapes(root)
    return root


@pytest.fixture(scope="session")
def synthetic_odgt_root(synthetic_root, tmp_path_factory) -> Path:
    """The synthetic shapes in CrowdHuman's layout, the CrowdHuman configs' ``ci`` dataset."""
    from o2f.pipeline.data.crowdhuman import write_odgt_dataset

    root = tmp_path_factory.mktemp("data") / "synthetic_shapes_odgt"
    write_odgt_dataset(synthetic_root, root)
    return root


@pytest.fixture()
def in_tmp_with_data(tmp_path, synthetic_root, synthetic_odgt_root, monkeypatch) -> Path:
    """A working directory whose data/ holds the session's synthetic dataset (COCO and odgt layouts)."""
    (tmp_path / "data").mkdir()
    os.symlink(synthetic_root, tmp_path / "data" / "synthetic_shapes")
    os.symlink(synthetic_odgt_root, tmp_path / "data" / "synthetic_shapes_odgt")
    monkeypatch.chdir(tmp_path)
    return tmp_path
