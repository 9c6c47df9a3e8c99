"""How long a learning-rate threshold holds: when each run collapses, and per rate the fraction of
seeds collapsed by step t with a Wilson interval.

The collapse rule is a plan's (``configs/plans/tiny_horizon.yaml``, fixed before its runs): a run
is collapsed from the first step t >= ``window`` at which the mean batch success over the trailing
``window`` steps falls below ``level * J0``, and counted as collapsed from then on."""
from __future__ import annotations

import math

import numpy as np

from rlvr_core.infra.arguments import check_int, check_probability
from rlvr_core.stats.fit import wilson_interval


def trailing_mean(rewards, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(step t, mean reward over steps t-window+1 .. t) for every t >= ``window`` (1-based)."""
    r = np.asarray(rewards, dtype=float)
    if len(r) < window:   # np.convolve's "valid" would swap the two arrays
        return np.arange(0), np.zeros(0)
    return np.arange(window, len(r) + 1), np.convolve(r, np.ones(window) / window, mode="valid")


def collapse_step(rewards, J0: float, *, window: int = 20, level: float = 0.5) -> int | None:
    """The 1-based step at which the rule first calls the run collapsed (None: never). A missing
    reward (NaN) makes its windows undecided, never collapsed."""
    check_int("window", window, minimum=1)
    check_probability("level", level)
    check_probability("J0", J0)
    steps, trailing = trailing_mean(rewards, window)
    hit = np.flatnonzero(trailing < level * J0)   # NaN compares False
    return int(steps[hit[0]]) if hit.size else None


def run_rewards(result: dict) -> np.ndarray:
    """A stored run's batch success per step (NaN where a step logged none)."""
    return np.array([np.nan if m.get("reward") is None else m["reward"] for m in result["metrics"]],
                    dtype=float)


def collapsed_by(steps, horizon: int) -> np.ndarray:
    """k(t) for t = 1..horizon: how many of the runs (their collapse steps, None = never) have
    collapsed by step t."""
    check_int("horizon", horizon, minimum=1)
    t = np.arange(1, horizon + 1)
    hit = np.array([s for s in steps if s is not None], dtype=float)
    return (hit[None, :] <= t[:, None]).sum(1) if hit.size else np.zeros(horizon, dtype=int)


def collapse_fraction(steps, horizon: int, level: float = 0.9) -> dict:
    """Per step t = 1..horizon: k collapsed of n runs, the fraction and its Wilson interval."""
    n = len(steps)
    k = collapsed_by(steps, horizon)
    lo, hi = wilson_interval(k, np.full_like(k, n), level=level)
    return {"t": np.arange(1, horizon + 1), "k": k, "n": n,
            "frac": k / n if n else np.full(horizon, math.nan), "lo": lo, "hi": hi}


def fraction_table(fractions: dict, at=(30, 100, 300, 600)) -> list[dict]:
    """Rows (label, step, k, n, Wilson low, high) of ``{label: collapse_fraction(...)}`` at the
    steps ``at`` (those within each horizon)."""
    rows = []
    for label, f in fractions.items():
        for t in at:
            if t <= len(f["k"]):
                rows.append({"rate": label, "step": t, "k": int(f["k"][t - 1]), "n": f["n"],
                             "lo": float(f["lo"][t - 1]), "hi": float(f["hi"][t - 1])})
    return rows
