"""Tests of rlvr_core.llm: tokenizer, task and verifier, Gradient-Gap estimator, validation of run
configurations, a tiny offline GRPO run (no network), and the sweep analysis."""
import itertools
import json
import math
import socket
from unittest import mock

import numpy as np
import pytest
import torch

import rlvr_core.llm  # noqa: F401  (sets HF_HUB_OFFLINE=1)
from rlvr_core.llm.callback import gap_weights, sequence_log_probs
from rlvr_core.llm.models import build_tiny_model, warm_start_tiny
from rlvr_core.llm.runner import RunConfig, run_grpo
from rlvr_core.llm.sweeps import threshold
from rlvr_core.llm.task import ChatSum, ScratchpadSum, VerifierReward
from rlvr_core.llm.tokenizer import build_char_tokenizer, load_char_tokenizer, save_char_tokenizer


def test_tokenizer_round_trip(tmp_path):
    tok = build_char_tokenizer()
    text = "7+8=.,,.|15"
    ids = tok(text, add_special_tokens=False).input_ids
    assert len(ids) == len(text)                      # one token per character
    save_char_tokenizer(tok, tmp_path)
    tok2 = load_char_tokenizer(tmp_path)
    assert tok2(text, add_special_tokens=False).input_ids == ids
    assert tok2.decode(ids + [tok2.eos_token_id], skip_special_tokens=True) == text
    assert tok2.decode(tok2(" 1 2", add_special_tokens=False).input_ids) == " 1 2"   # spaces kept


def test_verifier_accepts_exactly_the_correct_responses():
    rng = np.random.default_rng(0)
    task = ScratchpadSum(scratch_len=3, digits=1, num_problems=100)
    for a, b in task.problems():
        good = task.sample_response(a, b, rng)
        assert task.verify(task.prompt(a, b), good) == 1.0
    # brute force over every string of the right shape for one prompt: exactly 2**3 correct ones
    chars = ".,|1589"
    hits = [s for s in map("".join, itertools.product(chars, repeat=6)) if task.verify("7+8=", s)]
    assert sorted(hits) == sorted("".join(p) + "|15" for p in itertools.product(".,", repeat=3))
    assert task.verify("7+8=", "...|15.") == 0.0 and task.verify("7+8=", "..|15") == 0.0
    assert task.response_length(7, 8) == 3 + 1 + 2 + 1


def test_chat_verifier_and_reward_records_rewards():
    task = ChatSum()
    prompt = [{"role": "user", "content": task.question(3, 4)}]
    assert task.verify(prompt, [{"role": "assistant", "content": "3 + 4 = 7"}]) == 1.0
    assert task.verify(prompt, "It is 7, or 8") == 0.0
    reward = VerifierReward(ScratchpadSum(1, 1, 4))
    out = reward(prompts=["1+2=", "1+2="], completions=[".|3", "|3"])
    assert out == [1.0, 0.0] and reward.last_rewards == out


def test_gap_weights_match_a_loop():
    rng = np.random.default_rng(1)
    G, P, d = 4, 5, 3
    rewards = torch.tensor(rng.integers(0, 2, size=P * G), dtype=torch.float64)
    rewards[:G] = 1.0                                   # one all-correct group: no estimate
    scores = torch.tensor(rng.normal(size=(P * G, d)))
    c, n_mixed = gap_weights(rewards, G)
    gaps = []
    for q in range(P):
        r, s = rewards[q * G:(q + 1) * G], scores[q * G:(q + 1) * G]
        if 0 < r.sum() < G:
            gaps.append(s[r == 1].mean(0) - s[r == 0].mean(0))
    assert n_mixed == len(gaps)
    assert torch.allclose(c @ scores, torch.stack(gaps).mean(0), atol=1e-12)


@pytest.mark.slow
def test_gap_from_one_backward_equals_per_completion_scores():
    model, tok = build_tiny_model(seed=0)
    model = model.double()
    torch.manual_seed(0)
    P, G, Tp, Tc = 2, 4, 4, 5
    prompt = torch.randint(2, len(tok), (P * G, Tp))
    comp = torch.randint(2, len(tok), (P * G, Tc))
    cmask = torch.ones_like(comp)
    cmask[0, 3:] = 0                                     # a shorter completion
    pmask = torch.ones_like(prompt)
    rewards = torch.tensor([1, 0, 0, 1, 0, 1, 1, 1], dtype=torch.float64)
    params = list(model.parameters())
    # per-completion score by an explicit token loop (logits of the full prefix each time)
    scores = []
    for i in range(P * G):
        lp = 0.0
        for t in range(int(cmask[i].sum())):
            ids = torch.cat([prompt[i], comp[i, :t]])[None]
            lp = lp + torch.log_softmax(model(input_ids=ids).logits[0, -1], -1)[comp[i, t]]
        g = torch.autograd.grad(lp, params)
        scores.append(torch.cat([x.reshape(-1) for x in g]))
    scores = torch.stack(scores)
    c, _ = gap_weights(rewards, G)
    logp = sequence_log_probs(model, prompt, pmask, comp, cmask)
    g = torch.autograd.grad((c * logp).sum(), params)
    one = torch.cat([x.reshape(-1) for x in g])
    # transformers computes the rotary embedding in float32 even for a float64 model, so the two
    # computations agree to float32 precision (~1e-7 relative), not float64
    assert (one - c @ scores).abs().max() <= 1e-5 * (c @ scores).abs().max()


@pytest.mark.parametrize("field,value,needle", [
    ("num_generations", 1, "num_generations"),
    ("per_device_train_batch_size", 12, "per_device_train_batch_size"),
    ("learning_rate", 0.0, "learning_rate"),
    ("learning_rate", -1.0, "learning_rate"),
    ("loss_type", "ppo", "loss_type"),
    ("max_completion_length", 3, "max_completion_length"),
])
def test_bad_configs_fail_before_training(field, value, needle):
    cfg = RunConfig(scratch_len=2, num_generations=8, per_device_train_batch_size=16)
    setattr(cfg, field, value)
    with pytest.raises(ValueError, match=needle):
        cfg.validate()


def test_missing_model_files_fail_with_a_plain_message(tmp_path, capsys):
    from rlvr_core.llm.train import main

    with pytest.raises(ValueError, match="model_path"):
        RunConfig(model="path", model_path=str(tmp_path / "nowhere"), task="chat_sum").validate()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="missing model files"):
        RunConfig(model="path", model_path=str(tmp_path / "empty"), task="chat_sum").validate()
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: tiny\nnum_generations: 4\nper_device_train_batch_size: 6\n")
    assert main(["--config", str(cfg)]) == 2
    assert "per_device_train_batch_size" in capsys.readouterr().err


@pytest.fixture(scope="module")
def offline_run():
    """A 2-step tiny GRPO run with every socket connection refused and recorded."""
    warm_start_tiny(2)                                   # built before the guard (local anyway)
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:2] or args[:1])
        raise OSError("network access attempted during an offline run")

    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
    mp.setattr(socket, "create_connection", refuse)
    try:
        res = run_grpo(RunConfig(scratch_len=2, learning_rate=0.05, max_steps=2,
                                 per_device_train_batch_size=16, max_completion_length=12))
    finally:
        mp.undo()
    return res, attempts


@pytest.mark.slow
def test_tiny_grpo_run_attempts_no_network_connection(offline_run):
    res, attempts = offline_run
    assert attempts == []
    assert len(res["metrics"]) == 2
    json.dumps(res)                                      # the result is plain JSON


def test_new_run_records_its_provenance(offline_run):
    prov = offline_run[0]["provenance"]
    # the keys notebooks 07-09 read from old files, plus the ones recorded since
    assert {"commit", "versions", "seconds_per_step", "torch_threads"} <= set(prov)
    assert {"dirty", "cpu", "weights"} <= set(prov)
    assert prov["versions"]["trl"] and prov["cpu"]["cpu_capability"]
    assert prov["weights"] and len(prov["weights"]) == 16     # the tiny model is cheap to hash
    import torch
    assert prov["device"] == ("cuda" if torch.cuda.is_available() else "cpu")  # use_cpu=None: auto


def test_callback_sgd_update_is_minus_lr_times_gradient(offline_run):
    res, _ = offline_run
    lr = res["config"]["learning_rate"]
    assert res["grpo_config"]["optim"] == "sgd" and res["grpo_config"]["max_grad_norm"] == 0.0
    for m in res["metrics"]:
        # with plain SGD the realised update is -lr * grad: its norm is lr * TRL's grad_norm,
        # and its alignment with the Gradient Gap equals the gradient's
        assert math.isclose(m["gap/update_norm"], lr * m["grad_norm"], rel_tol=1e-3)
        if m["gap/cos_update_gap"] is not None:
            assert math.isclose(m["gap/cos_update_gap"], m["gap/cos_grad_gap"], abs_tol=1e-4)
        assert m["gap/success"] == m["reward"]


def test_threshold_matches_a_brute_force_scan():
    lrs = [0.01, 0.03, 0.1, 0.3]
    final = [0.5, 0.6, 0.1, 0.0]
    thr, lo, hi = threshold(lrs, final, start=0.3).as_tuple()
    assert (lo, hi) == (0.03, 0.1) and math.isclose(thr, math.sqrt(0.003))
    assert math.isnan(threshold(lrs, [0.5] * 4, start=0.3).estimate)
    with pytest.raises(ValueError, match="collapse_frac"):
        threshold(lrs, final, start=0.3, collapse_frac=2.0)
    with pytest.raises(ValueError, match="lrs"):
        threshold([0.0, 1.0], [0.5, 0.5], start=0.3)


def test_computed_and_loaded_runs_share_one_order():
    from rlvr_core.llm.sweeps import sort_runs

    runs = [{"config": {"loss_type": lt, "learning_rate": lr, "seed": s}}
            for lt, lr, s in [("grpo", 0.3, 0), ("grpo", 0.003, 1), ("dr_grpo", 0.03, 0), ("grpo", 0.003, 0)]]
    order = [(r["config"]["loss_type"], r["config"]["learning_rate"], r["config"]["seed"])
             for r in sort_runs(runs)]
    assert order == [("dr_grpo", 0.03, 0), ("grpo", 0.003, 0), ("grpo", 0.003, 1), ("grpo", 0.3, 0)]
    assert sort_runs(reversed(runs)) == sort_runs(runs)


def test_every_shipped_config_validates():
    from pathlib import Path

    from rlvr_core.llm.train import load_config

    files = sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("*.yaml"))
    assert {f.name for f in files} >= {"tiny.yaml", "qwen2.5-math-7b.yaml"}
    for f in files:
        cfg, _ = load_config(f)
        if cfg.model == "path" and not Path(cfg.model_path).exists():
            with pytest.raises(ValueError, match="RLVR_ALLOW_HUB"):    # offline by default
                cfg.validate()
            import os
            os.environ["RLVR_ALLOW_HUB"] = "1"
            try:
                cfg.validate()
            finally:
                del os.environ["RLVR_ALLOW_HUB"]
        else:
            cfg.validate()
    cfg, _ = load_config(files[0], ["learning_rate=0.5"])
    assert cfg.learning_rate == 0.5
    with pytest.raises(ValueError, match="config keys"):
        load_config(files[0], ["learning_rat=0.5"])


def test_sweep_table_and_mean_curve_match_a_loop():
    from rlvr_core.llm.sweeps import mean_curve, sweep_table

    runs = [{"config": {"learning_rate": lr, "seed": s},
             "metrics": [{"reward": 0.1 * s + lr * k} for k in range(6)]}
            for lr in (0.1, 0.01) for s in (0, 1)]
    lrs, seeds, tab = sweep_table(runs, last=2)
    assert list(lrs) == [0.01, 0.1] and list(seeds) == [0, 1]
    for r in runs:
        i, j = list(lrs).index(r["config"]["learning_rate"]), r["config"]["seed"]
        assert math.isclose(tab[i, j], np.mean([m["reward"] for m in r["metrics"][-2:]]))
    assert np.allclose(mean_curve(runs), [np.mean([r["metrics"][k]["reward"] for r in runs])
                                          for k in range(6)])


def test_warm_start_weights_do_not_depend_on_the_thread_count(tmp_path):
    from rlvr_core.infra.provenance import file_hash

    kw = dict(max_steps=3, check_every=3, batch_size=32, target=0.99)
    before = torch.get_num_threads()
    hashes = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            folder = warm_start_tiny(2, cache_dir=tmp_path / f"t{n}", **kw)
            assert torch.get_num_threads() == n            # the caller's setting is restored
            assert json.loads((folder / "warm_start.json").read_text())["torch_threads"] == 1
            hashes.append(file_hash(folder / "model.safetensors"))
    finally:
        torch.set_num_threads(before)
    assert hashes[0] == hashes[1]


def test_warm_start_seed_sets_the_starting_weights_and_the_run_key(tmp_path, monkeypatch):
    """RunConfig.warm_start_seed reaches the warm start: two seeds give two starting-weight hashes
    (the same seed twice, one), two run keys, and seed 0 keeps every committed key."""
    from rlvr_core.llm import models, start_model
    from rlvr_core.llm.config import RunConfig
    from rlvr_core.infra.provenance import file_hash

    kw = dict(max_steps=3, check_every=3, batch_size=32, target=0.99)
    weights = {s: file_hash(warm_start_tiny(2, seed=s, cache_dir=tmp_path / f"s{s}", **kw)
                            / "model.safetensors") for s in (0, 1)}
    again = file_hash(warm_start_tiny(2, seed=1, cache_dir=tmp_path / "again", **kw) / "model.safetensors")
    assert weights[0] != weights[1] and again == weights[1]
    seen = []
    monkeypatch.setattr(models, "warm_start_tiny", lambda *a, **k: seen.append(k["seed"]) or tmp_path)
    start_model.resolve_model(RunConfig(warm_start_seed=3).validate())
    assert seen == [3]
    assert RunConfig(warm_start_seed=0).key() == RunConfig().key() != RunConfig(warm_start_seed=1).key()
    assert "warm_start_seed" not in RunConfig().stable_dict()
    with pytest.raises(ValueError, match="warm_start_seed"):
        RunConfig(model="smollm2", warm_start_seed=1).validate()


def test_seed_rule_threshold_bracket_and_ci():
    from rlvr_core.llm.sweeps import stable_fraction, threshold_ci, warm_start_J0

    J0, se = warm_start_J0({"success_rate_final": 0.32, "params": {"num_problems": 16}})
    assert math.isclose(se, math.sqrt(0.32 * 0.68 / 512))
    lrs = [0.01, 0.03, 0.1, 0.3]
    cut = J0 - 2 * se
    final = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, cut - 0.01], [0.5, 0.1, 0.1], [0.0, 0.0, 0.0]])
    br = threshold(lrs, final, J0, se=se)
    assert (br.last_pass, br.first_fail) == (0.03, 0.1)
    assert stable_fraction(final, J0, se).tolist() == [1, 2 / 3, 1 / 3, 0]
    # one stable seed of three is not a pass: 0.03 stays ambiguous with a second collapse there
    final2 = final.copy()
    final2[1] = [0.5, 0.0, 0.0]
    assert threshold(lrs, final2, J0, se=se).last_pass == 0.01
    final3 = final.copy()
    final3[1] = [0.5, 0.5, 0.0]
    final3[2] = [0.5, 0.0, 0.5]            # 2/3 stable again: passes
    assert threshold(lrs, final3, J0, se=se).last_pass == 0.1
    lo, hi = threshold_ci(lrs, final, J0, se, n_boot=200)
    assert lrs[0] <= lo <= br.estimate <= hi <= lrs[-1]
    # exactly at the cut counts as stable
    assert threshold(lrs, np.full((4, 3), cut), J0, se=se).censored


def test_missing_runs_are_left_out_not_counted_as_collapsed():
    # a plan still running: NaN finals are neither stable nor collapsed
    from rlvr_core.llm.sweeps import stable_fraction, threshold, threshold_ci
    lrs = [0.01, 0.1, 1.0]
    final = np.array([[0.5, 0.5, np.nan], [0.5, np.nan, 0.0], [0.0, 0.0, np.nan]])
    assert np.allclose(stable_fraction(final, 0.5, 0.05), [1, 0.5, 0])
    same = np.array([[0.5, 0.5], [0.5, 0.0], [0.0, 0.0]])       # the same stable fractions, complete
    a, b = threshold(lrs, final, 0.5, se=0.05), threshold(lrs, same, 0.5, se=0.05)
    assert (a.last_pass, a.first_fail) == (b.last_pass, b.first_fail) == (0.01, 1.0)
    assert all(np.isnan(threshold_ci(lrs, final[:, 2:], 0.5, 0.05)))  # one seed: no CI


def test_settings_are_grouped_and_summarised_by_the_rule():
    from rlvr_core.llm.sweeps import by_setting, setting_label, stable_fraction, sweep_summary

    def run(lt, opt, clip, lr, s, final):
        return {"config": {"loss_type": lt, "optim": opt, "max_grad_norm": clip, "learning_rate": lr,
                           "seed": s}, "metrics": [{"reward": final}] * 5}
    runs = ([run("grpo", "sgd", 0.0, lr, s, f) for lr, f in ((0.01, 0.5), (0.1, 0.0)) for s in (0, 1, 2)]
            + [run("grpo", "adamw_torch", 1.0, 1e-4, s, 0.5) for s in (0, 1)])
    groups = by_setting(runs)
    assert list(groups) == ["grpo, SGD", "grpo, AdamW, clipping 1"]
    assert setting_label(runs[0]["config"]) == "grpo, SGD"
    s = sweep_summary(groups["grpo, SGD"], 0.5, 0.05)
    assert (s["bracket"].last_pass, s["bracket"].first_fail) == (0.01, 0.1)
    assert s["runs"] == 6 and s["complete_seeds"] == 3 and s["min_seeds"] == 3
    assert np.allclose(s["stable_fraction"], stable_fraction(s["final"], 0.5, 0.05))
    assert np.all(np.isfinite(s["ci"]))
    a = sweep_summary(groups["grpo, AdamW, clipping 1"], 0.5, 0.05)
    assert a["bracket"].censored and a["runs"] == 2          # nothing failed: above the grid
    two = sweep_summary([r for r in groups["grpo, SGD"] if r["config"]["seed"] < 2], 0.5, 0.05)
    assert (two["bracket"].last_pass, two["bracket"].first_fail) == (0.01, 0.1)
    assert np.all(np.isnan(two["ci"]))                       # two seeds: no CI


def test_smollm2_plans_extend_the_grpo_grid_without_touching_stored_keys():
    from rlvr_core.llm.sweeps import (SMOLLM2_FINE_LRS, SMOLLM2_LRS, smollm2_adamw_configs,
                                      smollm2_dr_grpo_plan, smollm2_fine_plan, smollm2_plan,
                                      smollm2_seed_plan)

    old = {c.key() for c in smollm2_plan() + smollm2_seed_plan()}
    dr = smollm2_dr_grpo_plan()
    assert {(c.learning_rate, c.seed) for c in dr} | {(0.03, 0)} == {(lr, s) for lr in SMOLLM2_LRS
                                                                      for s in (0, 1, 2)}
    assert all(c.loss_type == "dr_grpo" and c.eval_problems == 64 and not c.eval_start for c in dr)
    assert [c.seed for c in dr] == sorted(c.seed for c in dr)       # seed-major
    adam = smollm2_adamw_configs((1e-5, 1e-4))
    assert {(c.optim, c.max_grad_norm) for c in adam} == {("adamw_torch", 0.0), ("adamw_torch", 1.0)}
    fine = smollm2_fine_plan()
    # each midpoint lies strictly inside one step of its grid, as the geometric mean
    for lo, hi, mid in ((0.01, 0.03, SMOLLM2_FINE_LRS["grpo"]), (0.03, 0.1, SMOLLM2_FINE_LRS["dr_grpo"]),
                        (3e-5, 1e-4, SMOLLM2_FINE_LRS["adamw"])):
        assert lo < mid < hi and abs(math.log(mid / math.sqrt(lo * hi))) < 0.05
    assert sorted((c.loss_type, c.optim, c.max_grad_norm, c.seed) for c in fine) == sorted(
        [("grpo", "sgd", 0.0, s) for s in range(3)] + [("dr_grpo", "sgd", 0.0, s) for s in range(3)]
        + [("grpo", "adamw_torch", clip, s) for clip in (0.0, 1.0) for s in range(2)])
    keys = [c.key() for c in dr + adam + fine]
    assert len(set(keys)) == len(keys) and not set(keys) & old


def test_scoring_only_the_completions_leaves_the_step_unchanged():
    # the first step's sampled batch comes from the same starting model either way, so its loss and
    # gradient norm must agree to rounding; the switch must also really select the compact path
    from trl.trainer import utils as trl_utils

    from rlvr_core.llm.runner import score_completions_only
    from rlvr_core.llm.sweeps import TINY_COMMON

    if not score_completions_only():
        pytest.skip("this TRL has no fused LM head to switch")
    warm_start_tiny(2)
    cfg = RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.1, max_steps=1, gap_callback=False)
    patched = trl_utils._use_triton
    assert patched(torch.device("cpu")) is True
    fast = run_grpo(cfg, progress=False)
    try:
        trl_utils._use_triton = lambda device: device.type == "cuda"   # TRL's own choice on a CPU
        with mock.patch("rlvr_core.llm.runner.score_completions_only", return_value=False):
            slow = run_grpo(cfg, progress=False)
    finally:
        trl_utils._use_triton = patched
    assert fast["provenance"]["lm_head_positions"] == "completion"
    assert slow["provenance"]["lm_head_positions"] == "all"
    a, b = fast["metrics"][0], slow["metrics"][0]
    assert a["reward"] == b["reward"]                       # the same sampled batch
    assert math.isclose(a["grad_norm"], b["grad_norm"], rel_tol=1e-4)
    assert math.isclose(a["loss"], b["loss"], rel_tol=1e-4, abs_tol=1e-6)
