"""rlvr_core.paper.policies: shapes, normalisation, closed forms, and input validation."""
import math

import pytest
import torch

from rlvr_core.paper.policies import LogLinearPolicy, MLPPolicy, circle_features, random_log_linear

D = torch.float64


def test_loglinear_probs_match_explicit_softmax():
    phi = torch.randn(2, 4, 3, dtype=D)
    pol = LogLinearPolicy(phi, [[1, 0, 0, 0], [0, 0, 1, 1]])
    theta = torch.randn(3, dtype=D)
    for q in range(2):
        z = torch.tensor([math.exp(float(theta @ phi[q, o])) for o in range(4)], dtype=D)
        assert torch.allclose(pol.probs(theta)[q], z / z.sum(), atol=1e-14)


def test_probs_sum_to_one_for_batched_theta():
    pol = random_log_linear(3, 6, 2, seed=1)
    p = pol.probs(torch.randn(5, 2, dtype=D))
    assert p.shape == (5, 3, 6)
    assert torch.allclose(p.sum(-1), torch.ones(5, 3, dtype=D))


def test_hessian_closed_form_matches_autograd():
    pol = random_log_linear(1, 5, 3, seed=2)
    theta = torch.randn(3, dtype=D)
    auto = torch.autograd.functional.hessian(lambda t: pol.log_probs(t)[0, 2], theta)
    assert torch.allclose(pol.log_prob_hessian_closed_form(theta)[0], auto, atol=1e-12)


def test_mlp_matches_explicit_network():
    phi = torch.randn(1, 4, 3, dtype=D)
    pol = MLPPolicy(phi, [1, 0, 0, 0], hidden=2)
    theta = pol.init_theta(0)
    W, b, v = pol.unflatten(theta)
    logits = torch.tanh(phi[0] @ W.T + b) @ v
    assert torch.allclose(pol.log_probs(theta)[0], torch.log_softmax(logits, -1), atol=1e-14)
    assert pol.dim == 2 * 3 + 2 + 2


def test_circle_features_on_unit_circle():
    phi = circle_features(8, num_prompts=3, seed=1)
    assert phi.shape == (3, 8, 2)
    assert torch.allclose(phi.norm(dim=-1), torch.ones(3, 8, dtype=D))
    # neighbours 45 degrees apart
    assert torch.allclose((phi[:, 0] * phi[:, 1]).sum(-1), torch.full((3,), math.cos(math.pi / 4), dtype=D))


def test_random_log_linear_has_requested_correct_count():
    pol = random_log_linear(4, 9, 3, num_correct=3, seed=0)
    assert torch.equal(pol.rewards.sum(-1), torch.full((4,), 3.0, dtype=D))


@pytest.mark.parametrize("make, name", [
    (lambda: LogLinearPolicy(torch.zeros(0, 2), []), "features"),
    (lambda: LogLinearPolicy(torch.zeros(3, 2), [1, 0]), "rewards"),
    (lambda: LogLinearPolicy(torch.zeros(3, 2), [1, 0, 0.5]), "rewards"),
    (lambda: LogLinearPolicy(torch.zeros(3, 2), [1, 0, 2]), "rewards"),
    (lambda: MLPPolicy(torch.zeros(3, 2), [1, 0, 0], hidden=0), "hidden"),
    (lambda: circle_features(1), "num_responses"),
    (lambda: random_log_linear(1, 4, 2, num_correct=4), "num_correct"),
    (lambda: random_log_linear(0, 4, 2), "num_prompts"),
    (lambda: random_log_linear(1, 4, 2, seed=-1), "seed"),
])
def test_bad_inputs_name_the_argument(make, name):
    with pytest.raises(ValueError, match=name):
        make()
