"""The off-policy / regularised directions of rlvr_core.simulators.off_policy: identity checks
(labelled so: they re-check that the general update reduces to the plain one) and a negative
control (each new direction's alignment cos(w, g) differs from plain GRPO's by more than its
combined Monte-Carlo standard error at a state away from the start; the stale batch without
importance correction is the closest, about 2.7 standard errors with 80000 updates)."""
import math

import numpy as np
import pytest
import torch

from rlvr_core.paper.token_policies import circle_token_features, model_gap, start_theta
from rlvr_core.simulators import off_policy as op
from rlvr_core.simulators.answer_last import (run_direction, sample_answer_last,
                                              sample_answer_last_counts, simulate_answer_last)

PHI = circle_token_features(8)
TH0 = start_theta(PHI, 0.2)
T = torch.full((12,), 32.0)
ETAS = torch.tensor([1.0, 20.0, 80.0]).repeat_interleave(4)


def test_identity_plain_variant_reproduces_the_fresh_sampler_run():
    # identity check: stale = 0, one epoch, no clip, beta = 0 is the plain engine, same stream;
    # short runs at small steps, so that rounding is not amplified by the chaotic dynamics
    etas = torch.tensor([1.0, 5.0, 20.0]).repeat_interleave(4)
    for alg in ("reinforce", "grpo", "dr_grpo", "dapo"):
        a = simulate_answer_last(PHI, TH0, T, etas, algorithm=alg, steps=10, seed=5,
                                 length_mode="uniform")["J"]
        b = op.simulate_variant(PHI, TH0, T, etas, op.Variant(base=alg), steps=10, seed=5)["J"]
        assert torch.allclose(a, b, atol=1e-9, rtol=0)


@pytest.mark.parametrize("variant", [op.Variant(epochs=1, clip=math.inf),
                                     op.Variant(epochs=1, clip=math.inf, importance=True),
                                     op.Variant(beta=0.0), op.Variant(stale=0)])
def test_identity_special_cases_equal_the_fresh_grpo_direction(variant):
    # identity checks: PPO with 1 epoch and eps -> inf, IS at rho = 1, beta = 0, s = 0
    rng = np.random.default_rng(0)
    theta = TH0.expand(200, 2).clone()
    batch = sample_answer_last_counts(PHI, theta, torch.full((200,), 32.0), 8, rng,
                                      length_mode="uniform")
    r, c, L, p = batch
    scores = c @ PHI - L.unsqueeze(-1) * (p @ PHI).unsqueeze(1)
    w_plain = run_direction("grpo", r, scores, L, torch.full((200,), 32.0))
    w = op.variant_update(PHI, variant, theta, theta, batch, torch.full((200,), 30.0),
                          torch.full((200,), 32.0))
    assert torch.allclose(w, w_plain, atol=1e-12, rtol=0)


def test_counts_sampler_uses_the_scores_sampler_stream():
    a = sample_answer_last(PHI, TH0.expand(5, 2), torch.full((5,), 9.0), 4, np.random.default_rng(1))
    r, c, L, p = sample_answer_last_counts(PHI, TH0.expand(5, 2), torch.full((5,), 9.0), 4,
                                           np.random.default_rng(1))
    assert torch.equal(a[0], r) and torch.allclose(a[1], c @ PHI - L.unsqueeze(-1) * (p @ PHI).unsqueeze(1))


def test_kl_gradient_matches_autograd_and_vanishes_at_the_reference():
    theta = torch.tensor([[0.7, -0.4]], dtype=torch.float64, requires_grad=True)
    ref = TH0.reshape(1, 2)
    logp = torch.log_softmax(theta @ PHI.T, -1)
    kl = (logp.exp() * (logp - torch.log_softmax(ref @ PHI.T, -1))).sum()
    (grad,) = torch.autograd.grad(kl, theta)
    assert torch.allclose(op.kl_gradient(PHI, theta.detach(), ref), grad, atol=1e-12)
    assert torch.allclose(op.kl_gradient(PHI, ref, ref), torch.zeros(1, 2, dtype=torch.float64), atol=1e-15)
    # negative control: away from the reference it is not zero
    assert grad.norm() > 1e-3


def test_negative_control_new_directions_change_the_alignment():
    # at a state away from the start (theta moved along g), many single updates per variant
    R = 80000
    g0 = model_gap(PHI, TH0, 1)
    theta_cur = (TH0 + 3.0 * g0 / g0.norm()).expand(R, 2).clone()
    g = model_gap(PHI, theta_cur[0], 1)
    eta, L = torch.full((R,), 40.0), torch.full((R,), 32.0)
    fresh = sample_answer_last_counts(PHI, theta_cur, L, 8, np.random.default_rng(2), length_mode="uniform")
    old = sample_answer_last_counts(PHI, TH0.expand(R, 2), L, 8, np.random.default_rng(3), length_mode="uniform")
    start = TH0.expand(R, 2)

    def cos(w):
        nz = w.norm(dim=-1) > 0
        c = torch.nn.functional.cosine_similarity(w[nz], g.expand_as(w[nz]), dim=-1)
        return float(c.mean()), float(c.std() / math.sqrt(len(c)))

    base, se_b = cos(op.variant_update(PHI, op.Variant(), theta_cur, start, fresh, eta, L))
    cases = {"ppo": (op.Variant(epochs=4, clip=0.2), fresh), "kl": (op.Variant(beta=0.4), fresh),
             "stale": (op.Variant(stale=4), old), "stale_is": (op.Variant(stale=4, importance=True), old)}
    for name, (v, batch) in cases.items():
        c, se = cos(op.variant_update(PHI, v, theta_cur, start, batch, eta, L))
        assert abs(c - base) > math.hypot(se, se_b), name


def test_bad_variant_parameters_name_themselves():
    with pytest.raises(ValueError, match="epochs"):
        op.Variant(epochs=0)
    with pytest.raises(ValueError, match="clip"):
        op.Variant(clip=0.0)
    with pytest.raises(ValueError, match="beta"):
        op.Variant(beta=-1.0)
    with pytest.raises(ValueError, match="base"):
        op.Variant(base="ppo")
