"""rlvr_core.simulators.multi_prompt: many prompts that share one parameter vector."""
import math

import torch

from rlvr_core.paper.token_policies import circle_token_features, start_theta
from rlvr_core.simulators.multi_prompt import prompt_angles, prompt_success, simulate_multi_prompt


def test_multi_prompt_model_is_realisable_and_runs():
    phi = circle_token_features(8)
    ang = prompt_angles(5, 8, seed=0)
    assert torch.all(ang.abs() < math.pi / 8)
    far = torch.tensor([[400.0, 0.0]], dtype=torch.float64)
    assert torch.all(prompt_success(phi, far, ang) > 0.99)  # theta = lambda e1 solves all prompts
    zero = torch.zeros(1, 2, dtype=torch.float64)
    assert torch.allclose(prompt_success(phi, zero, ang), torch.full((1, 5), 1 / 8, dtype=torch.float64))
    out = simulate_multi_prompt(phi, start_theta(phi, 0.2), ang, torch.tensor([1.0, 3.0]), length=4,
                                steps=20, seed=0)
    assert out["J"].shape == (2, 5, 21) and torch.all((out["J"] >= 0) & (out["J"] <= 1))
    assert float(out["J"][:, :, -1].mean()) > float(out["J"][:, :, 0].mean())
