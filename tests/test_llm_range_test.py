"""The GRPO learning-rate range test: the pass rule and the first-failure reading against a
brute-force loop, and the CLI on the tiny model (same start for every rate)."""
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

    def fake(cfg):
        m = [{"reward": start}] + [{"reward": 0.4}] * (cfg.max_steps - 2) + [{"reward": after[cfg.learning_rate]}]
        return {"metrics": m, "provenance": {"num_processes": 1}}

    cfg = RunConfig(scratch_len=2, per_device_train_batch_size=n)
    out = range_test(cfg, lrs, steps=3, run=fake)
    se = math.sqrt(start * (1 - start) / n)
    assert math.isclose(out["start_se"], se)
    passed = [after[lr] >= start - se for lr in lrs]
    assert [r["passed"] for r in out["rows"]] == passed == [True, True, False, True, False]
    lead = next(i for i, p in enumerate(passed) if not p)
    assert out["largest_passing_lr"] == lrs[lead - 1] and out["first_failing_lr"] == lrs[lead]


@pytest.mark.slow
def test_cli_on_the_tiny_model(tmp_path, capsys):
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    out = tmp_path / "range.json"
    rc = main(["--config", TINY, "--lrs", "0.01,1,1000", "--steps", "2",
               "--output", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert len({r["start"] for r in res["rows"]}) == 1            # the same start for every rate
    assert [r["learning_rate"] for r in res["rows"]] == [0.01, 1.0, 1000.0]
    assert res["rows"][0]["passed"] and not res["rows"][-1]["passed"]   # a huge rate collapses
    assert "largest passing learning rate" in capsys.readouterr().out
    assert main(["--config", TINY, "--lrs", "1,0.1"]) == 2


class _Control:
    should_training_stop = False


class _State:
    def __init__(self, step):
        self.global_step = step


def test_exponential_callback_ramp_stop_and_reading_match_a_loop():
    from rlvr_core.llm.range_test import ExponentialRangeTest

    n, p0 = 64, 0.5
    cb = ExponentialRangeTest(0.001, 1.0, 4, n, drop_se=2.0, patience=2)
    assert [round(x, 12) for x in cb.lrs] == [0.001, 0.01, 0.1, 1.0]      # geometric ramp
    se = math.sqrt(p0 * (1 - p0) / n)
    rewards = [p0, p0 - 3 * se, p0, p0 - 3 * se, p0 - 3 * se, p0]          # one lone drop, then two
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
    never = ExponentialRangeTest(0.001, 1.0, 4, n)
    for r in (p0, p0, p0):
        never.on_log(None, None, _Control(), logs={"reward": r})
    assert not never.report()["stopped"] and math.isnan(never.report()["largest_safe_lr"])
    with pytest.raises(ValueError, match="min_lr"):
        ExponentialRangeTest(1.0, 0.1, 4, n)


def test_exponential_range_test_in_trl_stops_on_the_tiny_model(tmp_path):
    # a real GRPOTrainer run: the ramp reaches rates that break the model, and the run stops early
    from rlvr_core.llm.models import warm_start_tiny
    from rlvr_core.llm.range_test import exponential_range_test_cached

    warm_start_tiny(2)
    cfg = RunConfig(scratch_len=2, per_device_train_batch_size=16, max_completion_length=12)
    out = exponential_range_test_cached(cfg, 0.01, 1e4, 16, seeds=(0,), results_dir=tmp_path)
    r = out["per_seed"][0]
    assert r["stopped"] and len(r["rewards"]) < 16
    assert 0.01 <= r["largest_safe_lr"] < r["first_failing_lr"] <= 1e4
    assert out["provenance"]["device"] in ("cpu", "cuda")
    again = exponential_range_test_cached(cfg, 0.01, 1e4, 16, seeds=(0,), results_dir=tmp_path,
                                          compute=False)
    assert again == json.loads(json.dumps(out))          # stored, and read back without training


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
    from rlvr_core.llm.range_test import recommendation, summary

    plan = yaml.safe_load((ROOT / "configs" / "plans" / "smollm2_margin.yaml").read_text())
    m = plan["analysis"]["margin"]
    ramp = {"min_lr": 1e-3, "max_lr": 10.0, "num_steps": 25, "largest_safe_lr": 0.0316,
            "per_seed": [{"seed": 0, "start": 0.3, "stopped": True, "first_failing_lr": 0.05,
                          "largest_safe_lr": 0.0316}]}
    text = summary(ramp)
    assert f"recommended learning rate: {0.0316 / m:.3g} (the answer / {m:g}" in text
    assert f"for {plan['analysis']['horizon_tiny']} steps" in text
    assert f"for {plan['common']['max_steps']} steps" in text
    assert "none" in recommendation(float("nan"))
