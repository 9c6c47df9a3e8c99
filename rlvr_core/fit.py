"""Small fits used to turn measurements into one asserted number."""
from __future__ import annotations

import numpy as np


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (finite, positive points only)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        raise ValueError("x, y are invalid: expected at least two finite positive points")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])
