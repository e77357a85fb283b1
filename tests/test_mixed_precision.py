"""The cheaper demo recipe changes cost, not results: bf16 autocast with float32 weights, heads that
assign and compute losses in float32, a channels-last ResNet equal to mmdet's, a decoded-image cache
equal to the plain loader; a run names the bf16 instructions its CPU has. The recipe as a whole is
timed in benchmarks/train_step.py --compare."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

import o2f.plugin  # noqa: E402,F401
from o2f.datasets.image_cache import CachedLoadImageFromFile  # noqa: E402
from o2f.engine import BF16OptimWrapper  # noqa: E402
from o2f.engine.device import cpu_name  # noqa: E402
from o2f.engine.precision import choose, recorded_precision, use_precision, work_dir_precision  # noqa: E402
from o2f.errors import O2FError  # noqa: E402
from o2f.models.channels_last import ChannelsLastResNet  # noqa: E402
from o2f.models.o2f_head import O2FHead  # noqa: E402
from o2f.pipeline.config import load_config  # noqa: E402


def test_bf16_wrapper_runs_the_forward_in_bf16_and_keeps_float32_weights_while_the_loss_falls():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 1, 1))
    wrapper = BF16OptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    x = torch.randn(4, 3, 8, 8)
    target = x.mean(1, keepdim=True)
    losses = []
    for _ in range(40):
        with wrapper.optim_context(model):
            out = model(x)
            assert out.dtype == torch.bfloat16  # convolutions under autocast
            loss = ((out.float() - target) ** 2).mean()
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert losses[-1] < 0.5 * losses[0]


def small_head() -> O2FHead:
    head = O2FHead(num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1, strides=[8, 16],
                   norm_cfg=dict(type="GN", num_groups=4, requires_grad=True), num_obj_convs=1,
                   train_cfg=dict(assigner=dict(type="OneToFewAssigner", topk=3)))
    head.set_epoch(0, 12)
    return head


def test_head_losses_are_float32_and_equal_the_float32_losses_of_the_same_outputs():
    """Under autocast the head's convolutions give bf16 maps; the loss must be the float32 loss of
    those very maps (assignment and loss in float32), not a loss computed in bf16."""
    from mmdet.structures import DetDataSample

    torch.manual_seed(0)
    head = small_head()
    feats = (torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4))
    samples = []
    for boxes in ([[4.0, 4.0, 30.0, 40.0]], [[10.0, 2.0, 60.0, 20.0], [0.0, 30.0, 20.0, 60.0]]):
        sample = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes), labels=torch.zeros(len(boxes), dtype=torch.long))
        samples.append(sample)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = head.loss(feats, samples)
        outs = head(feats)
    assert outs[0][0].dtype == torch.bfloat16  # the maps really are low precision
    expected = head.loss_by_feat(*[[o.float() for o in level] for level in outs],
                                 [s.gt_instances for s in samples], [s.metainfo for s in samples])
    for name, value in losses.items():
        assert value.dtype == torch.float32, name
        torch.testing.assert_close(value, expected[name], rtol=1e-6, atol=1e-7)


def test_channels_last_resnet_gives_mmdets_resnet_outputs():
    from mmdet.models.backbones import ResNet

    args = dict(depth=18, base_channels=8, out_indices=(0, 1, 2, 3), norm_eval=False)
    torch.manual_seed(0)
    plain, channels_last = ResNet(**args), ChannelsLastResNet(**args)
    channels_last.load_state_dict(plain.state_dict())
    plain.eval(), channels_last.eval()  # mmdet's ResNet.train() returns None: no chaining
    x = torch.randn(2, 3, 64, 64)
    for a, b in zip(plain(x), channels_last(x), strict=True):
        assert b.is_contiguous()  # handed on in the usual layout
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_cached_loader_decodes_once_and_hands_out_copies(tmp_path, monkeypatch):
    from mmcv.transforms import LoadImageFromFile

    pixels = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    path = str(tmp_path / "tile.png")
    cv2.imwrite(path, pixels)
    reads = []
    original = LoadImageFromFile.transform
    monkeypatch.setattr(LoadImageFromFile, "transform", lambda self, r: reads.append(1) or original(self, r))
    loader = CachedLoadImageFromFile()
    first = loader(dict(img_path=path))
    first["img"][:] = 0  # an augmentation writing into its image
    second = loader(dict(img_path=path))
    assert len(reads) == 1
    np.testing.assert_array_equal(second["img"], pixels)
    assert second["img_shape"] == (20, 30) and second["ori_shape"] == (20, 30)


def test_demo_chooses_its_precision_and_full_keeps_float32_with_bf16_one_setting_away(repo_root):
    o2f = str(repo_root / "configs/o2f/o2f_r50_fpn_1x_coco.py")
    assert load_config(o2f, scale="demo").precision == "auto"
    full = load_config(o2f, scale="full")
    assert full.precision == "fp32" and full.optim_wrapper.type == "OptimWrapper"
    switched = load_config(o2f, scale="full", overrides={"precision": "bf16"})
    use_precision(switched, choose(switched.precision))
    assert switched.optim_wrapper.type == "BF16OptimWrapper" and switched.optim_wrapper.optimizer.type == "SGD"


def test_a_bad_precision_stops_in_one_line_before_training(repo_root, tmp_path, capsys):
    from o2f.pipeline.cli import main

    work = tmp_path / "work"
    code = main(["train", str(repo_root / "configs/o2f/o2f_r50_fpn_1x_coco.py"), "--scale", "ci", "--work-dir",
                 str(work), "--cfg-options", "precision=fp16"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err == "o2f: error: precision must be one of auto, bf16, fp32, not 'fp16'"
    assert not work.exists()  # nothing started


def two_processor_cpuinfo(first_flags: str) -> str:
    """/proc/cpuinfo's layout; the second processor lists no bf16 flags, so only the first is read."""
    return (f"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC Processor\nflags\t\t: {first_flags}\n\n"
            "processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC Processor\nflags\t\t: fpu sse avx2\n")


@pytest.mark.parametrize(("flags", "named"), [("avx512f avx512_bf16 amx_tile amx_bf16", "AMX-BF16"),
                                              ("fpu sse avx512f avx512_bf16 avx512_vnni", "AVX512-BF16"),
                                              ("avx2 fma", "no bf16 instructions")])
def test_a_run_names_the_cpu_and_the_widest_bf16_instructions_its_kernels_ran_on(flags, named):
    assert cpu_name(two_processor_cpuinfo(flags)) == f"AMD EPYC Processor, {named}"


AMX = two_processor_cpuinfo("avx2 avx512f avx512_bf16 amx_tile amx_bf16")
AVX512_BF16 = two_processor_cpuinfo("avx2 avx512f avx512_bf16")
AVX512 = two_processor_cpuinfo("avx2 avx512f avx512bw")
AVX2 = two_processor_cpuinfo("fma avx avx2")


@pytest.mark.parametrize(("cpuinfo", "line"), [
    (AMX, "bf16: this CPU runs bf16 natively (AMX-BF16)"),
    (AVX512_BF16, "bf16: this CPU runs bf16 natively (AVX512-BF16)"),
    (AVX512, "float32: this CPU has no native bf16 (AVX-512 without BF16)"),
    (AVX2, "float32: this CPU has no native bf16 (AVX2)")])
def test_auto_trains_in_bf16_only_where_the_cpu_runs_it_natively(cpuinfo, line):
    assert choose("auto", "cpu", cpuinfo).line() == line


@pytest.mark.parametrize(("setting", "cpuinfo"), [("fp32", AMX), ("bf16", AVX2)])
def test_an_explicit_precision_wins_over_the_hardware_both_ways(setting, cpuinfo):
    chosen = choose(setting, "cpu", cpuinfo)
    assert chosen.name == setting and chosen.reason == f"set by precision={setting}"


def test_a_resumed_run_keeps_its_precision_and_an_explicit_switch_stops_in_one_line(tmp_path):
    started = work_dir_precision(tmp_path, "auto", cpuinfo=AMX)
    assert started.name == "bf16" and recorded_precision(tmp_path) == "bf16"
    moved = work_dir_precision(tmp_path, "auto", cpuinfo=AVX2)  # the checkpoint moved to a CPU without bf16
    assert moved.line() == ("bf16: this CPU runs bf16 natively (AMX-BF16) (slow here: this CPU has no native bf16 "
                            "(AVX2))")
    with pytest.raises(O2FError, match=r"trained in bf16 and precision=fp32 would switch it mid-run") as err:
        work_dir_precision(tmp_path, "fp32", cpuinfo=AVX2)
    assert "\n" not in str(err.value)
    assert work_dir_precision(tmp_path, "fp32", resume=False, cpuinfo=AMX).name == "fp32"  # a new run chooses anew
