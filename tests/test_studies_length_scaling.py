"""rlvr_core.studies.length_scaling: notebook 04's sizes and the sentences it prints. Each sentence
quotes the computed number and flips its wording when the result flips (the negative controls)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rlvr_core.studies import length_scaling as study
from rlvr_core.stats.thresholds import Bracket


def test_sizes_are_the_notebooks_sizes_for_both_profiles():
    etas = [0.05 * 2 ** (k / 2) for k in range(33)]
    assert study.sizes("default") == study.Sizes([1, 2, 4, 8, 16, 32, 64], 16, 1000, 300, etas)
    assert study.sizes("full") == study.Sizes([1, 2, 4, 8, 16, 32, 64], 64, 1000, 600, etas)
    with pytest.raises(ValueError, match="PROFILE"):
        study.sizes("huge")


def test_ratio_limit_is_the_limit_of_the_derived_ratio():
    T = 1e6
    assert math.isclose(T * (1 - 0.2 ** (1 / T)) / (1 - 0.2), study.ratio_limit(0.2), rel_tol=1e-5)


def test_moments_verdict_quotes_the_slopes_and_flips_when_a_bound_fails():
    m = study.token_moments(0)
    text = study.moments_verdict(m)
    assert "hold at every T" in text
    assert f"{m.slopes['MLP']['G_seq']:.1f} and {m.slopes['MLP']['second_moment']:.1f}" in text
    broken = SimpleNamespace(**{**vars(m), "tab": m.tab.assign(G_ratio=m.tab.G_ratio * 1.5)})
    assert "VIOLATED" in study.moments_verdict(broken)


@pytest.fixture(scope="module")
def cond():
    return study.conditional_moments()


def test_conditional_verdict_counts_the_failures_and_flips_when_the_proposition_fails(cond):
    text = study.conditional_verdict(cond)
    assert f"fails on {int((cond.ratio_uncond > 1).sum())} of {len(cond)} points" in text
    assert "holds everywhere" in text
    assert "FAILS somewhere" in study.conditional_verdict(cond.assign(TG2_over_fail=cond.var_minus - 1))


def _iid(slope):
    return SimpleNamespace(slope=slope, final=torch.full((2, 3), 0.9), j0=0.2, etas=[0.05, 3277.0])


def test_iid_verdict_flips_with_the_slope():
    assert "-0.1 in T (P4's criterion" in study.iid_verdict(_iid(-0.1))
    assert "0 of 6 constant-step runs" in study.iid_verdict(_iid(-0.1))
    assert "it shrinks with T" in study.iid_verdict(_iid(-1.0))


def _kt(majority_slopes):
    slopes = {("majority", "any fall of logit J"): np.array(majority_slopes),
              ("all_correct", "any fall of logit J"): np.array([0.0, 0.01, -0.01, 0.02])}
    return SimpleNamespace(slopes=slopes, angles=[0] * 4)


def test_k_of_t_verdict_quotes_the_ci_and_flips_with_the_criterion():
    text = study.k_of_t_verdict(_kt([-0.95, -0.97, -0.93, -0.96]))
    assert "slope -0.95" in text and "show Theorem 3's length effect" in text
    assert "no length effect shown" in study.k_of_t_verdict(_kt([-0.2, -0.3, -0.1, -0.25]))


def _al(slope_raw, slope_norm, ci_raw):
    star = np.array([math.nan, 86.1, 60.9, 15.2, 7.6, 7.6, 1.9])
    nan = torch.tensor([math.nan] + [1.0] * 6, dtype=torch.float64)
    return SimpleNamespace(slope_raw=slope_raw, slope_norm=slope_norm, ci_raw=ci_raw, ci_norm=(-0.27, 0.21),
                           eta_star={"grpo_no_length": star, "grpo": star * 2}, lengths=[1, 2, 4, 8, 16, 32, 64],
                           etas=[0.05, 3277.0], brackets={"grpo_no_length": Bracket(nan.clone(), nan.clone())})


def test_answer_last_verdict_quotes_the_slope_and_flips_with_the_criterion():
    text = study.answer_last_verdict(_al(-1.07, -0.16, (-1.24, -0.90)))
    assert "-1.07 (90% CI [-1.24, -0.90])" in text and "criterion is met" in text
    assert "contains the -1 " in text
    flat = study.answer_last_verdict(_al(-0.3, -0.2, (-0.6, 0.1)))
    assert "NOT met" in flat and "does not contain the -1 " in flat


def test_tables_carry_their_summary_lines(cond):
    assert "rows where the unconditional bound fails" in study.conditional_table(cond)
    assert "martingale identity" in study.moments_table(study.token_moments(0))


def test_noise_prediction_separates_mean_gain_from_noise():
    """Answer-last model: the free tokens leave E<w,g> unchanged and add ~T to E|w|^2, so the
    expected-gain step falls like ~1/T (a slope far from the 0 of a noise-free update)."""
    phi = study.circle_token_features(8)
    pred = study.noise_prediction(phi, 0.2, 8, [2, 8, 32], seed=1, num_groups=1500, num_estimates=2)
    assert abs(pred.gain_slope[0]) < 0.06
    assert 0.8 < pred.m2_slope[0] < 1.05
    assert -1.05 < pred.slope[0] < -0.8


def test_noise_verdict_flips_when_the_runs_disagree():
    """The mechanism check reports 'excludes 0' when the measured bootstrap slopes sit far from the
    prediction (negative control), 'contains 0' when they straddle it."""
    pred = SimpleNamespace(slope=(-0.95, -0.98, -0.92), slopes=[-0.95] * 3, gain_slope=(0.0, -0.02, 0.02),
                           m2_slope=(0.94, 0.9, 0.98))
    near = SimpleNamespace(ci_raw=(-1.2, -0.9), slope_raw=-1.05,
                           fits={"grpo_no_length": {"boot": np.linspace(-1.2, -0.85, 50)}})
    far = SimpleNamespace(ci_raw=(-2.2, -1.8), slope_raw=-2.0,
                          fits={"grpo_no_length": {"boot": np.linspace(-2.2, -1.8, 50)}})
    assert "which contains 0" in study.noise_verdict(near, pred)
    assert "which excludes 0" in study.noise_verdict(far, pred)
    assert "excludes 2 of the 2" in study.noise_verdict(near, pred)
    assert "excludes 1 of the 2" in study.noise_verdict(far, pred)


def test_variable_length_verdict_counts_prediction_and_power():
    """§3c's sentence: a prediction outside a CI is counted out (negative control), and a CI that
    contains 0 is reported as unable to discriminate."""
    labs = [a for a, _ in study.VARIABLE_ALGS]
    fits = {a: {"slope": s, "ci": ci} for a, s, ci in zip(labs, (-0.9, 0.0, 0.1, -0.5),
                                                          ((-1.2, -0.6), (-0.3, 0.3), (0.05, 0.2), (-0.7, -0.3)))}
    pred = {a: (m, m - 0.02, m + 0.02) for a, m in zip(labs, (-0.85, 0.1, 0.5, -0.4))}
    text = study.variable_length_verdict(SimpleNamespace(fits=fits, predicted=pred))
    assert "for 3 of 4 weightings" in text and "Dr. GRPO" not in text.split("(")[1].split(")")[0]
    assert "only 3 CIs" in text.replace("But o", "o")
