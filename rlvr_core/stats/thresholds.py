"""One rule for "the largest safe step on a grid": the first failure.

Every threshold in the companion is read the same way. Steps are tried on an increasing grid;
each step passes or fails. The threshold is bracketed by

    (last pass, first fail)

where "last pass" ends the FIRST CONTIGUOUS BLOCK of passing steps starting at the smallest
step: a step that passes after a failure does not count (a lucky large step is not safe when a
smaller one already broke), and "first fail" is the first failing step after that block.

Caveat for finite runs: a too-small step can "fail" by slowness, i.e. not reach a success level
within K steps, which is not a collapse. A caller that reads a collapse threshold should use a
pass criterion that small steps meet, e.g. "the run did not end below its start", or start the
grid where small steps already pass. The run length moves where that happens: a step eta gains
about K * eta in log-odds over K steps, so with more steps K a smaller eta already reaches a
level, and the slow-failure region shrinks towards eta = 0 as K grows.

One return type, ``Bracket``; grids are 1-D and increasing; pass arrays have the grid on their
last axis and any leading axes (computed in torch; numpy inputs are converted). On top of the
rule: ``bootstrap_bracket`` (a CI of one bracket over seeds) and ``bootstrap_loglog_slope`` (how
the bracketed threshold scales along an axis, with a CI over seeds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from rlvr_core.infra.arguments import check_grid, check_int, check_probability, check_seed
from rlvr_core.stats.fit import loglog_slope

DTYPE = torch.float64


@dataclass(frozen=True)
class Bracket:
    """The threshold bracket of one grid (fields are floats) or of many (float64 tensors shaped
    like the leading axes of the pass array).

    ``last_pass``: end of the leading passing block; NaN when even the smallest step fails.
    ``first_fail``: first (clearly) failing step after it; NaN when none fails (censored: the
    threshold lies above the grid). ``ambiguous``: for per-seed outcomes, a bool array
    ``[..., E]`` marking grid points whose pass fraction lies strictly inside the band (neither
    pass nor fail); None for plain pass/fail input. Ambiguous points never extend the passing
    block and never count as the first fail, so they can sit inside the bracket.
    """

    last_pass: float | torch.Tensor
    first_fail: float | torch.Tensor
    ambiguous: torch.Tensor | None = None

    @property
    def estimate(self):
        """Geometric mean of the bracket; NaN unless both ends are finite."""
        if isinstance(self.last_pass, float):
            return math.sqrt(self.last_pass * self.first_fail)  # NaN propagates
        return (self.last_pass * self.first_fail).sqrt()

    @property
    def censored(self):
        """True where no step failed (the threshold is above the grid)."""
        if isinstance(self.first_fail, float):
            return math.isnan(self.first_fail) and not math.isnan(self.last_pass)
        return self.first_fail.isnan() & ~self.last_pass.isnan()

    def as_tuple(self) -> tuple:
        """(estimate, last_pass, first_fail), the order of the LLM sweep tables."""
        return self.estimate, self.last_pass, self.first_fail

    def __iter__(self):
        # unpacks as ``lo, hi = bracket``
        return iter((self.last_pass, self.first_fail))


def _grid(grid, name: str = "grid") -> torch.Tensor:
    values = torch.as_tensor(grid, dtype=DTYPE)
    if values.ndim != 1:
        raise ValueError(f"{name} has shape {tuple(values.shape)}: expected a 1-D grid of steps")
    return torch.tensor(check_grid(name, values.tolist(), increasing=True), dtype=DTYPE)


def leading_passes(passed) -> torch.Tensor:
    """How many grid steps pass before the first failure, along the last axis."""
    passed = torch.as_tensor(passed, dtype=torch.bool)
    return passed.to(torch.int64).cumprod(-1).sum(-1)


def _bracket(passed, failed, grid, ambiguous=None) -> Bracket:
    n = leading_passes(passed)
    nan = torch.full(n.shape, math.nan, dtype=DTYPE)
    last = torch.where(n > 0, grid[(n - 1).clamp_min(0)], nan)
    # first clear failure at or after the end of the passing block
    after = failed & (torch.arange(len(grid)) >= n.unsqueeze(-1))
    first = torch.where(after.any(-1), grid[after.to(torch.int64).argmax(-1)], nan)
    if n.ndim == 0:
        return Bracket(float(last), float(first), ambiguous)
    return Bracket(last, first, ambiguous)


def first_failure(passed, grid, *, name: str = "grid") -> Bracket:
    """The bracket of a pass/fail array ``[..., E]`` on the increasing grid ``[E]``."""
    grid = _grid(grid, name)
    passed = torch.as_tensor(passed, dtype=torch.bool)
    if passed.ndim < 1 or passed.shape[-1] != len(grid):
        raise ValueError(f"passed has shape {tuple(passed.shape)}: expected [..., {len(grid)}]")
    return _bracket(passed, ~passed, grid)


def bracket_from_seeds(outcomes, grid, band: tuple[float, float] = (0.5, 0.5), *,
                       name: str = "grid") -> Bracket:
    """The bracket from per-seed outcomes ``[..., E, S]`` (True = the seed passed).

    A grid point passes when its pass fraction is >= ``band[1]`` and fails when it is
    <= ``band[0]``; strictly in between it is ambiguous (reported in ``Bracket.ambiguous``).
    The default band (0.5, 0.5) is a majority vote with no ambiguous points; (0, 1) asks every
    seed to agree (the transition band of ``sim.transition``)."""
    grid = _grid(grid, name)
    lo, hi = (check_probability("band", b, open_interval=False) for b in band)
    if lo > hi:
        raise ValueError(f"band={band!r} is invalid: expected (low, high) with low <= high")
    outcomes = torch.as_tensor(outcomes)
    if outcomes.ndim < 2 or outcomes.shape[-2] != len(grid) or outcomes.shape[-1] == 0:
        raise ValueError(f"outcomes has shape {tuple(outcomes.shape)}: expected [..., "
                         f"{len(grid)}, S] with S >= 1")
    frac = outcomes.to(DTYPE).mean(-1)
    passed = frac >= hi
    failed = (frac <= lo) & ~passed
    return _bracket(passed, failed, grid, ~passed & ~failed)


def bootstrap_bracket(outcomes_per_seed, grid, *, band: tuple[float, float] = (0.5, 0.5),
                      n_boot: int = 1000, seed: int = 0, level: float = 0.9) -> torch.Tensor:
    """Percentile bootstrap CI of ``Bracket.estimate`` over seeds: resample the seeds (last axis
    of ``[..., E, S]``) with replacement ``n_boot`` times and recompute the estimate.
    Returns ``[..., 2]`` (low, high); NaN where fewer than half the resamples give a finite
    estimate (censored or no pass)."""
    n_boot = check_int("n_boot", n_boot, minimum=1)
    check_probability("level", level)
    outcomes = torch.as_tensor(outcomes_per_seed)
    S = outcomes.shape[-1]
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = torch.randint(S, (n_boot, S), generator=gen)
    resampled = outcomes[..., idx]  # [..., E, B, S]
    est = torch.as_tensor(bracket_from_seeds(resampled.movedim(-2, 0), grid, band).estimate,
                          dtype=DTYPE)  # [B, ...]
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=DTYPE)
    ci = torch.nanquantile(est, q, dim=0).movedim(0, -1)
    enough = (est.isfinite().to(DTYPE).mean(0) >= 0.5).unsqueeze(-1)
    return torch.where(enough, ci, torch.full_like(ci, math.nan))


def bootstrap_loglog_slope(outcomes, grid, x, *, band=(0.5, 0.5), n_boot: int = 1000,
                           seed: int = 0, level: float = 0.9) -> dict:
    """Slope of log eta*(x) on log x for per-seed outcomes ``[X, E, S]`` (True = the seed passed
    at that grid step), with a percentile bootstrap CI over seeds (resampled independently for
    every x): the seeds are resampled, every bracket is recomputed with
    :func:`bracket_from_seeds` and the line is refitted. Returns ``slope`` (point estimate),
    ``ci`` (low, high), ``estimate`` ``[X]`` (bracket estimates), ``finite_frac`` (fraction of
    resamples whose every estimate is finite; the CI is taken over those) and ``boot`` ``[B]``
    (the resampled slopes, NaN where not finite: a censored bracket leaves its resample
    unfitted, ``loglog_slope(..., invalid="nan")``)."""
    n_boot = check_int("n_boot", n_boot, minimum=1)
    check_probability("level", level)
    outcomes = torch.as_tensor(outcomes)
    if outcomes.ndim != 3:
        raise ValueError(f"outcomes has shape {tuple(outcomes.shape)}: expected [X, E, S]")
    X, _, S = outcomes.shape
    x = torch.as_tensor(x, dtype=DTYPE)
    if x.shape != (X,):
        raise ValueError(f"x has shape {tuple(x.shape)}: expected [{X}]")
    est = torch.as_tensor(bracket_from_seeds(outcomes, grid, band).estimate, dtype=DTYPE)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    idx = torch.randint(S, (n_boot, X, S), generator=gen)  # [B, X, S]
    res = torch.gather(outcomes.unsqueeze(0).expand(n_boot, -1, -1, -1), 3,
                       idx.unsqueeze(2).expand(-1, -1, outcomes.shape[1], -1))
    boot_est = torch.as_tensor(bracket_from_seeds(res, grid, band).estimate, dtype=DTYPE)
    boot = torch.from_numpy(loglog_slope(x, boot_est, invalid="nan"))
    fin = boot[torch.isfinite(boot)]
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=DTYPE)
    ci = torch.quantile(fin, q) if len(fin) else torch.full((2,), float("nan"), dtype=DTYPE)
    return {"slope": loglog_slope(x, est, invalid="nan"), "ci": ci.numpy(), "estimate": est.numpy(),
            "finite_frac": float(len(fin)) / n_boot, "boot": boot.numpy()}


# ---------------------------------------------------------------- the companion's line reads
def threshold_from_final(final_J, etas, level: float = 0.8) -> Bracket:
    """Runs ``[..., E, S]`` (final success per step size and seed) pass at a step when their
    mean over seeds ends at J >= ``level``; the first-failure bracket of that."""
    check_probability("level", level)
    final_J = torch.as_tensor(final_J, dtype=DTYPE)
    E = len(etas)
    if final_J.ndim < 2 or final_J.shape[-2] != E:
        raise ValueError(f"final_J has shape {tuple(final_J.shape)}: expected [..., {E}, S]")
    return first_failure(final_J.mean(-1) >= level, etas, name="etas")


def one_step_safe_eta(success_fn: Callable, theta, w, etas) -> Bracket:
    """One-step line search: eta passes when J(theta + eta w) >= J(theta) (up to rounding).
    ``success_fn(theta [..., d]) -> [...]``; vectorised over the leading dims of theta / w."""
    grid = _grid(etas, "etas")
    theta = torch.as_tensor(theta, dtype=DTYPE)
    w = torch.as_tensor(w, dtype=DTYPE)
    J0 = success_fn(theta)
    moved = theta.unsqueeze(-2) + grid.unsqueeze(-1) * w.unsqueeze(-2)  # [..., E, d]
    return first_failure(success_fn(moved) >= J0.unsqueeze(-1) * (1 - 1e-12), grid)
