"""The fixed evaluation set and the independent Gradient-Gap estimate (rlvr_core.llm.evaluation):
the weighted backward pass against a per-completion loop, the records of a real run, and the claim
that the Gradient-Gap callback only observes (same trajectory with and without it)."""
import math

import pytest
import torch

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.callback import sequence_log_probs
from rlvr_core.llm.evaluation import EvalSetCallback, alignment_rows, evaluation_prompts
from rlvr_core.llm.models import warm_start_tiny
from rlvr_core.llm.config import RunConfig
from rlvr_core.llm.runner import run_grpo
from rlvr_core.llm.start_model import load_model, resolve_model
from rlvr_core.llm.sweeps import TINY_COMMON


@pytest.fixture(scope="module")
def tiny():
    warm_start_tiny(2)
    cfg = RunConfig(**TINY_COMMON, scratch_len=2)
    model, tok = load_model(cfg, resolve_model(cfg))
    return cfg, model, tok, cfg.make_task()


def test_half_gap_matches_a_per_completion_loop(tiny):
    cfg, model, tok, task = tiny
    prompts = evaluation_prompts(task, tok, 16)[:6]
    cb = EvalSetCallback(task, tok, prompts, 6, 12, gap=True, seed=3, batch_size=8)
    chunks, rewards = cb._sample_all(model, 0)
    params = [p for p in model.parameters() if p.requires_grad]
    mixed = [bool(0 < r.sum() < len(r)) for r in rewards]
    assert any(mixed[0::2]) and any(mixed[1::2]), "no mixed group: the comparison would be empty"
    for half in (0, 1):
        fast, n_mixed = cb._gap(model, chunks, rewards, half)
        # brute force: the score of every completion, then mean(correct) - mean(incorrect) per
        # mixed group of this half, averaged over those groups
        scores, i = [], 0
        for enc, comp, mask, _ in chunks:
            for j in range(comp.shape[0]):
                lp = sequence_log_probs(model, enc.input_ids[j:j + 1], enc.attention_mask[j:j + 1],
                                        comp[j:j + 1], mask[j:j + 1])
                g = torch.autograd.grad(lp.sum(), params, allow_unused=True)
                scores.append(torch.cat([(x if x is not None else torch.zeros_like(p)).reshape(-1)
                                         for x, p in zip(g, params)]))
                i += 1
        S = torch.stack(scores).reshape(*rewards.shape, -1)
        gaps = [S[q][rewards[q] > 0.5].mean(0) - S[q][rewards[q] < 0.5].mean(0)
                for q in range(half, rewards.shape[0], 2)
                if 0 < rewards[q].sum() < rewards.shape[1]]
        assert n_mixed == len(gaps)
        if gaps:
            slow = torch.stack(gaps).mean(0)
            assert torch.allclose(fast, slow, rtol=1e-3, atol=1e-5 * float(slow.abs().max()))
        else:
            assert float(fast.abs().max()) == 0.0


@pytest.mark.slow
def test_run_records_the_evaluations_and_the_independent_cosines():
    warm_start_tiny(2)
    cfg = RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.03, max_steps=4,
                    eval_problems=16, eval_samples=8, eval_gap=True)
    res = run_grpo(cfg, progress=False)
    steps = [e["step"] for e in res["eval"]]
    assert steps == [0, 2, 4]                       # start, middle, end
    for e in res["eval"]:
        assert 0 <= e["success"] <= 1 and e["n"] == 16 * 8
        assert math.isclose(e["se"], math.sqrt(max(e["success"] * (1 - e["success"]), 1e-12) / e["n"]))
    first = res["eval"][0]
    assert {"cos_update_gA", "cos_update_gB", "cos_gA_gB"} <= set(first)
    assert "cos_update_gA" not in res["eval"][-1]      # no update follows the last evaluation
    rows = alignment_rows([res])
    assert [r["step"] for r in rows] == [0, 2] and all(-1 <= r["cos same batch"] <= 1 for r in rows)
    with pytest.raises(ValueError, match="eval_gap"):
        RunConfig(eval_gap=True).validate()


@pytest.mark.slow
def test_gap_callback_only_observes():
    # the same run with and without the callback: the same completions, rewards and lengths
    warm_start_tiny(2)
    runs = [run_grpo(RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.1, max_steps=4,
                               gap_callback=cb), progress=False)["metrics"] for cb in (True, False)]
    key = ("reward", "completions/mean_length")
    assert [[m[k] for k in key] for m in runs[0]] == [[m[k] for k in key] for m in runs[1]]
    assert "gap/cos_update_gap" in runs[0][0] and "gap/cos_update_gap" not in runs[1][0]


def test_starting_success_is_keyed_by_the_start_not_the_training(tmp_path, monkeypatch):
    from rlvr_core.llm import store
    from rlvr_core.llm.evaluation import starting_success

    warm_start_tiny(2)
    monkeypatch.setattr(store, "RESULTS_DIR", tmp_path)
    cfg = RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.03)
    first = starting_success(cfg, num_problems=16, samples=4)
    assert first["n"] == 16 * 4 and 0 <= first["success"] <= 1
    assert set(first["length_quantiles"]) == {"50", "90", "99"}
    # another learning rate or seed trains differently but starts from the same model: reused
    other = RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.3, seed=5)
    assert starting_success(other, num_problems=16, samples=4, compute=False) == first
    # another cap samples differently: not stored yet
    assert starting_success(cfg, num_problems=16, samples=4, max_completion_length=6, compute=False) is None


def test_evaluation_without_the_start_and_the_evaluation_rows():
    import numpy as np

    from rlvr_core.llm.evaluation import evaluation_rows

    warm_start_tiny(2)
    cfg = RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.03, max_steps=4, gap_callback=False,
                    eval_problems=8, eval_samples=2, eval_start=False)
    res = run_grpo(cfg, progress=False)
    assert [e["step"] for e in res["eval"]] == [2, 4]             # middle and end, no start
    rows = evaluation_rows([res], last=2)
    rewards = [m["reward"] for m in res["metrics"]]
    for row, e in zip(rows, res["eval"]):
        assert row["evaluation success"] == e["success"] and row["setting"] == "grpo, SGD"
        w = rewards[e["step"] - 2:e["step"]]
        assert math.isclose(row["training success"], np.mean(w))
        assert math.isclose(row["training se"], np.std(w, ddof=1) / math.sqrt(2), abs_tol=1e-12)
