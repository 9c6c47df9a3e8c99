"""rlvr_core.paper.gap against independent computations: closed forms, autograd, brute force, Monte Carlo."""
import math

import pytest
import torch

from rlvr_core.paper import gap as G
from rlvr_core.paper.policies import LogLinearPolicy, MLPPolicy, circle_features, random_log_linear

D = torch.float64


@pytest.fixture(params=["loglinear", "mlp", "circle"])
def case(request):
    gen = torch.Generator().manual_seed(3)
    if request.param == "loglinear":
        pol = random_log_linear(3, 7, 4, num_correct=3, seed=5)
        theta = torch.randn(pol.dim, generator=gen, dtype=D)
    elif request.param == "mlp":
        r = torch.tensor([[1, 0, 0, 1, 0], [0, 1, 0, 0, 0]], dtype=D)
        pol = MLPPolicy(torch.randn(2, 5, 3, generator=gen, dtype=D), r, hidden=5)
        theta = pol.init_theta(1)
    else:
        pol = LogLinearPolicy(circle_features(8), [1] + [0] * 7)
        theta = torch.tensor([0.3, -1.2], dtype=D)
    return pol, theta


def brute_force_gap(pol, theta):
    """Loop over responses one by one, scores by finite differences of log pi."""
    eps = 1e-6
    P, N, d = pol.num_prompts, pol.num_responses, pol.dim
    scores = torch.zeros(P, N, d, dtype=D)
    for k in range(d):
        e = torch.zeros(d, dtype=D)
        e[k] = eps
        scores[..., k] = (pol.log_probs(theta + e) - pol.log_probs(theta - e)) / (2 * eps)
    p = pol.probs(theta)
    out = []
    for q in range(P):
        plus = sum(p[q, o] * scores[q, o] for o in range(N) if pol.rewards[q, o] == 1)
        minus = sum(p[q, o] * scores[q, o] for o in range(N) if pol.rewards[q, o] == 0)
        J = sum(p[q, o] for o in range(N) if pol.rewards[q, o] == 1)
        out.append(plus / J - minus / (1 - J))
    return torch.stack(out)


def test_exact_gap_matches_brute_force(case):
    pol, theta = case
    assert G.relative_error(G.exact_gap(pol, theta).gap, brute_force_gap(pol, theta)) < 1e-7


def test_identities_hold(case):
    pol, theta = case
    errs = G.identity_errors(pol, theta)
    assert max(errs.values()) < 1e-10, errs


def test_success_prob_is_sum_of_correct_probabilities(case):
    pol, theta = case
    p = pol.probs(theta)
    expected = torch.stack([p[q][pol.rewards[q] == 1].sum() for q in range(pol.num_prompts)])
    assert torch.allclose(G.success_prob(pol, theta), expected, atol=1e-14)


def test_success_prob_batches_over_theta():
    pol = random_log_linear(2, 5, 3, seed=1)
    thetas = torch.randn(4, 6, 3, dtype=D)
    batched = G.success_prob(pol, thetas)
    assert batched.shape == (4, 6, 2)
    assert torch.allclose(batched[2, 3], G.success_prob(pol, thetas[2, 3]), atol=1e-15)


def test_score_matrix_matches_closed_form():
    pol = random_log_linear(2, 6, 3, seed=2)
    theta = torch.randn(3, dtype=D)
    assert G.relative_error(G.score_matrix(pol, theta), pol.scores_closed_form(theta)) < 1e-12


def test_curvature_identity_matches_autograd_and_finite_differences(case):
    pol, theta = case
    w = torch.randn(pol.dim, generator=torch.Generator().manual_seed(9), dtype=D)
    rhs = G.curvature_identity(pol, theta, w)
    assert G.relative_error(rhs, G.log_odds_curvature(pol, theta, w)) < 1e-9
    assert G.relative_error(rhs, G.finite_difference_curvature(pol, theta, w, h=1e-3)) < 1e-4


def test_loglinear_hessian_closed_form_gives_curvature():
    """For log-linear policies h(o) = -w' Cov(phi) w for every o."""
    pol = random_log_linear(1, 6, 3, num_correct=2, seed=4)
    theta, w = torch.randn(3, dtype=D), torch.randn(3, dtype=D)
    H = pol.log_prob_hessian_closed_form(theta)[0]
    s = (G.score_matrix(pol, theta)[0] @ w)
    p, r = pol.probs(theta)[0], pol.rewards[0]
    def var(mask):
        q = p * mask / (p * mask).sum()
        return (q * (s - (q * s).sum()) ** 2).sum()
    assert torch.allclose(G.curvature_identity(pol, theta, w)[0], var(r) - var(1 - r), atol=1e-12)
    assert torch.allclose(w @ H @ w, -(p * (s - (p * s).sum()) ** 2).sum(), atol=1e-12)


def test_monte_carlo_converges_to_exact(case):
    pol, theta = case
    exact = G.exact_gap(pol, theta)
    mc = G.mc_gap(pol, theta, 400_000, seed=0)
    # CLT: a few standard errors of ~1/sqrt(n) relative size
    assert G.relative_error(mc.J, exact.J) < 0.02
    assert G.relative_error(mc.gap, exact.gap) < 0.05
    assert G.relative_error(G.mc_policy_gradient(pol, theta, 400_000, 1),
                            exact.policy_gradient) < 0.05


@pytest.mark.slow
def test_mc_error_shrinks_like_inverse_sqrt_n():
    pol = random_log_linear(1, 5, 2, num_correct=2, seed=0)
    theta = torch.zeros(2, dtype=D)
    errs = G.mc_gap_errors(pol, theta, [256, 65536], range(24))
    ratio = errs[0].pow(2).mean().sqrt() / errs[1].pow(2).mean().sqrt()
    assert 16 * 0.7 < ratio < 16 / 0.7  # sqrt(65536/256) = 16


def test_sampling_is_reproducible():
    pol = random_log_linear(2, 5, 3, seed=0)
    theta = torch.randn(3, dtype=D, generator=torch.Generator().manual_seed(1))
    a = G.mc_gap(pol, theta, 500, seed=7).gap
    b = G.mc_gap(pol, theta, 500, seed=7).gap
    c = G.mc_gap(pol, theta, 500, seed=8).gap
    # a prompt that drew only one class is NaN by design; NaN must repeat too
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    assert not torch.allclose(a, c, equal_nan=True)


def test_log_odds_property_and_policy_gradient():
    pol = random_log_linear(2, 5, 3, seed=0)
    st = G.exact_gap(pol, torch.zeros(3, dtype=D))
    assert torch.allclose(st.log_odds, torch.log(st.J / (1 - st.J)))
    J = st.J.unsqueeze(-1)
    assert torch.allclose(st.policy_gradient, J * (1 - J) * st.gap)


def test_relative_error():
    assert G.relative_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert math.isclose(G.relative_error([1.0, 2.2], [1.0, 2.0]), 0.1)


@pytest.mark.parametrize("rewards, word", [([0, 0, 0], "correct"), ([1, 1, 1], "incorrect")])
def test_gap_needs_both_outcomes(rewards, word):
    pol = LogLinearPolicy(torch.randn(3, 2, dtype=D), rewards)
    with pytest.raises(ValueError, match=rf"rewards.*{word}"):
        G.exact_gap(pol, torch.zeros(2, dtype=D))


def test_bad_theta_and_sample_size():
    pol = random_log_linear(1, 4, 3, seed=0)
    with pytest.raises(ValueError, match="theta"):
        G.exact_gap(pol, torch.zeros(2, dtype=D))
    with pytest.raises(ValueError, match="n=0"):
        G.mc_gap(pol, torch.zeros(3, dtype=D), 0)
    with pytest.raises(ValueError, match="h="):
        G.finite_difference_curvature(pol, torch.zeros(3, dtype=D), torch.ones(3, dtype=D), h=-1)


def test_curvature_checks_agree_and_the_finite_difference_meets_its_own_error_estimate():
    """Three computations of d2/dt2 logit J: the identity, autograd, a finite difference whose
    Richardson estimate must account for its error (ratio near 1)."""
    from rlvr_core.paper.gap import curvature_checks

    for pol in (random_log_linear(3, 6, 4, 2, seed=5), LogLinearPolicy(circle_features(8), [1] + [0] * 7)):
        g = torch.Generator().manual_seed(1)
        theta = torch.randn(pol.dim, generator=g, dtype=torch.float64)
        w = torch.randn(pol.dim, generator=g, dtype=torch.float64)
        c = curvature_checks(pol, theta, w)
        assert c["identity vs autograd"] < 1e-10
        assert c["identity vs finite diff"] < 1e-4
        assert 0.3 < c["finite diff error / its estimate"] < 2.0


@pytest.mark.parametrize("seed", [0, 1])
def test_identity_examples_hold_the_identities(seed):
    # the four policies of notebook 01: both outcomes on every prompt, identities to rounding
    from rlvr_core.simulators.instances import identity_examples
    policies, thetas = identity_examples(seed)
    assert len(policies) == 4 and set(policies) == set(thetas)
    for name, pol in policies.items():
        errors = G.identity_errors(pol, thetas[name])
        assert max(errors.values()) < 1e-9, (name, errors)


def test_conditional_score_moments_match_definition_total_and_curvature():
    from rlvr_core.paper.token_policies import AutoregressiveLogLinear

    feat = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=D)
    pol = AutoregressiveLogLinear(feat, 3, "all_correct")
    theta = torch.tensor([0.3, -0.2], dtype=D)
    w = torch.tensor([1.0, 0.5], dtype=D)
    m = G.conditional_score_moments(pol, theta, w)
    J = m["J"]
    assert math.isclose(J, float(G.success_prob(pol, theta)[0]), rel_tol=1e-12)
    assert math.isclose(J * m["m2_plus"] + (1 - J) * m["m2_minus"], m["m2"], rel_tol=1e-10)
    assert m["var_minus"] <= m["m2_minus"] + 1e-12 and m["var_plus"] <= m["m2_plus"] + 1e-12
    # the moments assemble d2/dt2 logit J, computed here by autograd on J itself
    curv = m["var_plus"] - m["var_minus"] + m["h_plus"] - m["h_minus"]
    assert math.isclose(curv, float(G.log_odds_curvature(pol, theta, w)[0]), rel_tol=1e-9)
    # negative control: the unconditional second moment does not assemble it
    assert not math.isclose(m["m2"] - m["m2_minus"], float(G.log_odds_curvature(pol, theta, w)[0]),
                            rel_tol=1e-3)
