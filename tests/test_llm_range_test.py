"""The GRPO learning-rate range test: the pass rule and the first-failure reading against a
brute-force loop, the reference J0 read from the evaluation set (not the first batch), and the CLI
on the tiny model (same start for every rate)."""
import json
import math
from pathlib import Path

import pytest

from rlvr_core.llm.range_test import main, parse_lrs, range_test
from rlvr_core.llm.runner import RunConfig

TINY = str(Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml")


def test_grid_parsing():
    assert parse_lrs("0.01,0.1,1") == [0.01, 0.1, 1.0]
    g = parse_lrs("0.01:100:5")
    assert len(g) == 5 and math.isclose(g[0], 0.01) and math.isclose(g[-1], 100) and math.isclose(g[1], 0.1)
    for bad in ("1,0.1", "0,1", "1:0.1:3", "0.1:1:1", ""):
        with pytest.raises(ValueError):
            parse_lrs(bad)


def test_pass_rule_and_first_failure_match_a_loop():
    lrs = [0.01, 0.03, 0.1, 0.3, 1.0]
    after = {0.01: 0.5, 0.03: 0.45, 0.1: 0.2, 0.3: 0.6, 1.0: 0.0}      # a lucky pass after a failure
    start, n = 0.5, 16

    def fake(cfg, first=0.9):   # a lucky first batch: the reference must not be read from it
        m = [{"reward": first}] + [{"reward": 0.4}] * (cfg.max_steps - 2) + [{"reward": after[cfg.learning_rate]}]
        return {"metrics": m, "provenance": {"num_processes": 1}}

    cfg = RunConfig(scratch_len=2, per_device_train_batch_size=n)
    ref = {"source": "evaluation set", "success": start, "se": 0.03, "n": 256}
    out = range_test(cfg, lrs, steps=3, run=fake, reference=ref)
    se = math.sqrt(start * (1 - start) / n)
    assert math.isclose(out["start_se"], se) and out["start"] == start and out["reference"] == ref
    passed = [after[lr] >= start - se for lr in lrs]
    assert [r["passed"] for r in out["rows"]] == passed == [True, True, False, True, False]
    lead = next(i for i, p in enumerate(passed) if not p)
    assert out["largest_passing_lr"] == lrs[lead - 1] and out["first_failing_lr"] == lrs[lead]
    # three seeds: the tolerance is the standard error of their mean batch, se / sqrt(3)
    three = range_test(cfg, lrs, steps=3, seeds=(0, 1, 2), run=fake, reference=ref)
    assert math.isclose(three["start_se"], se / math.sqrt(3))
    # negative control: read against the lucky first batch (0.9), every rate would fail
    assert not any(after[lr] >= 0.9 - se for lr in lrs)


@pytest.mark.slow
def test_cli_on_the_tiny_model(tmp_path, capsys, monkeypatch):
    from rlvr_core.llm.models import warm_start_tiny

    monkeypatch.setattr("rlvr_core.llm.store.RESULTS_DIR", tmp_path)   # the reference J0 is stored here
    warm_start_tiny(2)
    out = tmp_path / "range.json"
    rc = main(["--config", TINY, "--lrs", "0.01,1,1000", "--steps", "2",
               "--output", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert len({r["first_batch"] for r in res["rows"]}) == 1      # the same start for every rate
    assert [r["learning_rate"] for r in res["rows"]] == [0.01, 1.0, 1000.0]
    assert res["rows"][0]["passed"] and not res["rows"][-1]["passed"]   # a huge rate collapses
    text = capsys.readouterr().out
    assert "largest passing learning rate" in text and "reference J0 = " in text
    assert res["reference"]["n"] >= 256 and (tmp_path / "start_success").is_dir()
    assert main(["--config", TINY, "--lrs", "1,0.1"]) == 2
    assert main(["--config", TINY, "--lrs", "0.1,1", "--reference", "1.2:100"]) == 2


class _Control:
    should_training_stop = False


class _State:
    def __init__(self, step):
        self.global_step = step


def test_exponential_callback_ramp_stop_and_reading_match_a_loop():
    from rlvr_core.llm.range_test import ExponentialRangeTest

    n, p0 = 64, 0.5
    cb = ExponentialRangeTest(0.001, 1.0, 4, n, reference=p0, drop_se=2.0, patience=2)
    assert [round(x, 12) for x in cb.lrs] == [0.001, 0.01, 0.1, 1.0]      # geometric ramp
    se = math.sqrt(p0 * (1 - p0) / n)
    # the first batch is lucky (p0 + 3 se): it must not become the reference
    rewards = [p0 + 3 * se, p0 - 3 * se, p0, p0 - 3 * se, p0 - 3 * se, p0]  # one lone drop, then two
    opt = type("Opt", (), {"param_groups": [{"lr": 0.0}]})()
    control, stopped_at = _Control(), None
    for t, r in enumerate(rewards):
        cb.on_step_begin(None, _State(t), control, optimizer=opt)
        assert opt.param_groups[0]["lr"] == cb.lrs[min(t, 3)]
        cb.on_log(None, _State(t + 1), control, logs={"reward": r})
        if control.should_training_stop:
            stopped_at = t
            break
    assert stopped_at == 4                     # the lone drop at t=1 did not stop the run
    rep = cb.report()
    # the streak starts at batch 3, sampled after the update with lrs[2]
    assert rep["stopped"] and rep["first_failing_lr"] == cb.lrs[2] and rep["largest_safe_lr"] == cb.lrs[1]
    assert rep["start"] == p0 and rep["first_batch"] == rewards[0]
    never = ExponentialRangeTest(0.001, 1.0, 4, n, reference=p0)
    for r in (p0 + 3 * se, p0 - 1.5 * se, p0 - 1.5 * se):   # within 2 se of J0, though 4.5 se below the first batch
        never.on_log(None, None, _Control(), logs={"reward": r})
    assert not never.report()["stopped"] and math.isnan(never.report()["largest_safe_lr"])
    with pytest.raises(ValueError, match="min_lr"):
        ExponentialRangeTest(1.0, 0.1, 4, n, reference=p0)
    with pytest.raises(ValueError, match="reference"):
        ExponentialRangeTest(0.001, 1.0, 4, n, reference=1.0)


def test_exponential_range_test_in_trl_stops_on_the_tiny_model(tmp_path):
    # a real GRPOTrainer run: the ramp reaches rates that break the model, and the run stops early
    from rlvr_core.llm.models import warm_start_tiny
    from rlvr_core.llm.range_test import exponential_range_test_cached

    warm_start_tiny(2)
    cfg = RunConfig(scratch_len=2, per_device_train_batch_size=16, max_completion_length=12)
    out = exponential_range_test_cached(cfg, 0.01, 1e4, 16, seeds=(0,), results_dir=tmp_path)
    # the reference is the evaluation set's J0, stored beside the test (not in the repository)
    stored_j0 = json.loads(next((tmp_path / "start_success").glob("tiny-*.json")).read_text())
    assert out["reference"]["success"] == stored_j0["success"] and out["reference"]["n"] == stored_j0["n"] >= 256
    r = out["per_seed"][0]
    assert r["stopped"] and len(r["rewards"]) < 16
    assert 0.01 <= r["largest_safe_lr"] < r["first_failing_lr"] <= 1e4
    assert out["provenance"]["device"] in ("cpu", "cuda")
    again = exponential_range_test_cached(cfg, 0.01, 1e4, 16, seeds=(0,), results_dir=tmp_path,
                                          compute=False)
    assert again == json.loads(json.dumps(out))          # stored, and read back without training


def test_reference_from_the_evaluation_set_or_given():
    from rlvr_core.llm.range_test import REFERENCE_REPLIES, given_reference, reference_request

    tiny = reference_request(RunConfig(scratch_len=2))              # its 16 problems, 16 replies each
    assert tiny["samples"] * RunConfig().num_problems == REFERENCE_REPLIES
    chat = reference_request(RunConfig(model="smollm2", task="chat_sum"))
    assert chat["num_problems"] * chat["samples"] == REFERENCE_REPLIES
    g = given_reference("0.25:400")
    assert g["success"] == 0.25 and math.isclose(g["se"], math.sqrt(0.25 * 0.75 / 400))
    for bad in ("0.25", "0:400", "0.3:0", "x:1"):
        with pytest.raises(ValueError, match="--reference"):
            given_reference(bad)
    with pytest.raises(ValueError, match="math"):
        reference_request(RunConfig(task="math", dataset_path="sample"))


def test_ramp_estimate_is_a_censored_lower_median():
    from rlvr_core.llm.range_test import ramp_estimate

    def seed(safe, stopped=True):
        return {"stopped": stopped, "largest_safe_lr": safe}

    nan = float("nan")
    # a seed that dropped at once counts below the ramp, one that never dropped above it
    assert ramp_estimate([seed(0.03), seed(0.1), seed(nan)], 10.0) == 0.03
    assert ramp_estimate([seed(0.03), seed(nan, stopped=False), seed(0.1)], 10.0) == 0.1
    assert ramp_estimate([seed(0.03), seed(0.1)], 10.0) == 0.03          # lower median
    assert math.isnan(ramp_estimate([seed(nan), seed(nan), seed(0.1)], 10.0))


def test_the_summary_recommends_the_answer_over_the_plans_margin():
    import yaml

    from rlvr_core.infra.provenance import ROOT
    from rlvr_core.llm.range_test import MARGIN_PLAN, MARGIN_PLANS, recommendation, summary

    assert MARGIN_PLAN == MARGIN_PLANS[-1] == "smollm2_margin_evalref"   # the plan of the current test
    plan = yaml.safe_load((ROOT / "configs" / "plans" / f"{MARGIN_PLAN}.yaml").read_text())
    m = plan["analysis"]["margin"]
    ramp = {"min_lr": 1e-3, "max_lr": 10.0, "num_steps": 25, "largest_safe_lr": 0.0316,
            "reference": {"source": "evaluation set", "success": 0.25, "se": 0.027, "n": 256},
            "per_seed": [{"seed": 0, "first_batch": 0.3, "stopped": True, "first_failing_lr": 0.05,
                          "largest_safe_lr": 0.0316}]}
    text = summary(ramp)
    assert f"recommended learning rate: {0.0316 / m:.3g} (the answer / {m:g}" in text
    assert f"for {plan['analysis']['horizon_tiny']} steps" in text
    assert f"for {plan['common']['max_steps']} steps" in text
    assert "none" in recommendation(float("nan"))
