"""Small fits used to turn measurements into one asserted number: the log-log slope of a power
law, the slope of a curve's tail and the t-interval of a mean."""
from __future__ import annotations

import numpy as np
import torch

from rlvr_core.infra.arguments import check_choice, check_int, check_probability, check_seed

DTYPE = torch.float64


def loglog_slope(x, y, *, invalid: str = "drop"):
    """Least-squares slope of log y against log x along the last axis, batched over the leading
    axes of ``y`` (``x`` broadcasts against ``y``: one shared axis ``[N]`` or one per row).
    Returns a float for 1-D input, else a float64 numpy array of the leading shape.

    A point whose x or y is not finite and positive has no logarithm to fit. ``invalid`` says
    what such a point does to its row:

    - ``"drop"`` (default): the point is left out of the row's fit; a row that keeps fewer than
      two points raises ValueError. For reading a slope off measured points, some of which may
      be missing (a threshold not reached, a step that always fails).
    - ``"nan"``: the whole row's slope is NaN. For fits whose points must all exist, e.g. a
      bootstrap resample with a censored threshold, which is counted as undefined instead of
      being fitted on the points that remain.

    The slope is the centred closed form sum(dx dy) / sum(dx^2) over the kept points."""
    check_choice("invalid", invalid, ("drop", "nan"))
    y = torch.tensor(np.asarray(y, dtype=float))   # numpy, torch, lists, pandas (a copy)
    x = torch.tensor(np.asarray(x, dtype=float))
    if y.ndim < 1:
        raise ValueError(f"y has shape {tuple(y.shape)}: expected [..., N]")
    try:
        x, y = torch.broadcast_tensors(x, y)
    except RuntimeError:
        raise ValueError(f"x has shape {tuple(x.shape)}: expected one that broadcasts against "
                         f"y's {tuple(y.shape)}") from None
    ok = torch.isfinite(x) & torch.isfinite(y) & (x > 0) & (y > 0)
    n = ok.sum(-1)
    if invalid == "drop" and bool((n < 2).any()):
        raise ValueError("x, y are invalid: expected at least two finite positive points per row")
    zero = torch.zeros((), dtype=DTYPE)
    lx = torch.where(ok, x.log(), zero)
    ly = torch.where(ok, y.log(), zero)
    lxc = torch.where(ok, lx - lx.sum(-1, keepdim=True) / n.unsqueeze(-1), zero)
    lyc = torch.where(ok, ly - ly.sum(-1, keepdim=True) / n.unsqueeze(-1), zero)
    slope = (lyc * lxc).sum(-1) / lxc.pow(2).sum(-1)
    if invalid == "nan":
        slope = torch.where(ok.all(-1), slope, torch.full_like(slope, float("nan")))
    return float(slope) if slope.ndim == 0 else slope.numpy()


def mean_tail_slope_ci(curves, *, fraction: float = 0.25, n_boot: int = 1000, seed: int = 0,
                       level: float = 0.9) -> dict:
    """Least-squares slope (per step) of the mean over runs of ``curves`` ``[R, K]`` on its last
    ``fraction`` of steps, with a percentile bootstrap CI over runs (resampled with replacement).
    Returns ``slope``, ``ci`` (low, high) and ``window`` (first step index, K). (The per-run
    slopes of logged training runs are ``llm.sweeps.per_run_tail_slopes``.)"""
    check_probability("fraction", fraction, open_interval=False)
    if fraction <= 0:
        raise ValueError(f"fraction={fraction!r} is invalid: expected a number in (0, 1]")
    n_boot = check_int("n_boot", n_boot, minimum=1)
    curves = torch.as_tensor(curves, dtype=DTYPE)
    if curves.ndim != 2 or curves.shape[0] < 2:
        raise ValueError(f"curves has shape {tuple(curves.shape)}: expected [R >= 2, K]")
    R, K = curves.shape
    start = int(np.floor(K * (1 - fraction)))
    if K - start < 2:
        raise ValueError("fraction is too small: the tail needs at least two steps")
    t = torch.arange(start, K, dtype=DTYPE)
    tc = t - t.mean()
    tail = curves[:, start:]

    def fit(mean):
        return ((mean - mean.mean(-1, keepdim=True)) * tc).sum(-1) / tc.pow(2).sum()

    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = torch.randint(R, (n_boot, R), generator=gen)
    boot = fit(tail[idx].mean(1))
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=DTYPE)
    return {"slope": float(fit(tail.mean(0))), "ci": torch.quantile(boot, q).numpy(),
            "window": (start, K)}


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


def wilson_interval(successes, trials, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, elementwise (NaN where ``trials`` is 0).
    With a handful of seeds this is what a stable fraction supports: 1 of 3 gives [0.08, 0.75]."""
    from scipy import stats

    k, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    if np.any((k < 0) | (k > n)):
        raise ValueError("successes is invalid: expected 0 <= successes <= trials")
    z = float(stats.norm.ppf((1 + level) / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half

