"""The GPU check's one prepared script runs every step against the CPU: a smoke run of the full-scale
trainings, the parity checks and the speed columns, so the script a lent GPU machine runs stays working."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("mmcv.ops")

pytestmark = pytest.mark.slow  # three R50-FPN trainings of one iteration each


def test_gpu_check_smoke_run_on_the_cpu_passes_every_check(repo_root, tmp_path):
    done = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--iters", "1",
                           "--size", "320x192", "--speed-images", "1", "--work-dir", str(tmp_path)],
                          cwd=repo_root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("gpu_check: ") and " 0 failed" in last, last
