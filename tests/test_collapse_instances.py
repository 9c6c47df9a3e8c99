"""rlvr_core.simulators.mlp_threshold and the collapse instances of notebook 03 (claim P3)."""
import math

import torch

from rlvr_core.paper.gap import exact_gap, log_odds_curvature, success_prob
from rlvr_core.simulators.instances import in_convex_hull, simulate_quadratic_logit
from rlvr_core.simulators.mlp_threshold import (batched_log_odds, bootstrap_geomean, curvature_along,
                                     log_odds_and_gap, predicted_no_loss_step,
                                     random_mlp_instances, simulate_mlp, sweep_mlp_threshold)
from rlvr_core.paper.policies import MLPPolicy
from rlvr_core.paper import theory

D = torch.float64


def _inst():
    return random_mlp_instances(3, 2, num_responses=5, feature_dim=3, hidden=4, seed=3)


def test_batched_log_odds_gap_curvature_match_mlp_policy():
    inst = _inst()
    for i in range(3):
        pol = MLPPolicy(inst.phi[i], inst.rewards[i], hidden=inst.hidden)
        th = inst.theta0[i, 1]
        z, g = log_odds_and_gap(inst.phi[i:i + 1], inst.rewards[i:i + 1], th[None], inst.hidden)
        assert torch.allclose(z[0], torch.logit(success_prob(pol, th))[0], atol=1e-12)
        g_ref = exact_gap(pol, th).gap[0]
        assert torch.allclose(g[0], g_ref, atol=1e-12, rtol=1e-10)
        k = curvature_along(inst.phi[i:i + 1], inst.rewards[i:i + 1], th[None], g, inst.hidden)
        assert torch.allclose(k[0], log_odds_curvature(pol, th, g_ref)[0], atol=1e-9, rtol=1e-8)


def test_predicted_step_is_the_second_order_no_loss_step():
    inst = _inst()
    phi, r, th = inst.phi, inst.rewards, inst.theta0[:, 0]
    eta1, gn2, kappa = predicted_no_loss_step(phi, r, th, inst.hidden)
    for b in range(3):
        if kappa[b] < 0:
            assert math.isclose(float(eta1[b]), float(2 * gn2[b] / -kappa[b]), rel_tol=1e-12)
        else:
            assert math.isinf(float(eta1[b]))
    # the quadratic model at eta1 predicts zero gain: z0 + eta1 |g|^2 + eta1^2 kappa / 2 = z0
    ok = kappa < 0
    assert torch.allclose((eta1 * gn2 + eta1 ** 2 * kappa / 2)[ok], torch.zeros(int(ok.sum()), dtype=D),
                          atol=1e-9)


def test_simulate_mlp_first_step_matches_manual_update():
    inst = _inst()
    phi, r, th = inst.phi, inst.rewards, inst.theta0[:, 0]
    etas = torch.tensor([0.1, 0.5, 2.0], dtype=D)
    z = simulate_mlp(phi, r, th, etas, 2, inst.hidden)
    _, g = log_odds_and_gap(phi, r, th, inst.hidden)
    z1 = batched_log_odds(phi, r, th + etas[:, None] * g, inst.hidden)
    assert torch.allclose(z[1], z1, atol=1e-12)


def test_small_steps_never_lower_the_mlp_log_odds():
    inst = _inst()
    sw = sweep_mlp_threshold(inst, [1e-3, 2e-3], 20)
    assert bool(sw.passed.all())
    assert sw.z.shape == (21, 2, 3, 2)


def test_sweep_bracket_is_the_first_failure_of_the_pass_array():
    inst = _inst()
    grid = [0.05, 0.5, 5.0, 50.0]
    sw = sweep_mlp_threshold(inst, grid, 30)
    p = sw.passed
    for i in range(3):
        for s in range(2):
            n = 0
            while n < 4 and bool(p[i, s, n]):
                n += 1
            lp = float(sw.bracket.last_pass[i, s])
            assert (math.isnan(lp) and n == 0) or lp == grid[n - 1]


def test_bootstrap_geomean_constant_and_clusters():
    gm, lo, hi = bootstrap_geomean([2.0, 2.0, 2.0, math.inf, math.nan], n_boot=50)
    assert math.isclose(gm, 2.0) and math.isclose(lo, 2.0) and math.isclose(hi, 2.0)
    gm, lo, hi = bootstrap_geomean([1.0, 4.0, 1.0, 4.0], clusters=[0, 0, 1, 1], n_boot=50)
    assert math.isclose(gm, 2.0) and math.isclose(lo, 2.0, rel_tol=1e-12)


def test_in_convex_hull():
    square = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=D)
    assert in_convex_hull([0.5, 0.5], square)
    assert not in_convex_hull([1.5, 0.5], square)


def test_quadratic_logit_constant_step_needs_the_min_with_one_over_a():
    # The one-step value exceeds 1/a when x0^2 < 1/(4 a^2): as a constant step it collapses,
    # so the certified constant step is min(1/a, one-step value).
    a, x0 = 1.0, 0.25
    one_step = float(theory.quadratic_logit_sharp_step(a, x0))
    assert one_step > 1 / a
    res = simulate_quadratic_logit(a, x0, 0.0, [one_step, min(1 / a, one_step)], 40)
    z = res.log_odds[:, :, 0]
    assert z[-1, 0] < z[0, 0]
    assert z[-1, 1] >= z[0, 1] + 40 * min(1 / a, one_step) - 1e-9


def test_stability_step_matches_the_full_hessian_and_is_below_eta1():
    """2/lambda_max(-Hessian of z) from Hessian-vector products (a Krylov basis) equals the
    eigen-decomposition of the full autograd Hessian, and is at most eta_1 = 2|g|^2/(-kappa)."""
    from rlvr_core.simulators.mlp_threshold import predicted_no_loss_step, stability_step

    inst = random_mlp_instances(6, 2, num_responses=5, feature_dim=3, hidden=4, seed=5)
    I, S, d = inst.theta0.shape
    phi = inst.phi.repeat_interleave(S, 0)
    r = inst.rewards.repeat_interleave(S, 0)
    th = inst.theta0.reshape(I * S, d)
    step, lam = stability_step(phi, r, th, inst.hidden, krylov_dim=12)
    exact = []
    for b in range(I * S):
        H = torch.autograd.functional.hessian(
            lambda t: batched_log_odds(phi[b:b + 1], r[b:b + 1], t[None], inst.hidden)[0], th[b])
        exact.append(torch.linalg.eigvalsh(-H).max())
    exact = torch.stack(exact)
    assert torch.allclose(lam, exact, rtol=1e-4, atol=1e-8), (lam, exact)
    eta1, _, _ = predicted_no_loss_step(phi, r, th, inst.hidden)
    assert (step <= eta1 * (1 + 1e-6)).all()
    # negative control: a basis too small to span the top eigenvector underestimates lambda_max
    small, _ = stability_step(phi, r, th, inst.hidden, krylov_dim=2)
    assert (small >= step * (1 - 1e-9)).all() and (small > step * 1.01).any()


def test_stability_step_of_a_quadratic_log_odds_is_one_over_a():
    """On z = y - a x^2 (notebook 03's quadratic-logit bandit) -Hessian = diag(2a, 0): the step is
    exactly 1/a, the exact collapse threshold, while eta_1 = 1/a + 1/(4 a^3 x0^2) exceeds it."""
    a, x0 = 1.5, 0.7
    H = torch.autograd.functional.hessian(lambda t: t[1] - a * t[0] ** 2,
                                          torch.tensor([x0, 0.0], dtype=torch.float64))
    lam = torch.linalg.eigvalsh(-H).max()
    g = torch.tensor([-2 * a * x0, 1.0], dtype=torch.float64)
    eta1 = 2 * (g @ g) / (g @ -H @ g)
    assert math.isclose(2 / float(lam), 1 / a, rel_tol=1e-12)
    assert math.isclose(float(eta1), 1 / a + 1 / (4 * a ** 3 * x0 ** 2), rel_tol=1e-12)
