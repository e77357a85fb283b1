"""How close torch's training-mode batch norm + ReLU run to the memory floor on the demo backbone's maps.

    .venv/bin/python benchmarks/batch_norm_relu.py

One thread, channels-last bf16 maps under CPU autocast, forward then backward, for each map shape of
the demo ResNet-18 (``configs/_scales_/demo.py``) with how often it occurs: the measurement behind
docs/step_cost.md's "a fused batch norm + ReLU kernel: not written".
"""

from __future__ import annotations

import time

import torch

# (batch, channels, height, width) of the demo backbone's normalised maps, and how many BN + ReLU pairs each has
SHAPES = {(8, 32, 128, 128): 1, (8, 32, 64, 64): 4, (8, 64, 32, 32): 4, (8, 128, 16, 16): 4, (8, 256, 8, 8): 4}


def time_pair(shape: tuple[int, ...], repeats: int = 20) -> tuple[float, float]:
    """Mean forward and backward ms of BatchNorm2d then ReLU over one channels-last bf16 map."""
    norm = torch.nn.BatchNorm2d(shape[1])
    x = torch.randn(shape).to(memory_format=torch.channels_last).bfloat16().requires_grad_()
    grad = torch.randn(shape).to(memory_format=torch.channels_last).bfloat16()
    forward = backward = 0.0
    for step in range(repeats + 3):  # 3 warm-up
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = torch.relu(norm(x))
        middle = time.perf_counter()
        y.backward(grad)
        end = time.perf_counter()
        if step >= 3:
            forward, backward = forward + middle - start, backward + end - middle
    return forward / repeats * 1000, backward / repeats * 1000


def main() -> None:
    torch.set_num_threads(1)
    total_forward = total_backward = 0.0
    for shape, count in SHAPES.items():
        forward, backward = time_pair(shape)
        total_forward, total_backward = total_forward + count * forward, total_backward + count * backward
        print(f"{'x'.join(map(str, shape)):>15} (x{count}): forward {forward:.2f} ms, backward {backward:.2f} ms, "
              f"map {torch.Size(shape).numel() * 2 / 1e6:.1f} MB")
    print(f"backbone in all: forward {total_forward:.1f} ms, backward {total_backward:.1f} ms a step")


if __name__ == "__main__":
    main()
