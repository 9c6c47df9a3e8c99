"""The Gradient-Gap callback across processes and in its projection mode: per-process sums that
add up to the global-batch gap, the sketch's inner products, the hook-based sketch of the gap
backward, the projection mode's error against the full gap on the tiny model, and a 2-process
torchrun (gloo) run of the tiny config with the callback on."""
import math

import numpy as np
import pytest
import torch

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.callback import CountSketch, GradientGapCallback, gap_weights
from rlvr_core.llm.models import build_tiny_model
from rlvr_core.llm.runner import RunConfig, run_grpo

from test_llm_engines import torchrun


def test_per_process_sums_add_up_to_the_global_gap():
    rng = np.random.default_rng(3)
    G, P, d = 4, 6, 5
    rewards = torch.tensor(rng.integers(0, 2, size=P * G), dtype=torch.float64)
    rewards[:G] = 0.0                                     # an all-wrong group on process 0
    scores = torch.tensor(rng.normal(size=(P * G, d)))
    c, n = gap_weights(rewards, G)
    whole = c @ scores
    half = P * G // 2                                     # two processes, whole groups each
    sums, counts = [], []
    for lo in (0, half):
        ci, ni = gap_weights(rewards[lo:lo + half], G, normalise=False)
        sums.append(ci @ scores[lo:lo + half])
        counts.append(ni)
    assert sum(counts) == n
    assert torch.allclose(sum(sums) / sum(counts), whole, atol=1e-12)
    with pytest.raises(ValueError, match="whole groups"):
        gap_weights(rewards[:6], G)


def test_sketch_is_fixed_linear_and_preserves_inner_products():
    torch.manual_seed(0)
    xs = [torch.randn(300, 7), torch.randn(50)]
    ys = [x + 0.5 * torch.randn_like(x) for x in xs]
    sk = CountSketch(4096, seed=1)
    sx, sy = sk.of(xs), sk.of(ys)
    assert torch.equal(sx, CountSketch(4096, seed=1).of(xs))          # same R every time
    assert torch.allclose(sk.of([2 * x for x in xs]), 2 * sx)
    exact = sum(float((x.double() * y.double()).sum()) for x, y in zip(xs, ys))
    norms = math.sqrt(sum(float(x.double().pow(2).sum()) for x in xs)
                      * sum(float(y.double().pow(2).sum()) for y in ys))
    assert abs(float(sx @ sy) - exact) / norms < 0.05                 # ~1/sqrt(k)
    assert not torch.equal(sx, CountSketch(4096, seed=2).of(xs))


def test_hook_sketch_of_the_gap_backward_equals_the_sketch_of_the_full_gap():
    model, tok = build_tiny_model(seed=0)
    torch.manual_seed(0)
    batch = {"prompt_ids": torch.randint(2, len(tok), (8, 4)), "prompt_mask": torch.ones(8, 4, dtype=torch.long),
             "completion_ids": torch.randint(2, len(tok), (8, 5)),
             "completion_mask": torch.ones(8, 5, dtype=torch.long)}
    c, _ = gap_weights(torch.tensor([1, 0, 0, 1, 0, 1, 1, 1.0]), 4)
    params = [p for p in model.parameters() if p.requires_grad]
    full = GradientGapCallback(None, 4, mode="full")._gap_backward(model, params, batch, c)
    proj = GradientGapCallback(None, 4, mode="projection", proj_dim=64, proj_seed=5)
    sk = proj._gap_backward(model, params, batch, c)
    assert all(p.grad is None for p in params)                       # the training grads untouched
    assert torch.allclose(sk, CountSketch(64, 5).of(full), rtol=1e-5, atol=1e-9)


@pytest.mark.slow
def test_projection_error_against_the_full_gap_on_the_tiny_model():
    """Same seed, same trajectory (the callback does not touch the training RNG): the projection
    mode's norms within ~1/sqrt(k), its cosines close to the full mode's."""
    base = dict(scratch_len=2, learning_rate=0.05, max_steps=4, per_device_train_batch_size=16,
                max_completion_length=12, seed=0)
    full = run_grpo(RunConfig(**base), progress=False)["metrics"]
    proj = run_grpo(RunConfig(**base, gap_mode="projection", gap_proj_dim=256), progress=False)["metrics"]
    assert [m["reward"] for m in proj] == [m["reward"] for m in full]
    for a, b in zip(proj, full):
        if b["gap/gap_norm"] is None:
            continue
        assert abs(a["gap/gap_norm"] / b["gap/gap_norm"] - 1) < 0.2
        assert abs(a["gap/update_norm"] / b["gap/update_norm"] - 1) < 0.2
        assert abs(a["gap/cos_update_gap"] - b["gap/cos_update_gap"]) < 0.1


@pytest.mark.slow
def test_two_process_run_with_the_callback(tmp_path):
    res, proc = torchrun(tmp_path, "max_steps=3", "per_device_train_batch_size=8", "num_generations=4",
                         "gap_mode=full")
    assert res["provenance"]["num_processes"] == 2 and len(res["metrics"]) == 3
    lr = res["config"]["learning_rate"]
    for m in res["metrics"]:
        assert m["gap/success"] == pytest.approx(m["reward"], abs=1e-6)   # global batch, both
        assert 0 <= m["gap/mixed_groups"] <= 4                              # 2 groups x 2 processes
        assert m["gap/update_norm"] == pytest.approx(lr * m["grad_norm"], rel=1e-3)
        if m["gap/gap_norm"] is not None:
            assert m["gap/cos_update_gap"] == pytest.approx(m["gap/cos_grad_gap"], abs=1e-4)
    assert any(m["gap/gap_norm"] is not None for m in res["metrics"])
