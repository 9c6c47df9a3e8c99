"""Unit tests of rlvr_core.length_scaling (threshold slopes, conditional moments, tail slope)."""
import math

import numpy as np
import torch

from rlvr_core.length_scaling import (bootstrap_loglog_slope, conditional_score_moments,
                                      loglog_fit, tail_slope)
from rlvr_core.paper.token_policies import AutoregressiveLogLinear


def test_loglog_fit_recovers_power_law():
    x = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64)
    assert math.isclose(float(loglog_fit(x, 3 * x ** -1.5)), -1.5, abs_tol=1e-12)
    y = torch.stack([x ** -1.0, torch.tensor([1.0, float("nan"), 1.0, 1.0], dtype=torch.float64)])
    out = loglog_fit(x, y)
    assert math.isclose(float(out[0]), -1.0, abs_tol=1e-12) and math.isnan(float(out[1]))


def test_bootstrap_slope_of_exact_power_law_threshold():
    grid = [2.0 ** k for k in range(10)]
    x = [1.0, 2.0, 4.0, 8.0]
    # threshold halves as x doubles: step k passes iff k < 8 - i
    out = torch.zeros(4, 10, 5, dtype=torch.bool)
    for i in range(4):
        out[i, : 8 - i] = True
    res = bootstrap_loglog_slope(out, grid, x, n_boot=50)
    assert math.isclose(res["slope"], -1.0, abs_tol=1e-12)
    assert np.allclose(res["ci"], -1.0) and res["finite_frac"] == 1.0


def test_conditional_moments_match_definition_and_total():
    feat = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pol = AutoregressiveLogLinear(feat, 3, "all_correct")
    theta = torch.tensor([0.3, -0.2], dtype=torch.float64)
    w = torch.tensor([1.0, 0.5], dtype=torch.float64)
    m = conditional_score_moments(pol, theta, w)
    J = m["J"]
    assert math.isclose(J * m["m2_plus"] + (1 - J) * m["m2_minus"], m["m2"], rel_tol=1e-10)
    assert m["var_minus"] <= m["m2_minus"] + 1e-12 and m["var_plus"] <= m["m2_plus"] + 1e-12


def test_tail_slope_flat_and_rising():
    gen = torch.Generator().manual_seed(1)
    flat = 0.5 + 0.01 * torch.randn(40, 100, generator=gen, dtype=torch.float64)
    res = tail_slope(flat, n_boot=200)
    assert res["ci"][0] <= 0 <= res["ci"][1] and res["window"] == (75, 100)
    rising = flat + 0.01 * torch.arange(100, dtype=torch.float64)
    assert tail_slope(rising, n_boot=200)["ci"][0] > 0.005


def test_multi_prompt_model_is_realisable_and_runs():
    from rlvr_core.simulators.multi_prompt import prompt_angles, prompt_success, simulate_multi_prompt
    from rlvr_core.paper.token_policies import circle_token_features, start_theta

    phi = circle_token_features(8)
    ang = prompt_angles(5, 8, seed=0)
    assert torch.all(ang.abs() < math.pi / 8)
    far = torch.tensor([[400.0, 0.0]], dtype=torch.float64)
    assert torch.all(prompt_success(phi, far, ang) > 0.99)  # theta = lambda e1 solves all prompts
    zero = torch.zeros(1, 2, dtype=torch.float64)
    assert torch.allclose(prompt_success(phi, zero, ang), torch.full((1, 5), 1 / 8, dtype=torch.float64))
    out = simulate_multi_prompt(phi, start_theta(phi, 0.2), ang, torch.tensor([1.0, 3.0]), length=4,
                                steps=20, seed=0)
    assert out["J"].shape == (2, 5, 21) and torch.all((out["J"] >= 0) & (out["J"] <= 1))
    assert float(out["J"][:, :, -1].mean()) > float(out["J"][:, :, 0].mean())
