"""The margin analysis of notebook 10 (plan smollm2_margin) on synthetic runs whose fate is known,
and its plan's internal consistency."""
from types import SimpleNamespace

import numpy as np
import pytest

from rlvr_core.studies import range_margin as rm

J0 = {"success": 0.25, "se": 0.025}


def _run(optim, seed, lr, rewards, steps=60):
    metrics = [{"reward": float(x), "completions/mean_length": 9.0} for x in rewards]
    return {"config": {"optim": optim, "seed": seed, "learning_rate": lr, "max_steps": steps},
            "metrics": metrics, "provenance": {"seconds_per_step": 17.0},
            "eval": [{"step": steps // 2, "success": 0.9}, {"step": steps, "success": 0.9}]}


def _plan(analysis):
    rates = rm.planned_rates(analysis)
    configs = [SimpleNamespace(optim=o, learning_rate=lr, seed=s, max_steps=60)
               for s in (0, 1) for o, lr in rates.items()]
    return SimpleNamespace(name="synthetic", analysis=analysis, configs=configs)


@pytest.mark.parametrize("name, rates", [("smollm2_margin", {"sgd": 0.0016, "adamw_torch": 9.8e-6}),
                                         ("smollm2_margin_evalref", {"sgd": 0.005, "adamw_torch": 1.6e-5})])
def test_the_stored_plans_are_what_they_say(name, rates):
    plan = rm.margin_plan(name)
    a = plan.analysis
    pred = a["prediction"]
    assert a["margin"] == 20 and a["j0"] == "start_success"
    assert pred.get("max_collapsed", pred.get("v1_max_collapsed")) == 0
    # the rates are the answers / margin to 2 significant digits (an independent product here)
    assert rm.planned_rates(a) == rates
    assert sorted((c.optim, c.learning_rate, c.seed, c.max_steps) for c in plan.configs) == sorted(
        (o, lr, s, 60) for o, lr in rates.items() for s in (0, 1, 2))
    with pytest.raises(ValueError, match="margin plan"):
        rm.margin_plan("smollm2")


def test_the_second_plans_answers_are_the_stored_range_tests():
    # the answers it divides are the stored exponential tests with the evaluation-set reference
    from rlvr_core.llm.sweeps import smollm2_adamw_ramp, smollm2_configs
    from rlvr_core.llm.range_test import exponential_range_test_cached

    a = rm.margin_plan("smollm2_margin_evalref").analysis["range_test_answers"]
    sgd = exponential_range_test_cached(smollm2_configs(learning_rates=(0.03,))[0], 1e-3, 10.0, 25,
                                        (0, 1, 2), compute=False)
    adamw = smollm2_adamw_ramp(compute=False)
    assert sgd["reference"]["source"] == adamw["reference"]["source"] == "evaluation set"
    assert sgd["largest_safe_lr"] == pytest.approx(a["sgd"], rel=1e-3)
    assert adamw["largest_safe_lr"] == pytest.approx(a["adamw_torch"], rel=1e-3)


def test_a_run_that_falls_below_half_J0_is_collapsed_and_v1_fails():
    plan = _plan(rm.margin_plan().analysis)
    rates = rm.planned_rates(plan.analysis)
    steady = np.full(60, 0.8)
    falls = np.r_[np.full(30, 0.8), np.zeros(30)]   # trailing mean < 0.125 from step 30 + 17
    runs = [_run("sgd", 0, rates["sgd"], steady), _run("sgd", 1, rates["sgd"], falls),
            _run("adamw_torch", 0, rates["adamw_torch"], steady), _run("adamw_torch", 1, rates["adamw_torch"], steady)]
    mg = rm.margin(plan, runs, J0)
    steps = {(r["optim"], r["seed"]): r["collapse_step"] for r in mg.rows}
    # the first t with mean(r[t-20:t]) < 0.125: 20 - n zeros of 0.8 < 2.5 -> n >= 17, t = 47
    assert steps == {("sgd", 0): None, ("sgd", 1): 47, ("adamw_torch", 0): None, ("adamw_torch", 1): None}
    assert mg.per_opt["sgd"]["collapsed"] == 1 and not mg.holds            # the negative case
    assert mg.per_opt["adamw_torch"]["collapsed"] == 0
    fell = next(r for r in mg.rows if (r["optim"], r["seed"]) == ("sgd", 1))
    assert fell["stable_30"] and not fell["stable_end"]      # notebook 08's rule, at 30 and at 60
    ok = rm.margin(plan, [r for r in runs if r["config"]["seed"] == 0 or r["config"]["optim"] != "sgd"], J0)
    assert ok.holds and not ok.complete
    # 0 of 2 seeds: the Wilson 90% upper end, against its closed form at k = 0: z^2 / (n + z^2)
    z = 1.6448536269514722
    assert ok.per_opt["adamw_torch"]["wilson_hi"] == pytest.approx(z * z / (2 + z * z))


def test_a_plan_whose_rates_are_not_answer_over_margin_is_refused():
    plan = _plan(rm.margin_plan().analysis)
    plan.configs[0].learning_rate *= 2
    with pytest.raises(ValueError, match="answer / margin"):
        rm.margin(plan, [], J0)
    plan = _plan({**rm.margin_plan().analysis, "j0": "warm_start"})
    with pytest.raises(ValueError, match="J0"):
        rm.margin(plan, [], J0)
