"""The batched bandit engine against independent per-run computations (autograd, loops)."""
import math

import pytest
import torch

from rlvr_core.paper.directions import population_direction
from rlvr_core.paper.gap import exact_gap, success_prob
from rlvr_core.simulators.instances import (QuadraticLogitPolicy, circle_instance, random_instances,
                                 random_starts, simulate_quadratic_logit)
from rlvr_core.paper.policies import LogLinearPolicy
from rlvr_core.simulators.sim import gap_stats, make_grid, simulate, simulate_per_run, transition
from rlvr_core.paper import theory


@pytest.fixture(scope="module")
def bandits():
    phi, r = random_instances(3, 2, 6, 3, max_correct=2, seed=4)
    return phi, r, random_starts(3, 3, seed=5)


def test_gap_stats_matches_autograd(bandits):
    phi, r, th = bandits
    lo, g, probs = gap_stats(phi, r, th)
    for b in range(3):
        pol = LogLinearPolicy(phi[b], r[b])
        st = exact_gap(pol, th[b])
        assert torch.allclose(lo[b], torch.logit(st.J), atol=1e-10)
        assert torch.allclose(g[b], st.gap, atol=1e-10)
        assert torch.allclose(probs[b], pol.probs(th[b]), atol=1e-12)


@pytest.mark.parametrize("direction", ["gap", "reinforce", "grpo"])
def test_population_runs_match_a_per_run_autograd_loop(bandits, direction):
    phi, r, th = bandits
    etas = torch.tensor([0.3, 1.0, 2.5])
    res = simulate(phi, r, th, etas, 6, direction=direction, record_theta=True)
    for b in range(3):
        pol, theta = LogLinearPolicy(phi[b], r[b]), th[b].clone()
        for k in range(6):
            st = exact_gap(pol, theta)
            assert torch.allclose(res.log_odds[k, b], torch.logit(st.J), atol=1e-9)
            w = population_direction(direction, st.J, st.gap).mean(0)
            assert torch.allclose(res.alignment[k, b], st.gap @ w, atol=1e-9)
            theta = theta + etas[b] * w
        assert torch.allclose(res.theta_final[b], theta, atol=1e-9)
    inc = res.eta.unsqueeze(-1) * res.alignment.clamp_min(0)
    assert torch.allclose(res.M[-1], inc.sum(0), atol=1e-12)


def test_per_run_loop_equals_batch(bandits):
    phi, r, th = bandits
    batch = simulate(phi, r, th, [0.5, 1.0, 2.0], 5, direction="grpo")
    loop = simulate_per_run(phi, r, th, [0.5, 1.0, 2.0], 5, direction="grpo")
    for b, one in enumerate(loop):
        assert torch.allclose(one.log_odds[:, 0], batch.log_odds[:, b], atol=1e-12)


def test_sampled_reinforce_is_unbiased_up_to_group_factor():
    # [derived] E[sampled REINFORCE with group-mean baseline] = (G-1)/G * J(1-J) g.
    phi, r = random_instances(1, 1, 5, 2, seed=1)
    th = random_starts(1, 2, seed=2)[0]
    B, G = 40000, 4
    res = simulate(phi[0], r[0], th, torch.full((B,), 1.0), 1, direction="reinforce",
                   group_size=G, seed=3)
    w = (res.theta_final - th)  # eta = 1: theta_1 - theta_0 = w
    pol = LogLinearPolicy(phi[0], r[0])
    st = exact_gap(pol, th)
    expected = (G - 1) / G * st.J * (1 - st.J) * st.gap[0]
    se = w.std(0) / math.sqrt(B)
    assert torch.all((w.mean(0) - expected).abs() < 5 * se + 1e-12)


def test_decaying_alignment_has_the_prescribed_cosine():
    phi, r = random_instances(4, 1, 6, 3, seed=0)
    th = random_starts(4, 3, seed=1)
    res = simulate(phi, r, th, 0.1, 8, direction="decaying_alignment", alignment_decay=1.0,
                   record_theta=True)
    for k in range(8):
        _, g, _ = gap_stats(phi, r, res.theta[k])
        w = (res.theta[k + 1] - res.theta[k]) / 0.1
        cos = (w * g[:, 0]).sum(-1) / (w.norm(dim=-1) * g[:, 0].norm(dim=-1))
        assert torch.allclose(cos, torch.full_like(cos, 1 / (k + 1)), atol=1e-9)


@pytest.mark.parametrize("rule", ["theorem1", "companion", "sharp"])
def test_step_rules_keep_theorem1_margin(rule, bandits):
    phi, r, th = bandits
    res = simulate(phi, r, th, 1.0, 30, step_rule=rule, direction="grpo", group_size=4)
    assert res.margin.min() >= -1e-9


def test_theorem1_rule_uses_the_formula():
    phi, r = random_instances(2, 1, 5, 2, seed=3)
    th = random_starts(2, 2, seed=4)
    res = simulate(phi, r, th, 0.5, 1, step_rule="theorem1")
    L, G = theory.loglinear_constants(phi)
    _, g, _ = gap_stats(phi, r, th)
    w = g[:, 0]
    expected = 0.5 * (w * w).sum(-1) / (2 * (L[:, 0] + 8 * G[:, 0] ** 2) * (w * w).sum(-1))
    assert torch.allclose(res.eta[0], expected, atol=1e-14)


def test_grid_and_transition():
    grid = make_grid([0.1, 1.0, 10.0], 2, 3)
    assert len(grid.eta) == 18 and grid.shape == (3, 2, 3)
    x = grid.eta * 100 + grid.seed * 10 + grid.instance
    u = grid.unflatten(x)
    assert u[2, 1, 0] == 10.0 * 100 + 10 and u[0, 0, 2] == 0.1 * 100 + 2
    conv = torch.tensor([[True, True], [True, False], [False, False]])
    assert tuple(transition([1.0, 2.0, 3.0], conv)) == (1.0, 3.0)


def test_quadratic_logit_engine_matches_autograd():
    a, x0, y0 = 1.5, 0.7, -0.3
    etas = torch.tensor([0.2, 0.9])
    res = simulate_quadratic_logit(a, x0, y0, etas, 5, record_theta=True)
    pol = QuadraticLogitPolicy(a)
    for b in range(2):
        theta = torch.tensor([x0, y0], dtype=torch.float64)
        for k in range(6):
            J = success_prob(pol, theta)[0]
            assert torch.allclose(res.log_odds[k, b, 0], torch.logit(J), atol=1e-9)
            if k < 5:
                theta = theta + etas[b] * exact_gap(pol, theta).gap[0]
        assert torch.allclose(res.theta_final[b], theta, atol=1e-9)


def test_quadratic_logit_threshold_is_one_over_a():
    a = 2.0
    res = simulate_quadratic_logit(a, 1.0, 0.0, [0.9 / a, 1.0 / a, 1.1 / a], 400)
    J = res.J[-1, :, 0]
    assert J[0] > 0.99 and J[1] > 0.99 and J[2] < 0.01


def test_circle_instance():
    phi, r = circle_instance(8, correct=2)
    assert phi.shape == (1, 8, 2) and r.sum() == 1 and r[0, 2] == 1


@pytest.mark.parametrize("kwargs, name", [
    (dict(etas=0.0), "etas"), (dict(etas=-1.0), "etas"), (dict(etas=float("nan")), "etas"),
    (dict(etas=[]), "etas"), (dict(group_size=1, direction="grpo"), "group_size"),
    (dict(direction="sgd"), "direction"), (dict(step_rule="adam"), "step_rule"),
    (dict(num_steps=0), "num_steps"), (dict(group_size=4, direction="gap"), "direction"),
])
def test_bad_inputs_raise(kwargs, name):
    phi, r = circle_instance()
    args = dict(etas=1.0, num_steps=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        simulate(phi, r, torch.zeros(2), args.pop("etas"), args.pop("num_steps"), **args)


def test_bad_inputs_raise_elsewhere():
    with pytest.raises(ValueError, match="etas"):
        make_grid([], 2, 2)
    with pytest.raises(ValueError, match="num_seeds"):
        make_grid([1.0], 0, 2)
    with pytest.raises(ValueError, match="etas"):
        simulate_quadratic_logit(1.0, 1.0, 0.0, [1.0, -0.5], 3)
    with pytest.raises(ValueError, match="a"):
        simulate_quadratic_logit(0.0, 1.0, 0.0, 1.0, 3)
    with pytest.raises(ValueError, match="rewards"):
        simulate(torch.zeros(1, 3, 2), torch.ones(1, 3), torch.zeros(2), 1.0, 2)
