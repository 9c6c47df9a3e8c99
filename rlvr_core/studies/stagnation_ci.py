"""Seed-bootstrap intervals and tail-slope classes for the tables of notebook 05
(``rlvr_core.studies.stagnation``): which mean curves are still climbing, whether the
(1 - J)-proportional schedule changes the plateau, the CI of the sampled-run threshold exponents,
and a median / pooled fit of the far-failure exponents that no single instance drives.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from rlvr_core.stats.fit import loglog_slope, mean_tail_slope_ci
from rlvr_core.stats.thresholds import first_failure

LEVEL = 0.9
N_BOOT = 2000


def _quantiles(x):
    return np.nanquantile(x, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])


# --- §1: tail classes and the schedule difference ---------------------------------------------

def tail_class(ci, tol: float) -> str:
    """'flat' when the CI of the last-quarter change lies within +-tol, 'climbing' when it lies
    above +tol, 'falling' below -tol, else 'undecided'."""
    lo, hi = ci
    if -tol <= lo and hi <= tol:
        return "flat"
    if lo > tol:
        return "climbing"
    if hi < -tol:
        return "falling"
    return "undecided"


def tail_classes(runs, etas, tol: float, seed: int) -> pd.DataFrame:
    """Per setting (rows) and step size (columns): the class of the mean curve's change over the
    last quarter (90% CI over runs, ``mean_tail_slope_ci``), with the flat-tail tolerance ``tol``."""
    out = {}
    for (alg, sch), r in runs.items():
        row = []
        for tail in r["tail"]:
            fit = mean_tail_slope_ci(tail, fraction=1.0, seed=seed)
            row.append(tail_class(fit["ci"] * (fit["window"][1] - 1), tol))
        out[f"{alg} / {sch}"] = row
    return pd.DataFrame(out, index=[f"eta={e:g}" for e in etas]).T


def climbing_line(classes: pd.DataFrame, j_inf: pd.DataFrame, below: float) -> str:
    """Which settings end below ``below`` on average while their mean is still climbing."""
    hits = [f"{s} at {c}" for s in classes.index for c in classes.columns
            if classes.loc[s, c] == "climbing" and j_inf.loc[s, c] < below]
    flat = [f"{s} at {c}" for s in classes.index for c in classes.columns
            if classes.loc[s, c] == "flat" and j_inf.loc[s, c] < below]
    return ("[measured] Ending below %g with the mean still climbing (not a plateau): %s. "
            "Ending below %g with a flat tail: %s." % (below, ", ".join(hits) or "none",
                                                        below, ", ".join(flat) or "none"))


def difference_ci(a, b, seed: int) -> dict:
    """Mean of ``a`` minus mean of ``b`` (independent runs), with a 90% bootstrap CI (each
    sample resampled separately)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    gen = np.random.default_rng(seed)
    boot = (a[gen.integers(0, len(a), (N_BOOT, len(a)))].mean(-1)
            - b[gen.integers(0, len(b), (N_BOOT, len(b)))].mean(-1))
    return {"diff": float(a.mean() - b.mean()), "ci": _quantiles(boot)}


def schedule_verdict(runs, st: dict, seed: int, below: float) -> str:
    """The (1 - J)-proportional schedule against the constant step at the largest eta: the
    difference of the mean final J with its CI, and the sentence that follows from it."""
    k = st["p6_eta"]
    fr = runs["grpo", "failure_rate"]["final"][k]
    const = runs["grpo", "constant"]["final"][k]
    d = difference_ci(fr, const, seed)
    lo, hi = d["ci"]
    if lo > 0:
        change = "raises the mean final J"
    elif hi < 0:
        change = "lowers the mean final J"
    else:
        change = "does not change the mean final J detectably"
    removed = fr.mean() >= below
    return (f"[measured] At eta = {st['etas'][k]:g} the (1-J)-proportional schedule {change}: "
            f"{fr.mean():.3f} against {const.mean():.3f}, difference {d['diff']:+.3f} (90% CI "
            f"[{lo:+.3f}, {hi:+.3f}] over runs); "
            + ("the plateau is removed (mean final J >= %g)." % below if removed
               else "it does not remove the plateau (mean final J < %g)." % below))


# --- §3: CI of the sampled-run threshold exponents ---------------------------------------------

def threshold_exponent_ci(final, j0_grid, etas, seed: int) -> dict:
    """Seed-bootstrap CI of the run-threshold exponent: ``final`` ``[X, E, S]`` (final J per start,
    step and seed); the threshold is the end of the first block of steps whose seeds end, on
    average, at J >= J0; seeds are resampled per start, a resample whose threshold is not bracketed
    counts as undefined (NaN). Returns ``slope``, ``ci`` and ``finite_frac``."""
    final = torch.as_tensor(final, dtype=torch.float64)
    X, E, S = final.shape
    j0 = torch.as_tensor(j0_grid, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(S, (N_BOOT, X, 1, S), generator=gen).expand(-1, -1, E, -1)
    res = torch.gather(final.unsqueeze(0).expand(N_BOOT, -1, -1, -1), 3, idx).mean(-1)
    eta = first_failure(res >= j0[:, None], etas).last_pass
    boot = loglog_slope(1 - j0.numpy(), eta.numpy(), invalid="nan")
    point = first_failure(final.mean(-1) >= j0[:, None], etas).last_pass.numpy()
    return {"slope": loglog_slope(1 - j0.numpy(), point), "ci": _quantiles(boot),
            "finite_frac": float(np.isfinite(boot).mean())}


# --- §3: far-failure exponents that no single instance drives -----------------------------------

def robust_far_exponent(curves, grid_max: float, seed: int) -> dict:
    """The far-failure exponent two ways that no single instance drives: the median of the
    per-instance fits (instances with at least two usable points), and a pooled fit with one
    intercept per instance (centred logs; an instance weighs by its spread in log(1 - J)). Each
    with a 90% bootstrap CI over instances. A usable point has 1e-4 < 1 - J < 0.5 and a safe step
    below the grid's end (the selection of ``stagnation.far_failures``)."""
    cen = []
    for f, s, _ in curves:
        keep = (f < 0.5) & (f > 1e-4) & (s < grid_max) & np.isfinite(s) & (s > 0)
        if keep.sum() >= 2:
            lx, ly = np.log(f[keep]), np.log(s[keep])
            cen.append((lx - lx.mean(), ly - ly.mean()))
    per = np.array([(x * y).sum() / (x * x).sum() for x, y in cen])
    sxy = np.array([(x * y).sum() for x, y in cen])
    sxx = np.array([(x * x).sum() for x, y in cen])
    gen = np.random.default_rng(seed)
    idx = gen.integers(0, len(cen), (N_BOOT, len(cen)))
    return {"median": float(np.median(per)), "median_ci": _quantiles(np.median(per[idx], -1)),
            "pooled": float(sxy.sum() / sxx.sum()),
            "pooled_ci": _quantiles(sxy[idx].sum(-1) / sxx[idx].sum(-1)), "instances": len(cen),
            "weights": sxx / sxx.sum()}


def robust_far_line(rf: dict) -> str:
    """The median and pooled exponents with their CIs and the largest instance weight."""
    m, p = rf["median_ci"], rf["pooled_ci"]
    return (f"[measured] far-failure exponent over {rf['instances']} instances: median "
            f"{rf['median']:+.2f} (90% CI [{m[0]:+.2f}, {m[1]:+.2f}]), pooled with one intercept per "
            f"instance {rf['pooled']:+.2f} (90% CI [{p[0]:+.2f}, {p[1]:+.2f}]; largest instance "
            f"weight {rf['weights'].max():.2f}); the paper's (1-J) factor would be +1.")
