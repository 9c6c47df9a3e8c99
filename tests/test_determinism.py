"""Same parameters and seed -> identical results, down to the bytes of the cached files."""
import numpy as np
import torch

from rlvr_core.infra import cache

from rlvr_core.simulators import sim
from rlvr_core.simulators.answer_last import simulate_answer_last
from rlvr_core.paper.policies import circle_features
from rlvr_core.paper.token_policies import circle_token_features


def _bandit_run(seed):
    phi = circle_features(8, num_prompts=2, seed=1)
    rewards = torch.zeros(2, 8, dtype=torch.float64)
    rewards[:, 0] = 1
    res = sim.simulate(phi, rewards, torch.zeros(2), torch.tensor([0.5, 2.0, 8.0]), 50,
                       direction="grpo", group_size=8, seed=seed)
    return {"J": res.J.numpy(), "M": res.M.numpy(), "w_norm": res.w_norm.numpy()}


def _token_run(seed):
    out = simulate_answer_last(circle_token_features(8), torch.zeros(2),
                               torch.tensor([1, 4, 16]), torch.tensor([1.0, 1.0, 1.0]),
                               algorithm="grpo", group_size=8, steps=40, seed=seed)
    return {k: np.asarray(v) for k, v in out.items() if isinstance(v, (torch.Tensor, np.ndarray))}


def test_sampled_runs_repeat_exactly():
    for run in (_bandit_run, _token_run):
        a, b, c = run(3), run(3), run(4)
        assert a.keys() == b.keys() and a
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert any(not np.array_equal(a[k], c[k]) for k in a), "the seed must matter"


def test_cached_result_files_are_byte_identical(tmp_path, monkeypatch):
    files = []
    for folder in ("first", "second"):
        monkeypatch.setattr(cache, "RESULTS_DIR", tmp_path / folder)
        cache.cached("bandit", {"seed": 3}, lambda: _bandit_run(3))
        cache.cached("tokens", {"seed": 3}, lambda: _token_run(3))
        files.append({p.name: p.read_bytes() for p in (tmp_path / folder).glob("*.npz")})
    assert len(files[0]) == 2 and files[0] == files[1]
