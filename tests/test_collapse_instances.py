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
