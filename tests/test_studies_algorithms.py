"""The sentences, tables and sizes of notebook 06's study module (rlvr_core.studies.algorithms):
each sentence quotes the number it is given and flips its wording when the result flips (the
negative controls), on small hand-made results so that no simulation runs."""
import numpy as np
import pandas as pd
import pytest

from rlvr_core.studies import algorithms as study
from rlvr_core.stats.thresholds import first_failure


def test_sizes_are_the_notebooks_sizes_for_both_profiles():
    d, f = study.sizes("default"), study.sizes("full")
    assert (d.groups, d.seeds, d.steps) == (20000, 16, 300)
    assert (f.groups, f.seeds, f.steps) == (200000, 64, 300)
    assert len(d.etas) == 31 and d.etas[0] == 0.05
    with pytest.raises(ValueError, match="PROFILE"):
        study.sizes("tiny")


def test_check_parameters_names_the_bad_parameter():
    phi, theta = study.check_parameters(0, 0.2, 0.8, 32, 8, 8, 8)
    assert phi.shape == (8, 2) and theta.shape == (2,)
    with pytest.raises(ValueError, match="LEVEL"):
        study.check_parameters(0, 0.2, 1.5, 32, 8, 8, 8)
    with pytest.raises(ValueError, match="FIXED_LENGTH"):
        study.check_parameters(0, 0.2, 0.8, 32, 0, 8, 8)


def _pop(z=1.2):
    tab = pd.DataFrame({"std": [False, True, True], "ratio": [0.889, 0.856, 0.856],
                        "cos(E w, g)": [1.0, 0.9999, 1.0]})
    return {"table": tab, "z": {"reinforce": np.array([0.3, z])}, "group_size": 8}


def test_population_verdict_flips_when_the_closed_form_fails():
    text = study.population_verdict(_pop())
    assert "agree with (G-1)/G" in text and "1.2 standard errors" in text and "ratio 0.856" in text
    assert "do NOT agree" in study.population_verdict(_pop(z=7.0))
    assert "(G-1)/G = 0.875" in study.population_table(_pop())


def _summary(pred, base, star):
    tab = pd.DataFrame({"algorithm": ["A", "B", "C"], "1/std": ["no"] * 3, "length weight": ["1"] * 3,
                        "eff. step per eta": [0.1] * 3, "cos(w_k, g)": [0.3] * 3,
                        "E|w|^2": [0.000272, 0.01, 1.6], "eta_pred": pred, "eta_base": base,
                        "eta* measured": star})
    tab["eta*/eta_pred"] = tab["eta* measured"] / tab["eta_pred"]
    tab["eta*/eta_base"] = tab["eta* measured"] / tab["eta_base"]
    return {"summary": tab, "groups": 10, **study.compare_predictors(tab)}


def test_collapse_verdict_says_whether_the_theory_beats_the_baseline():
    same = _summary([1.0, 2.0, 4.0], [1.0, 2.0, 4.0], [1.0, 2.0, 4.0])
    text = study.collapse_verdict(same)
    assert "spans a factor 4" in text and "adds nothing over the baseline" in text
    assert same["first"] == "A" and same["eta_span"] == 4.0
    # negative control: the baseline ranks the thresholds backwards, the theory exactly
    better = study.collapse_verdict(_summary([1.0, 2.0, 4.0], [4.0, 2.0, 1.0], [1.0, 2.0, 4.0]))
    assert "does better than the baseline on rank and spread" in better


def test_collapse_tables_keep_small_second_moments_readable():
    cs = _summary([1.0, 2.0, 4.0], [1.0, 2.0, 4.0], [1.0, 2.0, 4.0])
    sweep = {"brackets": {"reinforce": first_failure(np.array([True, False]), [1.0, 2.0])}}
    text = study.collapse_tables(cs, sweep)
    assert "0.000272" in text and "0.000 " not in text  # significant digits, not 0.000
    assert "collapses first (smallest eta*): A" in text and "REINFORCE (1, 2)" in text


def _ds(rho_t, rho_b, diff, width=(5.7, float("nan")), bound=(40.0, 11.0)):
    tab = pd.DataFrame({"direction": ["A", "B"]})
    return {"table": tab, "rho": {"theory": rho_t, "baseline": rho_b}, "rho_diff": diff,
            "width": np.array(width), "width_bound": np.array(bound)}


def test_direction_verdict_names_the_winner_only_when_the_ci_excludes_zero():
    text = study.direction_verdict(_ds((0.85, 0.64, 0.92), (0.85, 0.72, 0.96), (0.0, -0.16, 0.04)))
    assert "neither predictor" in text and "0.85 (90% seed-bootstrap CI [0.64, 0.92])" in text
    # negative controls: a CI of the difference above / below 0 names the winner
    assert "theory's predictor ranks the thresholds better" in study.direction_verdict(
        _ds((0.9, 0.8, 1.0), (0.2, 0.0, 0.4), (0.7, 0.5, 0.9)))
    assert "baseline ranks the thresholds better" in study.direction_verdict(
        _ds((0.2, 0.0, 0.4), (0.9, 0.8, 1.0), (-0.7, -0.9, -0.5)))


def test_transition_verdict_counts_censored_widths_as_bounds():
    text = study.transition_verdict(_ds((0, 0, 0), (0, 0, 0), (0, 0, 0)))
    assert "1 of 2 directions" in text and "width > 11" in text and "gradually" in text
    sharp = study.transition_verdict(_ds((0, 0, 0), (0, 0, 0), (0, 0, 0), width=(1.4, 1.9)))
    assert "median factor 1.6" in sharp and "gradually" not in sharp


def test_directions_list_the_six_and_the_five_new_ones():
    assert list(study.DIRECTIONS)[:6] == list(study.ALGORITHMS)
    assert set(study.NEW_DIRECTIONS) <= set(study.DIRECTIONS) and len(study.DIRECTIONS) == 11
