"""The token-level policies (rlvr_core.paper.token_policies) and the answer-last sampler
(rlvr_core.simulators.answer_last) against independent computations: closed forms vs enumeration
vs autograd vs Monte Carlo vs brute-force loops; bad inputs raise ValueError naming the argument."""
import math

import numpy as np
import pytest
import torch
from torch.func import jacrev

from rlvr_core.paper.directions import population_direction, sampled_direction
from rlvr_core.paper.gap import exact_gap, grad_log_odds
from rlvr_core.paper.token_policies import (AutoregressiveLogLinear, AutoregressiveMLP, circle_token_features,
                                            curvature_bound, enumerate_sequences, model_gap, model_success,
                                            start_theta, token_constants, token_probs)
from rlvr_core.simulators.answer_last import (direction_statistics, exact_gap_runs, sample_answer_last,
                                              simulate_answer_last, summarise_runs, sweep_answer_last)
from rlvr_core.simulators.sim import grid_runs
from rlvr_core.stats.fit import loglog_slope
from rlvr_core.stats.thresholds import one_step_safe_eta, threshold_from_final

PHI = circle_token_features(8)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("rule", ["answer_last", "all_correct"])
@pytest.mark.parametrize("T", [1, 2, 3])
def test_closed_forms_match_enumeration(rule, T):
    theta = torch.tensor([0.7, -0.4], dtype=torch.float64)
    pol = AutoregressiveLogLinear(PHI, T, rule)
    stats = exact_gap(pol, theta)
    assert rel(stats.J, model_success(PHI, theta, T, rule).reshape(1)) < 1e-10
    assert rel(stats.gap[0], model_gap(PHI, theta, T, rule)) < 1e-10


def test_enumeration_is_a_distribution():
    seqs = enumerate_sequences(3, 4)
    assert seqs.shape == (81, 4) and len(set(map(tuple, seqs.tolist()))) == 81
    pol = AutoregressiveMLP(3, 4, hidden=2)
    p = pol.probs(pol.init_theta(1))
    assert abs(float(p.sum()) - 1) < 1e-12


def test_log_linear_token_scores_closed_form_vs_autograd():
    gen = torch.Generator().manual_seed(0)
    pol = AutoregressiveLogLinear(torch.randn(4, 3, 2, generator=gen, dtype=torch.float64), 2)
    theta = torch.tensor([0.3, -1.1], dtype=torch.float64)
    auto = jacrev(pol.token_log_probs)(theta)
    assert rel(auto, pol.token_scores_closed_form(theta)) < 1e-12


@pytest.mark.parametrize("reward", ["all_correct", "answer_last"])
def test_gap_is_gradient_of_log_odds_for_neural_ar(reward):
    pol = AutoregressiveMLP(3, 3, hidden=3, reward=reward)
    theta = pol.init_theta(2)
    stats = exact_gap(pol, theta)
    assert rel(stats.gap, grad_log_odds(pol, theta)) < 1e-8


def test_token_constants_bounds_and_martingale_identity():
    pol = AutoregressiveMLP(3, 4, hidden=2)
    c = token_constants(pol, pol.init_theta(0))
    assert c["G_seq"] <= c["T_G_token"] + 1e-12 and c["L_seq"] <= c["T_L_token"] + 1e-12
    assert c["second_moment"] <= c["T_G_token_sq"] + 1e-12
    assert abs(c["second_moment"] - c["token_second_moment"]) < 1e-10 * c["second_moment"]
    # brute force: second moment from the enumerated sequence scores, by a Python loop
    theta = pol.init_theta(0)
    p = pol.probs(theta)[0]
    total = 0.0
    for n in range(len(pol.sequences)):
        s = torch.autograd.functional.jacobian(lambda t: pol.log_probs(t)[0, n], theta)
        total += float(p[n]) * float(s.pow(2).sum())
    assert abs(total - c["second_moment"]) < 1e-10 * total


def test_sampler_moments_match_closed_forms():
    theta = start_theta(PHI, 0.3).expand(3, 2)
    lengths = torch.tensor([1, 5, 40])
    rng = np.random.default_rng(0)
    n = 40000
    r, s, L = sample_answer_last(PHI, theta, lengths, n, rng)
    p = token_probs(PHI, theta[0])
    per_token = float((p * (PHI - p @ PHI).pow(2).sum(-1)).sum())
    for i, T in enumerate([1, 5, 40]):
        m2 = s[i].pow(2).sum(-1)
        se = float(m2.std()) / math.sqrt(n)
        assert abs(float(m2.mean()) - T * per_token) < 5 * se          # E|s|^2 = T E|s_t|^2
        assert abs(float(r[i].mean()) - 0.3) < 5 * math.sqrt(0.21 / n)  # J = p_c
        gap = (r[i] @ s[i]) / r[i].sum() - ((1 - r[i]) @ s[i]) / (1 - r[i]).sum()
        g = model_gap(PHI, theta[i], 1)
        assert float((gap - g).norm()) < 6 * math.sqrt(T * per_token / (n * 0.21))
        assert torch.all(L[i] == T)


def test_sampler_counts_vs_explicit_token_loop():
    """Free-token counts from conditional binomials vs explicit categorical sampling."""
    theta = torch.tensor([[0.8, 0.3]], dtype=torch.float64)
    rng = np.random.default_rng(1)
    n, T = 20000, 9
    _, s, _ = sample_answer_last(PHI, theta, torch.tensor([T]), n, rng)
    p = token_probs(PHI, theta[0])
    gen = torch.Generator().manual_seed(1)
    toks = torch.multinomial(p, n * T, replacement=True, generator=gen).reshape(n, T)
    s_loop = (PHI[toks] - p @ PHI).sum(1)
    cov_a, cov_b = torch.cov(s[0].T), torch.cov(s_loop.T)
    assert rel(cov_a, cov_b) < 0.06


def test_uniform_lengths_are_in_range():
    rng = np.random.default_rng(2)
    _, _, L = sample_answer_last(PHI, torch.zeros(2, 2), torch.tensor([1, 6]), 4000, rng,
                                 length_mode="uniform")
    assert torch.all(L[0] == 1) and L[1].min() == 1 and L[1].max() == 6
    assert abs(float(L[1].mean()) - 3.5) < 0.1


def test_simulate_first_step_matches_manual_update():
    theta0 = start_theta(PHI, 0.2)
    lengths, etas = torch.tensor([1.0, 16.0]), torch.tensor([2.0, 0.5])
    out = simulate_answer_last(PHI, theta0, lengths, etas, algorithm="grpo", steps=1, seed=5)
    rng = np.random.default_rng(5)
    r, s, L = sample_answer_last(PHI, theta0.expand(2, 2), lengths, 8, rng)
    w = sampled_direction("grpo", r, s, L)
    J1 = model_success(PHI, theta0 + etas[:, None] * w, 1)
    assert rel(out["J"][:, 1], J1) < 1e-12


def test_mean_sampled_reinforce_is_population_direction():
    theta0 = start_theta(PHI, 0.4)
    R, G = 20000, 4
    rng = np.random.default_rng(3)
    r, s, L = sample_answer_last(PHI, theta0.expand(R, 2), torch.full((R,), 3), G, rng)
    w = sampled_direction("reinforce", r, s, L)
    J = model_success(PHI, theta0, 1)
    expected = (G - 1) / G * population_direction("reinforce", J, model_gap(PHI, theta0, 1))
    se = w.std(0) / math.sqrt(R)
    assert torch.all((w.mean(0) - expected).abs() < 5 * se)


def test_exact_runs_vs_loop():
    theta0 = start_theta(PHI, 0.3, torch.tensor([2.0, 5.0]), "all_correct")
    J = exact_gap_runs(PHI, theta0, torch.tensor([2, 5]), torch.tensor([0.5, 3.0]), 4, "all_correct")
    for i, (T, eta) in enumerate([(2, 0.5), (5, 3.0)]):
        th = theta0[i].clone()
        for k in range(5):
            assert abs(float(J[i, k]) - float(torch.softmax(PHI @ th, -1)[0] ** T)) < 1e-12
            th = th + eta * model_gap(PHI, th, T, "all_correct")


def test_start_theta_hits_target():
    J = torch.tensor([0.2, 0.5, 0.9])
    for rule, T in (("answer_last", 1), ("all_correct", 16)):
        th = start_theta(PHI, J, T, rule)
        assert rel(model_success(PHI, th, T, rule), J) < 1e-10


def test_threshold_and_slope_vs_brute_force():
    etas = [0.1, 0.2, 0.4, 0.8]
    # row 0 passes again at the largest step after a failure: that pass does not count
    final = torch.tensor([[[0.9, 0.9], [0.85, 0.8], [0.2, 0.9], [0.9, 0.8]],
                          [[0.1, 0.2], [0.3, 0.2], [0.1, 0.1], [0.0, 0.0]]])
    got = threshold_from_final(final, etas, level=0.8).last_pass
    for i in range(2):
        best = math.nan
        for e, f in zip(etas, final[i]):
            if float(f.mean()) < 0.8:
                break
            best = e
        assert best == pytest.approx(float(got[i]), nan_ok=True)
    assert float(got[0]) == 0.2
    x = np.array([1, 2, 4, 8.0])
    assert loglog_slope(x, 3 * x ** -1.3) == pytest.approx(-1.3)


def test_one_step_safe_eta_vs_loop():
    theta = start_theta(PHI, torch.tensor([0.3, 0.9]), 4, "all_correct")
    g = model_gap(PHI, theta, 4, "all_correct")
    grid = torch.logspace(-1, 3, 80, dtype=torch.float64)
    got = one_step_safe_eta(lambda t: model_success(PHI, t, 4, "all_correct"), theta, g,
                            grid).last_pass
    for i in range(2):
        J0 = float(model_success(PHI, theta[i], 4, "all_correct"))
        best = math.nan
        for e in grid:
            if float(model_success(PHI, theta[i] + e * g[i], 4, "all_correct")) < J0 * (1 - 1e-12):
                break
            best = float(e)
        assert best == pytest.approx(float(got[i]), nan_ok=True)


def test_grid_runs_order():
    a, b = grid_runs([1, 2], [10, 20, 30])
    assert a.tolist() == [1, 1, 1, 2, 2, 2] and b.tolist() == [10, 20, 30] * 2


@pytest.mark.parametrize("call, name", [
    (lambda: AutoregressiveLogLinear(PHI, 0), "length"),
    (lambda: AutoregressiveMLP(1, 3), "vocab_size"),
    (lambda: circle_token_features(1), "vocab_size"),
    (lambda: enumerate_sequences(8, 10), "length"),
    (lambda: simulate_answer_last(PHI, torch.zeros(2), torch.tensor([1.0]), torch.tensor([1.0]),
                                  algorithm="ppo"), "algorithm"),
    (lambda: simulate_answer_last(PHI, torch.zeros(2), torch.tensor([0.0]), torch.tensor([1.0])),
     "length"),
    (lambda: simulate_answer_last(PHI, torch.zeros(2), torch.tensor([1.0]), torch.tensor([-1.0])),
     "etas"),
    (lambda: simulate_answer_last(PHI, torch.zeros(2), torch.tensor([1.0]), torch.tensor([1.0]),
                                  group_size=1), "group_size"),
    (lambda: simulate_answer_last(PHI, torch.zeros(2), torch.tensor([1.0]), torch.tensor([1.0]),
                                  schedule="cosine"), "schedule"),
    (lambda: start_theta(PHI, 1.5), "success"),
    (lambda: model_success(PHI, torch.zeros(2), 1, rule="any"), "rule"),
    (lambda: threshold_from_final(torch.zeros(3, 2), [1.0, 2.0]), "final_J"),
])
def test_bad_inputs_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_curvature_bound_vs_brute_force():
    """C = diam^2 / 4 bounds -d2/dt2 logit J along random directions (autograd)."""
    from torch.func import jacfwd
    C = curvature_bound(PHI)
    assert C == pytest.approx(1.0)
    gen = torch.Generator().manual_seed(4)
    for _ in range(20):
        theta = 3 * torch.randn(2, generator=gen, dtype=torch.float64)
        w = torch.randn(2, generator=gen, dtype=torch.float64)
        f = lambda t: torch.logit(model_success(PHI, theta + t * w, 1))  # noqa: E731
        curv = jacfwd(jacfwd(f))(torch.zeros((), dtype=torch.float64))
        assert float(curv) <= 1e-12 and -float(curv) <= C * float(w @ w) + 1e-12


def test_theorem1_schedule_never_lowers_J():
    theta0 = start_theta(PHI, 0.2)
    E, _ = grid_runs([10.0, 100.0, 1000.0], torch.arange(8))
    out = simulate_answer_last(PHI, theta0, torch.full_like(E, 16), E, algorithm="grpo_no_length",
                               steps=60, seed=1, schedule="theorem1")
    assert torch.all(out["J"][:, 1:] >= out["J"][:, :-1] - 1e-12)
    const = simulate_answer_last(PHI, theta0, torch.full_like(E, 16), E,
                                 algorithm="grpo_no_length", steps=60, seed=1)
    assert torch.any(const["J"][:, 1:] < const["J"][:, :-1] - 1e-3)  # without the cap J does fall


def test_sweep_answer_last_is_the_flat_batch_reshaped():
    # the grid helper against the flat-batch call it replaces, run by run
    J0s, etas = torch.tensor([0.3, 0.6]), [0.2, 0.8, 3.2]
    J = sweep_answer_last(PHI, J0s, 4, etas, 3, algorithm="grpo", steps=5, seed=2)
    assert J.shape == (2, 3, 3, 6)
    J0r, E, _ = grid_runs(J0s, etas, torch.arange(3))
    flat = simulate_answer_last(PHI, start_theta(PHI, J0r), torch.full_like(E, 4), E,
                                algorithm="grpo", steps=5, seed=2)["J"]
    assert torch.equal(J.reshape(-1, 6), flat)
    assert torch.allclose(J[:, 0, 0, 0], J0s.double(), atol=1e-9)  # each run starts at its J0


def test_summarise_runs_vs_loops():
    J = torch.rand(2, 4, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    J[0, 1, 3:] = 0.001
    out = summarise_runs(J, absorbed_below=0.01, num_traces=2, trace_every=4, tail_fraction=0.25)
    assert np.array_equal(out["final"], J[..., -1].numpy())
    assert np.allclose(out["mean_traj"][1], [J[1, :, k].mean() for k in range(9)])
    first_low = [[next((k for k in range(9) if J[i, s, k] < 0.01), -1) for s in range(4)]
                 for i in range(2)]
    assert out["absorbed_at"].tolist() == first_low and first_low[0][1] == 3
    assert out["traces"].shape == (2, 2, 3) and out["tail"].shape == (2, 4, 3)


def test_direction_statistics_vs_population_formula():
    # no-std algorithms: the Monte-Carlo mean is (G-1)/G times the population direction
    theta0 = start_theta(PHI, 0.3)
    stats = direction_statistics(PHI, theta0, 3, 4, 20000, seed=1)
    J, g = model_success(PHI, theta0, 1), model_gap(PHI, theta0, 1)
    for alg in ("reinforce", "grpo_no_std"):
        expected = 0.75 * population_direction(alg, J, g, length=3)
        z = np.abs(stats[alg]["mean"] - expected.numpy()) / stats[alg]["se"]
        assert z.max() < 5, (alg, z)
        assert stats[alg]["cos_mean"] > 0.99
    # negative control: a wrong factor (G/G instead of (G-1)/G) is detected at this sample size
    z_bad = np.abs(stats["reinforce"]["mean"] - population_direction("reinforce", J, g).numpy())
    assert (z_bad / stats["reinforce"]["se"]).max() > 5
