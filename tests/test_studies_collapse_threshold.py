"""rlvr_core.studies.collapse_threshold: notebook 03's sizes, parameter checks and the sentences it
prints. Each sentence quotes the computed number and flips its wording when the result flips
(the negative controls)."""
from types import SimpleNamespace

import math

import numpy as np
import pytest
import torch

from rlvr_core.studies import collapse_threshold as study


def test_sizes_are_the_notebooks_sizes_for_both_profiles():
    assert study.sizes("default") == study.Sizes(64, 16, 1000, 8, 8, 200, 28, 16, 4, 200)
    assert study.sizes("full") == study.Sizes(128, 64, 3000, 16, 16, 500, 40, 64, 8, 500)
    with pytest.raises(ValueError, match="PROFILE"):
        study.sizes("fast")


def test_check_parameters_names_the_bad_parameter():
    good = ([1.0], 0.01, 20.0, 1.0, 1.5, 0.0, [0.8, 1.25])
    assert study.check_parameters(*good) == ([1.0], [0.8, 1.25])
    with pytest.raises(ValueError, match="ETA_MAX=0.001"):
        study.check_parameters([1.0], 0.01, 0.001, 1.0, 1.5, 0.0, [0.8])
    with pytest.raises(ValueError, match="PATH_Y0=nan"):
        study.check_parameters([1.0], 0.01, 20.0, 1.0, 1.5, math.nan, [0.8])


def test_certified_step_lies_between_half_and_one_over_a():
    x0 = np.geomspace(1e-3, 1e3, 31)
    ratio = study.one_over_a_step(2.0, x0) * 2.0
    assert ratio.min() >= 0.5 and ratio.max() <= 1.0


@pytest.fixture(scope="module")
def small_sweep():
    return study.quadratic_logit_sweep([1.0, 2.0], np.geomspace(0.01, 20.0, 24).tolist(), 4, 200, 0)


def test_phase_verdict_quotes_the_band_and_flips_when_1_over_a_leaves_it(small_sweep):
    q = small_sweep
    text = study.phase_verdict(q)
    assert "lies inside the measured bracket" in text
    assert f"{float((q.hi / q.lo).max()):.3f}x" in text
    lin, n_below, _, _ = study._phase_counts(q)
    assert f"{lin} of {n_below} runs" in text
    moved = SimpleNamespace(**{**vars(q), "pred": q.pred * 10})
    assert "OUTSIDE the measured bracket" in study.phase_verdict(moved)


def test_path_verdict_quotes_theorem_1s_step_and_flips_below_the_threshold():
    p = study.policy_path(1.0, 1.5, 0.0, [0.8, 1.25])
    text = study.path_verdict(p)
    assert "0.556" in text and "(above 1/a)" in text
    assert text.count("not falling at every step") == 1
    below = study.policy_path(1.0, 1.5, 0.0, [0.8, 0.9])
    assert study.path_verdict(below).count("not falling at every step") == 2
    assert all(agrees for _, agrees in study.fell_every_step(p))


def _mlp(reproduced: bool):
    lo, hi = (0.8, 1.6) if reproduced else (8.81, 17.47)
    row = dict(rule="monotone (no step fell)", ratio=(lo * hi) ** 0.5, lo=lo, hi=hi, reproduced=reproduced)
    return SimpleNamespace(rows=[row], n_runs=64, collapsed=torch.zeros(10, dtype=torch.bool))


def test_mlp_verdict_quotes_the_ci_and_flips_with_the_criterion():
    text = study.mlp_verdict(_mlp(False))
    assert "[8.81, 17.47]" in text and "not reproduced" in text and "under any rule" in text
    ok = study.mlp_verdict(_mlp(True))
    assert "not reproduced" not in ok and "under 1 of 1 rules" in ok


def _circle(fell_below: bool):
    fell = torch.tensor([[fell_below, False], [True, False]])
    return SimpleNamespace(d_minus=2.0, eta_noloss=2.0, fell=fell, noloss=torch.tensor([True, False]),
                           first_fall=7.62, J=torch.tensor([[0.633, 0.9], [0.8, 0.95]]))


def test_circle_verdict_quotes_the_counts_and_flips_when_the_bound_fails():
    text = study.circle_verdict(_circle(False))
    assert "0 of 2 runs" in text and "as proved" in text and "0.633" in text
    assert "CONTRADICTING" in study.circle_verdict(_circle(True))


def _open(outside: int, inside: int):
    rows = [dict(kind="1 prompt, 1 correct, phi* inside hull", concave=True, collapsed=inside, runs=288),
            dict(kind="3 prompts, 1 correct each", concave=False, collapsed=outside, runs=1536)]
    return SimpleNamespace(rows=rows, single=dict(coll_ratio=20.8))


def test_open_verdict_flips_when_a_collapse_is_found_outside_the_concave_case():
    text = study.open_verdict(_open(0, 7))
    assert "0 of 1536 runs" in text and "stays open" in text and "20.8x" in text
    found = study.open_verdict(_open(1, 0))
    assert "can collapse there" in found and "no one-prompt single-correct run collapsed" in found


def test_concave_collapse_origin_counts_instances_and_starts():
    """Collapses in the concave case are traced to their instances and starting success: a run that
    starts below the collapse level is not counted as starting above it (negative control)."""
    from types import SimpleNamespace as NS
    Jo = torch.tensor([[0.2, 0.02, 0.3, 0.5], [0.01, 0.01, 0.01, 0.5]])  # [K+1, B]
    coll = torch.tensor([True, True, True, False])
    noncon = torch.tensor([False, False, True, False])                  # run 2 is outside the case
    og = NS(instance=torch.tensor([4, 7, 4, 1]))
    o = NS(runs={(1, 3): (Jo, coll, noncon, None, None, og)})
    text = study.concave_collapse_origin(o)
    assert "from 2 instances" in text and "1 of them started above" in text and "up to 0.20" in text
