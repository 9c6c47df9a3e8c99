"""The sentences and sizes of notebook 05's study module (rlvr_core.studies.stagnation): each
sentence quotes the number it is given and flips its wording when the result flips (the negative
controls), on small hand-made results so that no simulation runs."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from rlvr_core.studies import stagnation as study


def _summary(plateau=0.655, lost=0.34, flat=(-0.0001, 0.0007), cap_lost=0.0):
    etas = [1.0, 100.0]
    const = np.array([[0.9] * 4, [plateau] * 4])
    absorbed = {("grpo", "constant"): np.array([0.0, lost]),
                ("grpo", "theorem1"): np.array([0.0, cap_lost])}
    return {"p6_eta": 1, "worst": 1, "const": const, "thm": np.array([[0.9] * 4, [0.987] * 4]),
            "absorbed": absorbed, "flat_change": np.array(flat), "window": 150, "etas": etas,
            "seeds": 64, "flat_tol": 0.02}


def test_sizes_are_the_notebooks_sizes_for_both_profiles():
    d, f = study.sizes("default"), study.sizes("full")
    assert (d.run_seeds, d.run_steps, d.mp_runs, d.p5_seeds) == (64, 600, 16, 16)
    assert (f.run_seeds, f.run_steps, f.mp_runs, f.p5_seeds) == (256, 2000, 64, 64)
    assert d.etas_fixed == [1.0, 3.0, 10.0, 30.0, 100.0] and d.mp_etas == [10.0, 100.0, 1000.0, 3000.0]
    assert len(d.run_etas) == 30 and d.p5_steps == 100 and d.flat_tol == 0.02
    with pytest.raises(ValueError, match="PROFILE"):
        study.sizes("fast")


def test_check_parameters_names_the_bad_parameter():
    assert study.check_parameters(0, 0.2, 16, 8, 8).shape == (8, 2)
    with pytest.raises(ValueError, match="J0"):
        study.check_parameters(0, 0.1, 16, 8, 8)  # below 1/VOCAB
    with pytest.raises(ValueError, match="GROUP_SIZE"):
        study.check_parameters(0, 0.2, 16, 1, 8)


def test_single_failure_advantages_match_their_closed_forms():
    adv_std, adv_raw = study.single_failure_advantages(8)
    assert adv_std == pytest.approx(-math.sqrt(7), abs=1e-3) and adv_raw == pytest.approx(-0.875)
    assert "with std -2.645" in study.advantages_line(8, adv_std, adv_raw, 1.0)


def test_stagnation_verdict_quotes_the_plateau_and_flips_when_there_is_none():
    text = study.stagnation_verdict(_summary())
    assert "ends at 0.655" in text and "34% of the runs" in text and "a plateau below 100 %" in text
    assert "no run is absorbed" in text and "0.987 instead of 0.655" in text
    # negative controls: a high final J, a tail that still moves, a cap that loses runs
    assert "not a plateau" in study.stagnation_verdict(_summary(plateau=0.97))
    assert "not a plateau" in study.stagnation_verdict(_summary(flat=(0.01, 0.05)))
    assert "some runs are still absorbed" in study.stagnation_verdict(_summary(cap_lost=0.1))


def _mp(final_rows):
    final = np.array(final_rows)
    acc = np.concatenate([np.full(final.shape + (1,), 0.2), final[..., None]], -1)
    return {"acc": acc, "final": final, "ci": np.stack([final.min(-1), final.max(-1)]),
            "between": ((final > 0.05) & (final < 0.95)).sum(-1), "absorbed": (final <= 0.05).sum(-1),
            "worst": int(np.argmin(final.mean(-1))), "etas": [10.0, 3000.0], "runs": 4, "prompts": 32}


def test_multi_prompt_verdict_says_mixture_or_stuck():
    mixed = study.multi_prompt_verdict(_mp([[0.99] * 4, [1.0, 1.0, 1.0, 0.0]]))
    assert "1 of 4 runs are absorbed" in mixed and "0.750" in mixed and "a mixture" in mixed
    assert "at the smaller steps it is 0.990" in mixed
    stuck = study.multi_prompt_verdict(_mp([[0.99] * 4, [1.0, 1.0, 0.5, 0.5]]))
    assert "partly made of runs stuck in between" in stuck and "2 of 8 runs end in between" in stuck
    assert len(study.multi_prompt_table(_mp([[0.99] * 4, [1.0] * 4]))) == 2


def _exponents(gap=-0.23):
    rows = [{"model": m, "direction": d, "measured exponent": e, "derived from e_g": e}
            for m in study.MODELS for d, e in (("gap", gap), ("reinforce", gap - 0.92),
                                               ("grpo_no_length", gap - 0.46))]
    return {"exponents": pd.DataFrame(rows)}


def test_safe_step_verdict_quotes_exponents_and_flips_when_one_shrinks():
    text = study.safe_step_verdict(_exponents())
    assert "along g -0.23" in text and "REINFORCE -1.15" in text and "P5 is not reproduced" in text
    flipped = study.safe_step_verdict(_exponents(gap=1.0))
    assert "along g 1.00" in flipped and "does shrink" in flipped
    assert list(study.exponents_of(_exponents(), "gap")["measured exponent"]) == [-0.23, -0.23]


def test_far_verdict_checks_the_bound_and_explains_a_positive_exponent():
    fine_step = float(study.FINE[1] / study.FINE[0])
    ss = {"safe": {("one token (T=1)", "gap"): np.array([6.98, 7.5])}}

    def ff(safe, e):
        return {"table": pd.DataFrame({"min safe eta": [safe.min()]}), "e": np.array(e),
                "ci": np.array([min(e), max(e)]), "curves": [(np.array([0.1, 0.01]), safe, 0.32)]}
    def rf(e, ci):
        return {"median": e, "median_ci": np.array(ci)}
    good = study.far_verdict(ff(np.array([0.592, 1.0]), [-2.0, -1.0]), ss, rf(-1.5, [-2.0, -1.0]))
    assert "0.592" in good and "6.98" in good and "every measured step respects" in good
    assert "censored" not in good and "median exponent over instances -1.50" in good
    assert "does not shrink like 1 - J" in good
    bad = study.far_verdict(ff(np.array([0.1 / fine_step, 1.0]), [0.5, 1.0]), ss, rf(0.75, [0.6, 1.0]))
    assert "does NOT respect" in bad and "censored" in bad and "and shrinks with 1 - J" in bad
    assert study.far_ratios(ff(np.array([0.32, 0.64]), [0.0])).min() == pytest.approx(fine_step)


def test_grids_line_names_the_grids():
    line = study.grids_line(study.sizes("default"))
    assert "100 steps, 16 seeds" in line and "(14 values)" in line and "700 points" in line
    assert torch.is_tensor(study.FAILS) and len(study.J0_GRID) == 5


def test_safe_step_along_gap_matches_a_loop_over_the_grid():
    from rlvr_core.paper.gap import grad_log_odds
    from rlvr_core.paper.policies import LogLinearPolicy
    from rlvr_core.paper.token_policies import circle_token_features

    feats = circle_token_features(8)
    feats[3] = 4 * feats[3]                  # one far incorrect response: large steps overshoot
    pol = LogLinearPolicy(feats, [1] + [0] * 7)
    thetas = torch.tensor([[0.1, 0.3], [3.1, 0.3], [6.1, 0.3]], dtype=torch.float64)
    grid = torch.logspace(-2, 3, 60, dtype=torch.float64)
    out = study.safe_step_along_gap(pol, thetas, grid)

    def J(t):   # enumeration: the softmax over the eight responses, reward on the first
        return float(torch.softmax(feats @ t, -1)[0])

    for i, theta in enumerate(thetas):
        g = grad_log_odds(pol, theta)[0]
        J0 = J(theta)
        assert out["fail"][i] == pytest.approx(1 - J0, rel=1e-12)
        passes = [J(theta + eta * g) >= J0 * (1 - 1e-12) for eta in grid.tolist()]
        n = passes.index(False) if False in passes else len(passes)   # the leading passing block
        assert 0 < n < len(grid)         # negative control: some step on the grid does lower J
        assert out["safe"][i] == pytest.approx(float(grid[n - 1]), rel=1e-12)
