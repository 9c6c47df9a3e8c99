"""Precision: fp32 master weights with bf16 autocast keep a tiny SGD update; pure-bf16 weights
round it away (the negative control), so configurations never train bf16 weights."""
import math

import pytest
import torch

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.models import build_tiny_model
from rlvr_core.llm.precision import cpu_bf16_support
from rlvr_core.llm.runner import RunConfig, run_grpo

REL = 1e-6     # the update relative to each weight: lr 1e-6-sized steps at paper scale


def _tiny_sgd_step(weight_dtype):
    """One SGD step on the tiny model whose per-entry update is REL x |weight| (a diagonal step
    size, set through the gradient), forward under bf16 autocast. Returns (kept, expected)."""
    model, tok = build_tiny_model(seed=0)
    model = model.to(weight_dtype)
    ids = torch.randint(2, len(tok), (4, 10))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    w = model.model.layers[0].mlp.up_proj.weight
    before = w.detach().clone()
    # replace the gradient by sign(g)*|w| so the step is exactly REL relative (lr = REL)
    with torch.no_grad():
        w.grad.copy_(torch.sign(w.grad) * w.detach().abs())
    torch.optim.SGD([w], lr=REL).step()
    changed = (w.detach() != before) & (before != 0) & (w.grad != 0)
    eligible = (before != 0) & (w.grad != 0)
    return float(changed.sum() / eligible.sum()), (w.detach().double() - before.double())


def test_fp32_master_weights_keep_a_1e6_relative_update():
    kept, delta = _tiny_sgd_step(torch.float32)
    assert kept > 0.99


def test_bf16_weights_round_the_same_update_away():
    kept, delta = _tiny_sgd_step(torch.bfloat16)
    assert kept < 0.01 and float(delta.abs().max()) == 0.0


def test_bf16_weights_are_refused_by_the_config():
    with pytest.raises(ValueError, match="rounded away"):
        RunConfig(torch_dtype="bfloat16").validate()


def test_trl_bf16_autocast_run_updates_fp32_weights():
    """GRPOConfig(bf16=True) with the fp32 model: mixed precision, and the realised SGD update
    is lr x gradient (the callback compares fp32 weights before/after the step)."""
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    res = run_grpo(RunConfig(scratch_len=2, learning_rate=1e-4, max_steps=2, bf16=True,
                             per_device_train_batch_size=16, max_completion_length=12),
                   progress=False)
    assert res["grpo_config"]["bf16"] is True
    assert res["provenance"]["precision"]["autocast"] == "bfloat16"
    assert res["provenance"]["generation_kernel"] == "default"      # bf16 autocast keeps its own path
    for m in res["metrics"]:
        assert m["grad_norm"] > 0
        assert math.isclose(m["gap/update_norm"], 1e-4 * m["grad_norm"], rel_tol=1e-2)


def test_cpu_bf16_support_reads_the_best_flag():
    assert cpu_bf16_support("flags\t: sse avx512f avx512_bf16 amx_bf16 amx_tile\n") == "amx_bf16"
    assert cpu_bf16_support("flags\t: sse avx512f avx512_bf16\n") == "avx512_bf16"
    assert cpu_bf16_support("flags\t: sse avx2 fma\n") is None
    assert cpu_bf16_support("") is None

