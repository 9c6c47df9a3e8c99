"""Theory functions against brute force: sampled parameters, autograd curvature, one-step gains."""
import math

import pytest
import torch

from rlvr_core.paper import theory
from rlvr_core.paper.gap import curvature_identity, exact_gap, log_odds_curvature, success_prob
from rlvr_core.simulators.instances import QuadraticLogitPolicy, random_instances
from rlvr_core.paper.policies import LogLinearPolicy


@pytest.fixture(scope="module")
def policy():
    phi, r = random_instances(1, 2, 6, 3, max_correct=2, seed=7)
    return LogLinearPolicy(phi[0], r[0])


def test_diameter_by_loop(policy):
    phi = policy.features
    D = theory.feature_diameter(phi)
    for p in range(phi.shape[0]):
        brute = max(float((phi[p, i] - phi[p, j]).norm()) for i in range(6) for j in range(6))
        assert math.isclose(float(D[p]), brute, rel_tol=1e-12)


def test_loglinear_constants_bound_sampled_scores_and_hessians(policy):
    L, G = theory.loglinear_constants(policy.features)
    gen = torch.Generator().manual_seed(0)
    thetas = 6 * torch.randn(300, policy.dim, generator=gen, dtype=torch.float64)
    s = policy.scores_closed_form(thetas)  # [S, P, N, d]
    H = policy.log_prob_hessian_closed_form(thetas)  # [S, P, d, d]
    assert torch.all(s.norm(dim=-1).amax(-1).amax(0) <= G + 1e-12)
    assert torch.all(torch.linalg.eigvalsh(H).abs().amax(-1).amax(0) <= L + 1e-12)
    # G_o is the supremum: a policy concentrated far from o gets close to it.
    assert torch.all(s.norm(dim=-1).amax(-1).amax(0) >= 0.9 * G)


def test_estimate_constants_agrees_with_closed_form(policy):
    gen = torch.Generator().manual_seed(1)
    thetas = torch.randn(5, policy.dim, generator=gen, dtype=torch.float64)
    L_est, G_est = theory.estimate_constants(policy, thetas)
    s = policy.scores_closed_form(thetas)
    H = policy.log_prob_hessian_closed_form(thetas)
    assert torch.allclose(G_est, s.norm(dim=-1).amax(-1).amax(0), atol=1e-10)
    assert torch.allclose(L_est, torch.linalg.eigvalsh(H).abs().amax(-1).amax(0), atol=1e-10)


def test_sharp_constant_bounds_autograd_curvature(policy):
    gen = torch.Generator().manual_seed(2)
    for _ in range(20):
        theta = 3 * torch.randn(policy.dim, generator=gen, dtype=torch.float64)
        w = torch.randn(policy.dim, generator=gen, dtype=torch.float64)
        curv = log_odds_curvature(policy, theta, w)
        assert torch.allclose(curv, curvature_identity(policy, theta, w), atol=1e-9)
        C = theory.sharp_curvature_constant(policy.features, policy.rewards, w)
        assert torch.all(curv >= -C - 1e-10)
        L, G = theory.loglinear_constants(policy.features)
        assert torch.all(curv.abs() <= theory.companion_constant(L, G) * (w @ w) + 1e-10)


@pytest.mark.parametrize("kind", ["paper", "companion", "sharp"])
def test_step_at_the_bound_gains_half_the_first_order(policy, kind):
    gen = torch.Generator().manual_seed(3)
    L, G = theory.loglinear_constants(policy.features)
    for _ in range(20):
        theta = 2 * torch.randn(policy.dim, generator=gen, dtype=torch.float64)
        w = torch.randn(policy.dim, generator=gen, dtype=torch.float64)
        g = exact_gap(policy, theta).gap
        al = g @ w
        if kind == "paper":
            eta = theory.theorem1_step(al, w @ w, L, G)
        elif kind == "companion":
            eta = theory.companion_step(al, w @ w, L, G)
        else:
            eta = theory.sharp_step(al, theory.sharp_curvature_constant(policy.features,
                                                                        policy.rewards, w))
        for p in range(2):
            if al[p] <= 0:
                assert eta[p] == 0
                continue
            gain = (torch.logit(success_prob(policy, theta + eta[p] * w))
                    - torch.logit(success_prob(policy, theta)))[p]
            assert gain >= eta[p] * al[p] / 2 - 1e-10


def test_constants_order():
    L, G = torch.tensor(0.7, dtype=torch.float64), torch.tensor(1.3, dtype=torch.float64)
    assert theory.companion_constant(L, G) < theory.theorem1_constant(L, G)
    assert math.isclose(float(theory.theorem1_constant(L, G)), 2 * (0.7 + 8 * 1.69))


def test_cumulative_progress_and_lower_bound():
    gen = torch.Generator().manual_seed(4)
    eta = torch.rand(7, 3, generator=gen, dtype=torch.float64)
    al = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    M = theory.cumulative_progress(eta, al)
    for k in range(8):
        brute = sum(float(eta[j, 0]) * max(0.0, float(al[j, 0])) for j in range(k)) if k else 0.0
        assert math.isclose(float(M[k, 0]), float(brute), abs_tol=1e-12)
    J0 = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    Jb = theory.lower_bound_success(J0, M[-1])
    assert torch.allclose(torch.logit(Jb), theory.lower_bound_log_odds(torch.logit(J0), M[-1]))


def test_quadratic_logit_formulas_against_autograd():
    a = 1.3
    pol = QuadraticLogitPolicy(a)
    for x in (0.4, -1.1, 2.0):
        theta = torch.tensor([x, 0.2], dtype=torch.float64)
        g = exact_gap(pol, theta).gap[0]
        assert torch.allclose(g, torch.tensor([-2 * a * x, 1.0], dtype=torch.float64))
        eta = theory.quadratic_logit_sharp_step(a, x)
        gain = torch.logit(success_prob(pol, theta + eta * g)) - torch.logit(success_prob(pol, theta))
        assert torch.allclose(gain[0], eta * (g @ g) / 2, atol=1e-9)  # equality: constant curvature
        for e in (0.5 / a, 1.2 / a, 3.0 / a):
            dz = (torch.logit(success_prob(pol, theta + e * g)) - torch.logit(success_prob(pol, theta)))[0]
            assert bool(theory.quadratic_logit_falls(a, x, e)) == bool(dz < 0)
    assert float(theory.quadratic_logit_threshold(4.0)) == 0.25


def test_bad_inputs():
    with pytest.raises(ValueError, match="features"):
        theory.feature_diameter(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="thetas"):
        theory.estimate_constants(QuadraticLogitPolicy(1.0), torch.zeros(3))
    with pytest.raises(ValueError, match="eta"):
        theory.cumulative_progress(torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match="a="):
        QuadraticLogitPolicy(-1.0)
