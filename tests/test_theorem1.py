"""rlvr_core.simulators.theorem1 and theory's stall ceiling: the aggregate reading keeps its bound and does not
freeze, the negative control passes at c <= 1 and fails above the sharp bound, the ceiling bounds a
simulated stalled run."""
import math

import pytest
import torch

from rlvr_core.simulators import theorem1

from rlvr_core.paper import theory
from rlvr_core.simulators.instances import random_instances, random_starts
from rlvr_core.simulators.sim import simulate


@pytest.fixture(scope="module")
def single():
    phi, r = random_instances(16, 1, 6, 3, max_correct=2, seed=11)
    return phi, r, random_starts(16, 3, seed=12)


@pytest.fixture(scope="module")
def contextual():
    phi, r = random_instances(16, 3, 6, 3, max_correct=2, seed=13)
    return phi, r, random_starts(16, 3, seed=14)


def test_zeta_upper_brackets_pi_squared_over_six():
    z = theory.zeta_upper(2.0, terms=1000)
    assert math.pi ** 2 / 6 <= z <= math.pi ** 2 / 6 + 1e-3 ** 2 + 1e-12
    with pytest.raises(ValueError):
        theory.zeta_upper(1.0)


def test_ceiling_values_and_validation():
    M_cap, gain_cap = theory.decaying_alignment_ceiling(1.0, multiplier=1.0, terms=100000)
    assert math.isclose(M_cap, math.pi ** 2 / 6 / 16.5, rel_tol=1e-5)
    assert math.isclose(gain_cap, 23 / 22 * M_cap, rel_tol=1e-12)
    with pytest.raises(ValueError):
        theory.decaying_alignment_ceiling(0.5)


def test_ceiling_bounds_a_stalled_run(single):
    phi, r, th = single
    res = simulate(phi, r, th, 1.0, 200, direction="decaying_alignment", alignment_decay=0.8,
                   step_rule="theorem1")
    M_cap, gain_cap = theory.decaying_alignment_ceiling(0.8)
    assert torch.all(res.M[-1] <= M_cap + 1e-12)
    assert torch.all(res.logit_gain[-1] <= gain_cap + 1e-9)


@pytest.mark.parametrize("rule", theorem1.AGGREGATE_RULES)
def test_aggregate_reading_holds_and_moves(contextual, rule):
    phi, r, th = contextual
    res = theorem1.aggregate_bound_run(phi, r, th, 1.0, 100, step_rule=rule)
    assert float(res.margin.min()) >= -1e-9
    assert theorem1.frozen_fraction(res) == (0.0, 0.0)
    # the mean log-odds recorded is the mean of the per-prompt log-odds at the start
    base = simulate(phi, r, th, 1.0, 1, step_rule="constant")
    assert torch.allclose(res.log_odds[0, :, 0], base.log_odds[0].mean(-1), atol=1e-12)


def test_aggregate_step_matches_hand_formula(contextual):
    phi, r, th = contextual
    res = theorem1.aggregate_bound_run(phi, r, th, 0.5, 1, step_rule="companion")
    L, G = theory.loglinear_constants(phi)
    expected = 0.5 / theory.companion_constant(L, G).mean(-1)  # <w,g_bar> / (C ||w||^2), w = g_bar
    assert torch.allclose(res.eta[0], expected, rtol=1e-12)


def test_per_prompt_rule_freezes_some_contextual_runs(contextual):
    phi, r, th = contextual
    res = simulate(phi, r, th, 1.0, 20, step_rule="theorem1")
    first, always = theorem1.frozen_fraction(res)
    assert always <= first
    assert torch.all((res.eta[0] == 0) <= (res.eta == 0).all(0))  # w = g: frozen at 0 stays frozen


def test_negative_control_holds_at_the_bound_and_fails_above_sharp(single):
    phi, r, th = single
    grid = [1.0, 2.0, 4.0, 8.0, 16.0]
    nc = theorem1.negative_control(phi, r, th, grid, 100, step_rule="sharp")
    assert nc.fraction[0] == 0
    assert nc.violated.shape == (16, 5)
    assert float(nc.fraction.max()) > 0
    assert nc.bracket.last_pass >= 1.0
    # paper's rule at c is the companion rule at c/11 (identity): no failure for c <= 11
    paper = theorem1.negative_control(phi, r, th, [1.0, 4.0, 11.0], 100, step_rule="theorem1")
    assert not bool(paper.violated.any())
