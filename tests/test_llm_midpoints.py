"""The pre-registered 128-token test: its rule on hand-made runs, its exact test, and its
prediction recomputed from the stored step-1 batches."""
import math

import pytest

from rlvr_core.llm import midpoints as mp
from rlvr_core.llm.sweeps import smollm2_runs


def run(lt, lr, seed, reward, clipped, cap=128, optim="sgd"):
    return {"config": {"loss_type": lt, "learning_rate": lr, "seed": seed, "max_completion_length": cap,
                       "optim": optim},
            "metrics": [{"reward": reward, "completions/clipped_ratio": clipped}] * 30,
            "provenance": {"device": "cpu"}}


def test_a_run_rewarded_at_the_cap_counts_as_collapsed():
    cut = 0.23
    assert mp.seed_stable(run("grpo", 0.01, 0, 0.5, 0.1), cut)
    # negative control of the cap clause: full reward, but every reply truncated
    assert not mp.seed_stable(run("grpo", 0.01, 0, 1.0, 0.6), cut)
    assert not mp.seed_stable(run("grpo", 0.01, 0, 0.2, 0.0), cut)


def test_bracket_uses_majorities_of_complete_rates_only():
    by_rate = {0.01: [True] * 3, 0.03: [True, True, False], 0.05: [False, True],  # 2 seeds: ignored
               0.1: [True, False, False], 0.3: [True, True, True]}                 # late pass: ignored
    b = mp.bracket(by_rate)
    assert (b.last_pass, b.first_fail) == (0.03, 0.1)
    assert b.estimate == pytest.approx(math.sqrt(0.003))
    assert math.isnan(mp.bracket({0.01: [True]}).estimate)


def test_fisher_greater_is_the_hypergeometric_tail():
    # 3/3 against 0/3: the one table as extreme among C(6, 3) equally likely splits
    assert mp.fisher_greater(3, 3, 0, 3) == pytest.approx(1 / math.comb(6, 3))
    # 4/6 against 0/6: P(X >= 4), X ~ Hypergeom(12 seeds, 4 stable, 6 drawn)
    tail = sum(math.comb(4, k) * math.comb(8, 6 - k) for k in (4,)) / math.comb(12, 6)
    assert mp.fisher_greater(4, 6, 0, 6) == pytest.approx(tail)


def test_evaluate_reads_only_128_token_sgd_runs_and_waits_for_all_midpoints():
    runs = [run(lt, lr, s, 0.5 if lr <= lim else 0.0, 0.0)
            for lt, lrs, lim in (("grpo", (0.01, 0.03, 0.1), 0.03), ("dr_grpo", (0.01, 0.1, 0.3), 0.1))
            for lr in lrs for s in mp.SEEDS]
    runs += [run("grpo", 0.03, 0, 0.0, 0.0, cap=24), run("grpo", 0.03, 1, 0.0, 0.0, optim="adamw_torch")]
    v = mp.evaluate(runs, cut=0.2)
    assert v.ratio == pytest.approx(math.sqrt(0.1 * 0.3) / math.sqrt(0.03 * 0.1))
    assert v.midpoint_runs == 0 and v.holds is None
    assert v.sanity == {"grpo 0.017 stable": None, "dr_grpo 0.55 collapsed": None}


def test_the_prediction_is_the_stored_step1_ratio():
    ratios = mp.step1_ratios([r for r in smollm2_runs(128) if mp.is_cap128_sgd(r)])
    if len(ratios) < len(mp.SEEDS):
        pytest.skip("the 128-token runs are not stored here")
    values = sorted(ratios.values())
    assert values[1] == pytest.approx(mp.PREDICTED["median"], abs=0.005)
    assert (values[0], values[-1]) == pytest.approx(mp.PREDICTED["range"], abs=0.005)
