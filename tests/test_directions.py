"""rlvr_core.paper.directions: sampled directions average to the population ones (Monte Carlo),
and each algorithm's weighting matches a per-response loop."""
import pytest
import torch

from rlvr_core.paper import directions as Dn
from rlvr_core.paper.gap import exact_gap, sample_responses, score_matrix
from rlvr_core.paper.policies import random_log_linear

D = torch.float64


def loop_direction(algorithm, rewards, scores, lengths, max_length):
    G = len(rewards)
    std_scale, mode = Dn.ALGORITHMS[algorithm]
    mean = sum(rewards) / G
    std = (sum((r - mean) ** 2 for r in rewards) / G) ** 0.5
    w = torch.zeros(scores.shape[-1], dtype=D)
    for i in range(G):
        a = (rewards[i] - mean) / ((std + Dn.STD_EPS) if std_scale else 1.0)
        weight = {"none": 1.0, "per_response": 1 / lengths[i], "constant": 1 / max_length,
                  "token_mean": G / sum(lengths)}[mode]
        w += a * weight * scores[i]
    return w / G


@pytest.mark.parametrize("algorithm", list(Dn.ALGORITHMS))
def test_sampled_direction_matches_loop(algorithm):
    gen = torch.Generator().manual_seed(0)
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])
    scores = torch.randn(5, 3, generator=gen, dtype=D)
    lengths = torch.tensor([3.0, 7.0, 2.0, 5.0, 4.0])
    got = Dn.sampled_direction(algorithm, rewards, scores, lengths, max_length=8)
    want = loop_direction(algorithm, rewards.tolist(), scores, lengths.tolist(), 8)
    assert torch.allclose(got, want, atol=1e-12)


def test_all_equal_rewards_give_zero_direction():
    w = Dn.sampled_direction("grpo", torch.ones(2, 4), torch.randn(2, 4, 3, dtype=D))
    assert torch.equal(w, torch.zeros(2, 3, dtype=D))


def test_reinforce_sample_mean_is_group_bias_times_population():
    """E[sampled] = (G-1)/G * J(1-J) g with the group mean as baseline."""
    pol = random_log_linear(1, 6, 3, num_correct=2, seed=2)
    theta = torch.zeros(3, dtype=D)
    st = exact_gap(pol, theta)
    G, groups = 4, 100_000
    idx = sample_responses(pol, theta, G * groups, torch.Generator().manual_seed(0))[0].reshape(groups, G)
    w = Dn.sampled_direction("reinforce", pol.rewards[0][idx], score_matrix(pol, theta)[0][idx]).mean(0)
    want = (G - 1) / G * Dn.population_direction("reinforce", st.J, st.gap)[0]
    assert (w - want).norm() / want.norm() < 0.03


def test_population_directions_scale_as_derived():
    J, g = torch.tensor([0.3]), torch.tensor([[1.0, -2.0]], dtype=D)
    var = 0.3 * 0.7
    cases = {"gap": 1.0, "reinforce": var, "grpo_no_length": var**0.5, "grpo": var**0.5 / 4,
             "grpo_no_std": var / 4, "dapo": var**0.5 / 4, "dr_grpo": var / 10}
    for name, factor in cases.items():
        got = Dn.population_direction(name, J, g, length=4, max_length=10)
        assert torch.allclose(got, factor * g.double()), name


@pytest.mark.parametrize("call, name", [
    (lambda: Dn.sampled_direction("ppo", torch.ones(3), torch.ones(3, 2)), "algorithm"),
    (lambda: Dn.sampled_direction("grpo", torch.ones(1), torch.ones(1, 2)), "group size"),
    (lambda: Dn.sampled_direction("grpo", torch.ones(3), torch.ones(4, 2)), "scores"),
    (lambda: Dn.sampled_direction("grpo", torch.ones(3), torch.ones(3, 2), torch.zeros(3)), "lengths"),
    (lambda: Dn.sampled_direction("dr_grpo", torch.ones(3), torch.ones(3, 2)), "max_length"),
    (lambda: Dn.population_direction("grpo", 0.5, torch.ones(2), length=0), "length"),
])
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
