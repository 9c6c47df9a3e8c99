"""The step-size checker against independent computations."""
import math
import subprocess
import sys

import pytest
import torch

from rlvr_core.stepsize.checker import check_step_size, probe_step_size
from rlvr_core.paper.directions import population_direction
from rlvr_core.paper.gap import curvature_identity, exact_gap, sample_responses, success_prob
from rlvr_core.paper.policies import random_log_linear

D = torch.float64


@pytest.mark.parametrize("algorithm, c", [
    ("reinforce", 0.3 * 0.7), ("grpo", math.sqrt(0.21) / 10), ("grpo_no_length", math.sqrt(0.21)),
    ("gap", 1.0)])
def test_statistics_mode_formula(algorithm, c):
    rep = check_step_size(success_rate=0.3, response_length=10, token_grad_norm=2.0,
                          token_smoothness=0.5, algorithm=algorithm)
    assert math.isclose(rep.eta_safe, 1 / (c * (2 * 10 * 0.5 + (10 * 2.0) ** 2)), rel_tol=1e-12)
    mart = check_step_size(success_rate=0.3, response_length=10, token_grad_norm=2.0,
                           token_smoothness=0.5, algorithm=algorithm, moment="martingale")
    assert math.isclose(mart.eta_safe, 1 / (c * (10 + 10 * 4.0)), rel_tol=1e-12)


def test_statistics_bound_guarantees_half_gain_on_a_bandit():
    """With exact G_o, L_o of a one-token log-linear bandit, the predicted step keeps at least
    half the first-order gain of logit J along the GRPO population direction."""
    from rlvr_core.paper.theory import loglinear_constants
    pol = random_log_linear(1, 8, 3, num_correct=2, seed=3)
    theta = torch.randn(3, dtype=D, generator=torch.Generator().manual_seed(1))
    L, G = (float(x) for x in loglinear_constants(pol.features[0]))
    st = exact_gap(pol, theta)
    rep = check_step_size(success_rate=float(st.J), response_length=1, token_grad_norm=G,
                          token_smoothness=L, algorithm="grpo")
    w = population_direction("grpo", st.J, st.gap)[0]
    gain = torch.logit(success_prob(pol, theta + rep.eta_safe * w)) - torch.logit(st.J)
    assert float(gain) >= 0.5 * rep.eta_safe * float(w @ st.gap[0]) - 1e-12


def test_probe_matches_exact_quantities_with_many_samples():
    pol = random_log_linear(3, 6, 3, num_correct=2, seed=5)
    theta0 = torch.randn(3, dtype=D, generator=torch.Generator().manual_seed(2))
    theta = theta0.clone().requires_grad_(True)
    idx = sample_responses(pol, theta0, 40_000, torch.Generator().manual_seed(0))
    rewards = torch.gather(pol.rewards, 1, idx)
    rep = probe_step_size(lambda: torch.gather(pol.log_probs(theta), 1, idx), [theta], rewards,
                          algorithm="grpo_no_length")
    assert torch.equal(theta.detach(), theta0), "parameters restored after the probe"
    st = exact_gap(pol, theta0)
    g = st.gap.mean(0)
    assert abs(rep.details["||g|| (Gradient Gap)"] - float(g.norm())) / float(g.norm()) < 0.03
    w = population_direction("grpo_no_length", st.J, st.gap).mean(0)
    u = w / w.norm()
    kappa = float(curvature_identity(pol, theta0, u).mean())
    assert abs(rep.details["curvature along w/||w||"] - kappa) < 0.05 * abs(kappa) + 1e-3
    assert math.isclose(rep.eta_no_gain, 2 * rep.eta_safe)


def test_probe_verdicts_and_errors():
    # one correct response per prompt: the log-odds is concave (notebook 01), kappa < 0
    pol = random_log_linear(2, 6, 3, num_correct=1, seed=0)
    theta = torch.zeros(3, dtype=D, requires_grad=True)
    idx = sample_responses(pol, theta.detach(), 32, torch.Generator().manual_seed(0))
    r = torch.gather(pol.rewards, 1, idx)
    fn = lambda: torch.gather(pol.log_probs(theta), 1, idx)  # noqa: E731
    rep = probe_step_size(fn, [theta], r, learning_rate=1e-6)
    assert rep.verdict.startswith("safe") and "assumptions" in str(rep)
    assert probe_step_size(fn, [theta], r, learning_rate=1e6).verdict.startswith("unsafe")
    with pytest.raises(ValueError, match="rewards"):
        probe_step_size(fn, [theta], torch.ones_like(r))
    with pytest.raises(ValueError, match="params"):
        probe_step_size(fn, [], r)
    with pytest.raises(ValueError, match="algorithm"):
        probe_step_size(fn, [theta], r, algorithm="ppo")


@pytest.mark.parametrize("kwargs, name", [
    (dict(success_rate=1.0), "success_rate"), (dict(response_length=0), "response_length"),
    (dict(token_grad_norm=-1.0), "token_grad_norm"), (dict(algorithm="sgd"), "algorithm"),
    (dict(moment="typical"), "moment"), (dict(learning_rate=0.0), "learning_rate")])
def test_statistics_bad_inputs(kwargs, name):
    base = dict(success_rate=0.5, response_length=4, token_grad_norm=1.0, token_smoothness=1.0)
    with pytest.raises(ValueError, match=name):
        check_step_size(**{**base, **kwargs})


@pytest.mark.slow
def test_cli():
    out = subprocess.run([sys.executable, "-m", "rlvr_core", "check-lr", "--success-rate", "0.4",
                          "--length", "64", "--token-grad-norm", "1", "--lr", "1e-3"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "theory's guaranteed step" in out.stdout and "learning rate" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "rlvr_core", "check-lr", "--success-rate", "1.5",
                          "--length", "64", "--token-grad-norm", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "success_rate" in bad.stderr


def test_one_step_threshold_and_probe_on_quadratic_logit():
    """z = y - a x^2 along w = g = (-2ax, 1): gain(eta) = eta (1 + 4a^2x^2) - 4a^3x^2 eta^2 exactly,
    so the step keeping a fraction k of the first-order gain is (1-k)(1+4a^2x^2)/(4a^3x^2)."""
    from rlvr_core.stepsize.against_bandits import one_step_threshold, probe_policy
    from rlvr_core.simulators.instances import QuadraticLogitPolicy

    a, x = 1.0, 0.7
    pol = QuadraticLogitPolicy(a=a)
    theta = torch.tensor([x, 0.2], dtype=D)
    g = torch.tensor([-2 * a * x, 1.0], dtype=D)
    etas = torch.linspace(1e-3, 3, 30_001, dtype=D)
    for keep in (0.0, 0.5):
        want = (1 - keep) * (1 + 4 * a**2 * x**2) / (4 * a**3 * x**2)
        got = one_step_threshold(pol, theta, g, etas, keep=keep).last_pass
        assert abs(got - want) <= 2e-4, (keep, got, want)
    # two responses: the conditional variances vanish and the probe's quadratic model is exact
    rep = probe_policy(pol, theta, 64, algorithm="grpo_no_length", seed=0)
    w = rep.details["||w|| (update)"]
    kappa = rep.details["curvature along w/||w||"]
    u = g / g.norm()  # the sampled grpo direction is parallel to g here
    assert abs(kappa - (-2 * a * float(u[0]) ** 2)) < 1e-5
    assert abs(rep.details["cos(w, g)"] - 1) < 1e-12 and w > 0


def test_one_step_threshold_from_a_line_search():
    from rlvr_core.llm.probe import threshold_from_line_search as llm_threshold

    search = {"lrs": [0.01, 0.03, 0.1, 0.3], "J": [0.42, 0.45, 0.35, 0.0], "J0": 0.4, "se": 0.02}
    thr, safe, drop = llm_threshold(search).as_tuple()
    assert (safe, drop) == (0.03, 0.1) and math.isclose(thr, math.sqrt(0.003))
    assert math.isnan(llm_threshold({**search, "J": [0.4, 0.4, 0.4, 0.4]}).estimate)
    assert llm_threshold({**search, "J": [0.1, 0.4, 0.4, 0.4]}).first_fail == 0.01


def test_llm_line_search_needs_an_increasing_grid():
    # threshold_from_line_search reads the grid in order, so an unsorted one must be refused
    # before any model is loaded
    from rlvr_core.llm.probe import one_step_line_search
    from rlvr_core.llm.runner import RunConfig

    with pytest.raises(ValueError, match=r"learning_rates=.*expected a strictly increasing"):
        one_step_line_search(RunConfig(), [0.1, 0.01])


def test_shifted_parameters_restores_bit_for_bit_even_after_an_error():
    from rlvr_core.stepsize.checker import shifted_parameters

    params = [torch.randn(3, dtype=torch.float32), torch.randn(2, 2, dtype=torch.float32)]
    before = [p.clone() for p in params]
    direction = torch.ones(7)
    with shifted_parameters(params, direction, 0.5):
        assert torch.allclose(params[0], before[0] + 0.5)
    assert all(torch.equal(p, b) for p, b in zip(params, before))
    try:
        with shifted_parameters(params, direction, 1e3):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert all(torch.equal(p, b) for p, b in zip(params, before))
