"""rlvr_core.studies.stagnation_ci: the tail classes, the schedule difference, the threshold
exponent's seed bootstrap and the robust far-failure fits, on hand-made inputs with known answers
and negative controls."""
import numpy as np
import pytest

from rlvr_core.studies import stagnation_ci as sci


def test_tail_class_flips_at_the_tolerance():
    assert sci.tail_class((-0.01, 0.01), 0.02) == "flat"
    assert sci.tail_class((0.03, 0.05), 0.02) == "climbing"
    assert sci.tail_class((-0.05, -0.03), 0.02) == "falling"
    assert sci.tail_class((0.0, 0.05), 0.02) == "undecided"


def test_tail_classes_see_a_climbing_and_a_flat_mean_curve():
    k = np.arange(50, dtype=float)
    gen = np.random.default_rng(0)
    climbing = 0.5 + 0.002 * k + 0.001 * gen.standard_normal((16, 50))
    flat = 0.5 + 0.001 * gen.standard_normal((16, 50))
    runs = {("grpo", "constant"): {"tail": np.stack([climbing, flat])}}
    tab = sci.tail_classes(runs, [1.0, 2.0], 0.02, seed=0)
    assert list(tab.loc["grpo / constant"]) == ["climbing", "flat"]


def test_difference_ci_covers_the_true_difference_and_excludes_zero_only_when_it_should():
    gen = np.random.default_rng(1)
    a, b = gen.normal(0.7, 0.1, 200), gen.normal(0.6, 0.1, 200)
    d = sci.difference_ci(a, b, seed=0)
    assert d["ci"][0] > 0 and d["ci"][0] < 0.1 < d["ci"][1]
    same = sci.difference_ci(a, gen.normal(0.7, 0.1, 200), seed=0)  # negative control
    assert same["ci"][0] < 0 < same["ci"][1]


def test_schedule_verdict_writes_the_sentence_from_the_ci():
    runs = {("grpo", "failure_rate"): {"final": np.array([np.full(64, 0.99)])},
            ("grpo", "constant"): {"final": np.array([np.r_[np.ones(32), np.zeros(32)]])}}
    st = {"p6_eta": 0, "etas": [100.0]}
    up = sci.schedule_verdict(runs, st, 0, 0.95)
    assert "raises the mean final J" in up and "the plateau is removed" in up
    runs["grpo", "failure_rate"]["final"] = runs["grpo", "constant"]["final"].copy()
    same = sci.schedule_verdict(runs, st, 0, 0.95)
    assert "does not change the mean final J detectably" in same and "does not remove" in same


def test_threshold_exponent_ci_recovers_a_known_power_law():
    # threshold eta*(J0) = 2 / (1 - J0)^0.5 on a fine grid: runs pass (end at J0 + 0.01) below it
    j0 = np.array([0.5, 0.7, 0.9, 0.97, 0.99])
    etas = list(np.geomspace(0.5, 200, 80))
    thr = 2 / (1 - j0) ** 0.5
    gen = np.random.default_rng(0)
    final = np.where(np.array(etas)[None, :, None] <= thr[:, None, None], j0[:, None, None] + 0.01,
                     j0[:, None, None] - 0.2) + 0.001 * gen.standard_normal((5, 80, 8))
    out = sci.threshold_exponent_ci(final, j0, etas, seed=0)
    assert out["slope"] == pytest.approx(-0.5, abs=0.05)
    assert out["ci"][0] <= out["slope"] + 1e-9 and out["finite_frac"] == 1.0


def test_robust_far_exponent_is_not_driven_by_one_short_instance():
    f = np.geomspace(0.4, 1e-3, 20)
    curves = [(f, 3.0 * f ** 0.0 * (1 + 0.01 * i), 0.3) for i in range(8)]
    curves.append((f[:3], 5.0 * f[:3] ** -12.0, 0.3))   # one short instance with a wild slope
    rf = sci.robust_far_exponent(curves, 1e5, seed=0)
    assert rf["median"] == pytest.approx(0.0, abs=1e-9)
    assert abs(rf["pooled"]) < 0.5 and rf["weights"].max() < 0.2
    mean = np.mean([np.polyfit(np.log(x), np.log(y), 1)[0] for x, y, _ in curves])
    assert mean < -1.0  # the per-instance mean is what the single instance drives


def test_sampled_table_quotes_the_cis_when_given():
    from rlvr_core.studies import stagnation as study
    sr = {"eta": {(1, "grpo"): np.ones(5)}, "e_run": {(1, "grpo"): -0.16}}
    assert "CI" not in study.sampled_table(sr)
    assert "exponent -0.16, 90% CI over seeds [-0.23, -0.10]" in study.sampled_table(
        sr, {(1, "grpo"): {"ci": np.array([-0.23, -0.10])}})
