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



def mean_ci(x, level: float = 0.9) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean of independent values (NaN ends with
    fewer than two)."""
    import math

    from scipy import stats

    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    h = float(stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - h, m + h
