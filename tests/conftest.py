"""Shared test setup.

Every test starts from the same global torch and numpy random state, so a test's
random inputs do not depend on which tests ran before it (CI and a local run may
collect tests in a different order)."""
import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _fixed_global_seed():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
