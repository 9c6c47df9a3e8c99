"""rlvr_core.studies.plateau_gap: the derived gain rate against sampled runs (and a wrong rate as
negative control), the simulator's identity with simulate_answer_last, the slope bootstrap and
the verdict sentence's flips."""
import math

import numpy as np
import pytest
import torch

from rlvr_core.paper.token_policies import circle_token_features, start_theta
from rlvr_core.simulators.answer_last import simulate_answer_last
from rlvr_core.studies import plateau_gap as pg

PHI = circle_token_features(8)


def test_gain_rate_closed_forms():
    d2 = (1 - math.cos(math.pi / 4)) ** 2
    assert pg.gain_rate(8, 8, 16, "grpo") == pytest.approx(d2 * math.sqrt(7) / 16)
    assert pg.gain_rate(8, 8, 16, "grpo_no_std") == pytest.approx(d2 * 7 / 8 / 16)
    assert pg.gain_rate(8, 8, 16, "reinforce") == pytest.approx(d2 * 7 / 8)
    assert pg.predicted_gap(0.9, 0.01, [1.0], [0])[0] == pytest.approx(0.1)
    assert pg.noise_floor(0.5, 2.0, 0.1, 4) == pytest.approx(2.0 * 0.01 / 1.0)


def test_zero_noise_is_the_plain_run_and_noise_changes_it():
    th = start_theta(PHI, 0.9, angle=0.0).expand(6, 2)
    eta, T = torch.full((6,), 4.0), torch.full((6,), 16.0)
    run = dict(algorithm="grpo", group_size=8, steps=30, seed=3)
    a = simulate_answer_last(PHI, th, T, eta, **run)["J"]
    b = simulate_answer_last(PHI, th, T, eta, noise=torch.zeros(6), **run)["J"]
    assert torch.equal(a, b)
    c = simulate_answer_last(PHI, th, T, eta, noise=torch.full((6,), 0.1), **run)["J"]
    assert not torch.allclose(a, c)
    with pytest.raises(ValueError, match="noise"):
        simulate_answer_last(PHI, th, T, eta, noise=torch.full((6,), -0.1), **run)


def test_sampled_gap_follows_the_derived_rate_and_a_wrong_rate_fails():
    R, K = 96, 400
    th = start_theta(PHI, 0.9, angle=0.0).expand(R, 2)
    J = simulate_answer_last(PHI, th, torch.full((R,), 2.0), torch.full((R,), 4.0), algorithm="grpo",
                             group_size=8, steps=K, seed=0)["J"]
    gap = (1 - J[:, 3 * K // 4:]).mean().item()
    window = np.arange(3 * K // 4, K + 1)
    kappa = pg.gain_rate(8, 8, 2, "grpo")
    assert 2 / 3 <= gap / pg.predicted_gap(0.9, kappa, [4.0], window)[0] <= 1.5
    # negative control: the rate without the std factor (3x smaller) is outside the same band
    wrong = pg.gain_rate(8, 8, 2, "grpo_no_std")
    assert not 2 / 3 <= gap / pg.predicted_gap(0.9, wrong, [4.0], window)[0] <= 1.5


def test_bootstrap_gap_slope_recovers_the_exponent():
    etas = np.array([1.0, 2.0, 4.0, 8.0])
    gen = np.random.default_rng(0)
    gaps = 0.1 / etas[:, None] * np.exp(0.1 * gen.standard_normal((4, 32)))
    keep = np.ones_like(gaps, dtype=bool)
    keep[0, :3] = False
    out = pg.bootstrap_gap_slope(etas, gaps, keep, n_boot=500, seed=0)
    assert out["slope"] == pytest.approx(-1.0, abs=0.05) and out["ci"][0] < -0.95 < out["ci"][1] + 0.05
    flat = pg.bootstrap_gap_slope(etas, np.full((4, 32), 0.01) * np.exp(0.1 * gen.standard_normal((4, 32))),
                                  keep, n_boot=500, seed=0)
    assert flat["ci"][0] < 0.1 and flat["ci"][1] > -0.1


def _ps(plain_ci=(-1.0, -0.9), control_ci=(0.5, 1.2)):
    rows = {}
    for name, (alg, j0, sigma) in pg.SETTINGS.items():
        ci = np.array(control_ci if sigma else plain_ci)
        r = {"slope": ci.mean(), "ci": ci, "means": np.ones(2), "predicted": np.ones(2),
             "ratio": np.ones(2), "plateau_grows": bool(ci[0] > 0), "still_falling": True,
             "tail_over_early": np.array([0.5, 0.6]), "tail_over_early_derived": np.array([0.5, 0.6])}
        if not sigma:
            r.update(derived_slope=-0.95, derived_ok=True)
        rows[name] = r
    return {"rows": rows, "etas": [1.0, 2.0], "steps": 100, "seeds": 8}


def test_verdict_and_outcomes_flip_with_the_criteria():
    text = pg.plateau_verdict(_ps())
    assert "in none of them does the gap grow" in text and "can pass" in text
    bad = pg.plateau_verdict(_ps(plain_ci=(0.2, 0.4), control_ci=(-0.3, -0.1)))
    assert "it grows with eta in 3 of them" in bad and "not shown to be able to pass" in bad
    lines = pg.precommitted_outcomes(_ps(control_ci=(-0.3, -0.1)))
    assert lines.count("FAILED") == 4 and "slope CI > 0 FAILED" in lines
