"""One table of bad inputs across the library: each must raise a ValueError whose message names
the parameter and says what is allowed ("expected ...")."""
import math

import pytest
import torch

from rlvr_core.stepsize import checker, against_bandits as checker_validation

from rlvr_core.paper import directions, gap, policies, theory, token_policies

from rlvr_core.simulators import answer_last, instances, sim
from rlvr_core.stats import thresholds
from rlvr_core.infra import arguments as V

D = torch.float64
PHI = policies.circle_features(8)                     # [1, 8, 2]
R = torch.tensor([[1.0] + [0.0] * 7])
POL = policies.LogLinearPolicy(PHI, R)
TOK = token_policies.circle_token_features(8)

BAD = [
    # (description, call, parameter named in the message)
    ("negative step", lambda: sim.simulate(PHI, R, torch.zeros(2), [-1.0], 5), "etas"),
    ("zero step", lambda: sim.simulate(PHI, R, torch.zeros(2), [0.0], 5), "etas"),
    ("nan step", lambda: sim.simulate(PHI, R, torch.zeros(2), [math.nan], 5), "etas"),
    ("empty step grid", lambda: sim.simulate(PHI, R, torch.zeros(2), [], 5), "etas"),
    ("zero iterations", lambda: sim.simulate(PHI, R, torch.zeros(2), [1.0], 0), "num_steps"),
    ("group of one", lambda: sim.simulate(PHI, R, torch.zeros(2), [1.0], 5, direction="grpo", group_size=1), "group_size"),
    ("unknown direction", lambda: sim.simulate(PHI, R, torch.zeros(2), [1.0], 5, direction="ppo"), "direction"),
    ("unknown step rule", lambda: sim.simulate(PHI, R, torch.zeros(2), [1.0], 5, step_rule="adam"), "step_rule"),
    ("negative seed", lambda: sim.simulate(PHI, R, torch.zeros(2), [1.0], 5, seed=-1), "seed"),
    ("no correct response", lambda: sim.simulate(PHI, torch.zeros(1, 8), torch.zeros(2), [1.0], 5), "rewards"),
    ("theta of wrong size", lambda: sim.simulate(PHI, R, torch.zeros(3), [1.0], 5), "theta0"),
    ("empty grid", lambda: sim.make_grid([], 2, 2), "etas"),
    ("no seeds", lambda: sim.make_grid([1.0], 0, 2), "num_seeds"),
    ("features with one response", lambda: theory.feature_diameter(torch.zeros(1, 2)), "features"),
    ("length 0", lambda: token_policies.check_length(0), "length"),
    ("vocabulary of one", lambda: token_policies.check_vocab_size(1), "vocab"),
    ("token length 0", lambda: token_policies.AutoregressiveLogLinear(TOK, 0), "length"),
    ("unknown algorithm (tokens)", lambda: answer_last.simulate_answer_last(TOK, torch.zeros(2), torch.tensor([2]), torch.tensor([1.0]), algorithm="ppo"), "algorithm"),
    ("negative token step", lambda: answer_last.simulate_answer_last(TOK, torch.zeros(2), torch.tensor([2]), torch.tensor([-1.0])), "etas"),
    ("unknown schedule", lambda: answer_last.simulate_answer_last(TOK, torch.zeros(2), torch.tensor([2]), torch.tensor([1.0]), schedule="cosine"), "schedule"),
    ("unknown algorithm (directions)", lambda: directions.sampled_direction("ppo", torch.ones(3), torch.ones(3, 2)), "algorithm"),
    ("group of one (directions)", lambda: directions.sampled_direction("grpo", torch.ones(1), torch.ones(1, 2)), "group size"),
    ("length 0 (population)", lambda: directions.population_direction("grpo", 0.5, torch.ones(2), length=0), "length"),
    ("zero response length", lambda: directions.response_weights("grpo", torch.zeros(3)), "lengths"),
    ("probability 1", lambda: checker.check_step_size(success_rate=1.0, response_length=4, token_grad_norm=1.0, token_smoothness=1.0), "success_rate"),
    ("probability -0.2", lambda: checker.check_step_size(success_rate=-0.2, response_length=4, token_grad_norm=1.0, token_smoothness=1.0), "success_rate"),
    ("learning rate 0", lambda: checker.check_step_size(success_rate=0.5, response_length=4, token_grad_norm=1.0, token_smoothness=1.0, learning_rate=0.0), "learning_rate"),
    ("empty response set", lambda: policies.LogLinearPolicy(torch.zeros(0, 2), []), "features"),
    ("mismatched shapes", lambda: policies.LogLinearPolicy(torch.zeros(3, 2), [1, 0]), "rewards"),
    ("reward outside {0,1}", lambda: policies.LogLinearPolicy(torch.zeros(3, 2), [1, 0, 0.5]), "rewards"),
    ("no correct response (gap)", lambda: gap.exact_gap(policies.LogLinearPolicy(torch.zeros(3, 2, dtype=D), [0, 0, 0]), torch.zeros(2)), "rewards"),
    ("zero samples", lambda: gap.mc_gap(POL, torch.zeros(2), 0), "n"),
    ("quadratic-logit a <= 0", lambda: instances.QuadraticLogitPolicy(a=0.0), "a"),
    ("unknown profile", lambda: V.check_profile("huge"), "PROFILE"),
    ("seed too large", lambda: V.check_seed("SEED", 2**40), "SEED"),
    ("string grid", lambda: V.check_grid("ETAS", "[1, 2]"), "ETAS"),
    ("unsorted line-search grid (tokens)", lambda: thresholds.one_step_safe_eta(lambda t: t.sum(-1), torch.zeros(2), torch.ones(2), [1.0, 0.5]), "etas"),
    ("repeated line-search grid (checker)", lambda: checker_validation.one_step_threshold(POL, torch.zeros(2), torch.ones(2), [0.5, 0.5]), "etas"),
    ("2-D line-search grid (checker)", lambda: checker_validation.one_step_threshold(POL, torch.zeros(2), torch.ones(2), [[0.5, 1.0]]), "etas"),
]


def test_table_is_large_enough():
    assert len(BAD) >= 30


@pytest.mark.parametrize("call, name", [(c, n) for _, c, n in BAD], ids=[d for d, _, _ in BAD])
def test_bad_input_is_rejected_with_a_clear_message(call, name):
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert name in message, message
    assert "expected" in message, f"message does not say what is allowed: {message}"


def test_start_success_must_beat_a_uniform_answer():
    with pytest.raises(ValueError, match=r"J0.*expected a probability in \(1/V, 1\)"):
        token_policies.check_start_success("J0", 0.1, 8)
    assert token_policies.check_start_success("J0", 0.2, 8) == 0.2
