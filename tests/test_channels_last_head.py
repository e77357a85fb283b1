"""The demo scale's channels-last neck and head (docs/step_cost.md) keep the NCHW model's results:
``ChannelsLastGN`` equals mmcv's ``GN`` (torch's group norm) in output and gradients, in float32 and
within bf16's rounding; the demo models give the same outputs and gradients with the same weights."""

from __future__ import annotations

import os
import shutil

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("mmcv.ops")

import o2f.plugin  # noqa: E402,F401
from o2f.models import nhwc_group_norm  # noqa: E402
from o2f.models.channels_last import ChannelsLastGroupNorm, is_channels_last  # noqa: E402
from o2f.pipeline.config import load_config  # noqa: E402

# float32: the kernel and torch sum in different orders (the parameters' gradients sum up to 8192 terms
# of order 1: ~1e-4 apart); bf16: one unit in the last place (2^-8 relative)
TOLERANCES = {torch.float32: dict(rtol=1e-4, atol=1e-4), torch.bfloat16: dict(rtol=1.6e-2, atol=1e-2)}
CONFIGS = ["configs/o2f/o2f_r50_fpn_1x_coco.py", "configs/poto/poto-3dmf-aux-atss_r50_fpn_1x_coco.py",
           "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"]


def group_norm_and_grads(norm, x, dy, memory_format):
    x = x.detach().contiguous(memory_format=memory_format).requires_grad_()
    norm.zero_grad()
    y = norm(x)
    y.backward(dy.contiguous(memory_format=memory_format))
    return y, x.grad, norm.weight.grad.clone(), norm.bias.grad.clone()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(8, 64, 32, 32), (3, 64, 7, 5), (2, 32, 4, 4), (1, 16, 1, 3)])
def test_channels_last_gn_equals_torch_group_norm(dtype, shape):
    if shutil.which(os.environ.get("CC", "cc")):  # else torch's group norm stands in (compared all the same)
        assert nhwc_group_norm.library() is not None, "a C compiler is installed: the kernel builds"
    g = torch.Generator().manual_seed(0)
    reference = torch.nn.GroupNorm(16, shape[1])
    torch.nn.init.normal_(reference.weight, generator=g)
    torch.nn.init.normal_(reference.bias, generator=g)
    norm = ChannelsLastGroupNorm(shape[1], num_groups=16)
    norm.load_state_dict(reference.state_dict())
    x = (torch.randn(shape, generator=g) * 3 + 2).to(dtype)  # an offset mean, as after a conv
    dy = torch.randn(shape, generator=g).to(dtype)
    expected = group_norm_and_grads(reference, x, dy, torch.contiguous_format)
    got = group_norm_and_grads(norm, x, dy, torch.channels_last)
    assert got[0].dtype == dtype and got[1].dtype == dtype
    if is_channels_last(got[0]):  # the channels-last path was taken: its maps stay channels-last
        assert got[1].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a.float(), b.float(), **TOLERANCES[dtype])


def test_channels_last_gn_under_bf16_autocast_equals_torch_group_norm():
    """As in training: a bf16 conv output, float32 parameters."""
    g = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(32, 64, 3, padding=1)
    reference, norm = torch.nn.GroupNorm(16, 64), ChannelsLastGroupNorm(64, num_groups=16)
    x = torch.randn(4, 32, 16, 16, generator=g)
    results = []
    for module, memory_format in ((reference, torch.contiguous_format), (norm, torch.channels_last)):
        conv.zero_grad(), module.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = F.relu(module(conv(x.contiguous(memory_format=memory_format))))
        y.float().square().mean().backward()
        results.append([y.float(), conv.weight.grad.clone(), module.weight.grad.clone(), module.bias.grad.clone()])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1.6e-2, atol=1e-2)


def test_nchw_maps_and_a_missing_kernel_take_torchs_group_norm(monkeypatch):
    norm = ChannelsLastGroupNorm(8, num_groups=4)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(norm(x), F.group_norm(x, 4, norm.weight, norm.bias))  # NCHW: torch's own
    monkeypatch.setattr(nhwc_group_norm, "_library", None)
    monkeypatch.setattr(nhwc_group_norm, "_failed", True)  # as where no C compiler could build it
    cl = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(norm(cl), F.group_norm(cl, 4, norm.weight, norm.bias))


def build(repo_root, config, overrides=None):
    from mmdet.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(load_config(str(repo_root / config), scale="demo", overrides=overrides).model)
    model.init_weights()
    return model


@pytest.mark.parametrize("config", CONFIGS)
def test_demo_model_channels_last_gives_the_nchw_models_outputs_and_gradients(repo_root, config):
    """Float32, same weights: the head's outputs within float32 rounding, every parameter's gradient within
    1e-5 of its norm (measured: ~3e-6, summation order; an element near zero can differ more in relative
    terms, so gradients compare by norm)."""
    channels_last = build(repo_root, config)
    nchw = build(repo_root, config, {"model.backbone.channels_last_outputs": False,  # the recipe before
                                     "model.bbox_head.norm_cfg.type": "GN"})
    assert channels_last.backbone.channels_last_outputs
    assert isinstance(channels_last.bbox_head.cls_convs[0].gn, ChannelsLastGroupNorm)
    assert type(nchw.bbox_head.cls_convs[0].gn) is torch.nn.GroupNorm
    nchw.load_state_dict(channels_last.state_dict())
    images = torch.nn.functional.avg_pool2d(torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(0)),
                                            5, 1, 2) * 50
    outputs = []
    for model in (channels_last, nchw):
        model.train()
        model.zero_grad()
        feats = list(model.extract_feat(images))
        outs = [o for level in model.bbox_head(feats) for o in level if o is not None]
        sum(o.float().square().mean() for o in outs).backward()
        grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
        outputs.append((feats, outs, grads))
    (cl_feats, cl_outs, cl_grads), (feats, outs, grads) = outputs
    assert all(is_channels_last(f) for f in cl_feats) and not any(is_channels_last(f) for f in feats)
    # float32, other convolution algorithms for the other layout: rounding differences of ~1e-5
    for a, b in zip(cl_feats + cl_outs, feats + outs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert cl_grads.keys() == grads.keys() and len(grads) == len(list(nchw.parameters()))
    for name, grad in grads.items():
        assert (cl_grads[name] - grad).norm() <= 1e-4 * grad.norm(), name
    # inference (evaluation, the score-map hook): the same head outputs without autograd
    with torch.no_grad():
        inferred = []
        for model in (channels_last, nchw):
            model.eval()
            inferred.append([o for level in model.bbox_head(model.extract_feat(images)) for o in level
                             if o is not None])
    for a, b in zip(*inferred, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
