"""The exact k-of-T length test: closed forms against scipy, autograd, the all-correct and
answer-last models of token_policies, and Monte Carlo."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from rlvr_core.simulators import k_of_t as kt
from rlvr_core.paper.token_policies import circle_token_features, model_gap, model_success, token_probs

PHI = circle_token_features(8)
THETA = torch.tensor([1.3, 0.4], dtype=torch.float64)


@pytest.mark.parametrize("T", [1, 4, 9, 40])
def test_binomial_tail_and_its_slope_match_scipy(T):
    q = torch.tensor([0.05, 0.3, 0.5, 0.77, 0.999], dtype=torch.float64)
    for k in (1, T // 2 + 1, T):
        assert torch.allclose(kt.binomial_tail(q, T, k), torch.tensor(stats.binom.sf(k - 1, T, q.numpy())),
                              rtol=1e-10, atol=0)
        h = 1e-6
        fd = (stats.binom.sf(k - 1, T, q.numpy() + h) - stats.binom.sf(k - 1, T, q.numpy() - h)) / (2 * h)
        assert np.allclose(kt.binomial_tail_derivative(q, T, k).numpy(), fd, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("rule", kt.RULES)
@pytest.mark.parametrize("T", [1, 3, 8, 33])
def test_gap_is_the_autograd_gradient_of_logit_J(rule, T):
    theta = THETA.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(kt.logit_success(PHI, theta, T, rule), theta)
    assert torch.allclose(kt.gap(PHI, THETA, T, rule), auto, rtol=1e-9, atol=1e-12)
    J = kt.success(PHI, THETA, T, rule)
    assert float(kt.logit_success(PHI, THETA, T, rule)) == pytest.approx(float(torch.log(J / (1 - J))), rel=1e-10)


@pytest.mark.parametrize("T", [1, 5, 16])
def test_k_equal_T_is_the_all_correct_model(T):
    assert torch.allclose(kt.success(PHI, THETA, T, "all_correct"), model_success(PHI, THETA, T, "all_correct"))
    assert torch.allclose(kt.gap(PHI, THETA, T, "all_correct"), model_gap(PHI, THETA, T, "all_correct"))
    if T == 1:  # one token: majority, all-correct and answer-last coincide
        assert torch.allclose(kt.gap(PHI, THETA, 1, "majority"), model_gap(PHI, THETA, 1, "answer_last"))


def test_success_matches_monte_carlo():
    T, n = 9, 200_000
    rng = np.random.default_rng(0)
    p = token_probs(PHI, THETA).numpy()
    correct = (rng.choice(len(p), size=(n, T), p=p) == 0).sum(1)
    mc = float(np.mean(correct >= kt.needed(T, "majority")))
    J = float(kt.success(PHI, THETA, T, "majority"))
    assert abs(mc - J) < 4 * math.sqrt(J * (1 - J) / n)


def test_logit_stays_exact_where_J_rounds_to_one():
    theta = torch.tensor([40.0, 0.0], dtype=torch.float64)  # q = 1 - O(e^-11)
    T = 65
    assert float(kt.success(PHI, theta, T, "majority")) == 1.0
    # 1 - J is dominated by its first term, P(Bin = k - 1), which is computed in closed form here
    q_fail = float(torch.logsumexp(torch.log_softmax(theta @ PHI.T, -1)[1:], -1))
    k = kt.needed(T, "majority")
    first = math.log(math.comb(T, k - 1)) + (T - k + 1) * q_fail + (k - 1) * math.log1p(-math.exp(q_fail))
    assert float(-kt.logit_success(PHI, theta, T, "majority")) == pytest.approx(first, rel=1e-6)


@pytest.mark.parametrize("rule,T", [("majority", 1), ("majority", 17), ("all_correct", 8)])
def test_start_for_hits_the_starting_success(rule, T):
    theta = kt.start_for(PHI, 0.5, T, rule)
    assert float(kt.success(PHI, theta, T, rule)) == pytest.approx(0.5, abs=1e-9)


def test_ever_falls_counts_only_falls_below_the_level():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 0.5, 2.0], [0.0, 20.0, 19.0, 30.0]],
                          dtype=torch.float64)
    assert kt.ever_falls(logits).tolist() == [False, True, True]
    assert kt.ever_falls(logits, below=math.log(1e4)).tolist() == [False, True, False]


def test_first_fall_table_vectorised_matches_one_instance():
    etas = torch.logspace(-2, 2, 41, dtype=torch.float64)
    tab = kt.first_fall_table(PHI, 0.5, [0.1, 0.2], [3, 9], etas, 60)
    one = kt.first_fall(PHI, 0.5, 9, etas, 60, angle=0.2)
    for name, b in one.items():
        assert float(tab[name][1, 1]) == pytest.approx(float(b.estimate))


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="rule"):
        kt.needed(3, "half")
    with pytest.raises(ValueError, match="T"):
        kt.needed(0, "majority")
    with pytest.raises(ValueError, match="J0"):
        kt.start_for(PHI, 1e-9, 3, "majority")
