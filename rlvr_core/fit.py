"""Small fits used to turn measurements into one asserted number."""
from __future__ import annotations

import numpy as np
import torch


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (finite, positive points only)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        raise ValueError("x, y are invalid: expected at least two finite positive points")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def leading_true_count(ok):
    """How many grid points pass before the first failure, along the last axis of the boolean
    array ``ok`` (the core of every one-step line search: a step counts as safe only if every
    smaller step on the grid was safe too)."""
    ok = torch.as_tensor(ok, dtype=torch.bool)
    return ok.to(torch.int64).cumprod(-1).sum(-1)
