"""Checked claims that print the same line on every machine.

A notebook's checked cells (``# NBVAL_CHECK_OUTPUT``) are compared as text by nbval against the
committed outputs. Sampled or chaotic numbers (a threshold read off a grid, a fitted slope, a ratio
at three digits) change in their last bits with the CPU's vector path (``ATEN_CPU_CAPABILITY``)
and with the seed, so they must not be printed there. ``expect`` asserts a claim with a tolerance
fixed *before* looking at the result and prints only the claim and the reason for its tolerance:
the printed line changes only when the claim does. The measured value itself belongs in an
unchecked cell (a table the reader sees), and in the error message when the claim fails.

Every call states where its tolerance comes from (``why``): the theory (an identity holds to
rounding, a bound is a theorem), a criterion of the prediction being tested (a slope at most -0.5),
or the spread over seeds measured beforehand. A tolerance is never widened to make a failure pass.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ClaimFailed", "expect"]


class ClaimFailed(AssertionError):
    """A checked claim did not hold; the message carries the measured value."""


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, (int, float, np.floating, np.integer)) else str(x)


def _as_array(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _condition(reference, tol, at_least, at_most) -> str:
    if reference is not None:
        return f"within {_fmt(tol)} of {_fmt(reference)}"
    if at_least is not None and at_most is not None:
        return f"in [{_fmt(at_least)}, {_fmt(at_most)}]"
    if at_least is not None:
        return f">= {_fmt(at_least)}"
    if at_most is not None:
        return f"<= {_fmt(at_most)}"
    return "holds"


def _holds(x: np.ndarray, reference, tol, at_least, at_most) -> np.ndarray:
    ok = ~np.isnan(x)
    if reference is not None:
        ok &= np.abs(x - reference) <= tol
    if at_least is not None:
        ok &= x >= at_least
    if at_most is not None:
        ok &= x <= at_most
    return ok


def expect(name: str, value, *, why: str, reference=None, tol=None, at_least=None,
           at_most=None, quiet: bool = False) -> bool:
    """Assert a claim about ``value`` and print one line that does not depend on the machine.

    ``value`` is a number, an array of numbers (every entry must satisfy the condition) or a bool
    (a claim already evaluated, e.g. "the ranking agrees"). The condition is one of:
    ``reference`` with ``tol`` (``|value - reference| <= tol``), ``at_least`` and/or ``at_most``,
    or none for a bool. NaN never satisfies a condition. ``why`` names where the tolerance comes
    from. Raises :class:`ClaimFailed` with the measured value when the claim does not hold;
    returns True otherwise.
    """
    if not name or not why:
        raise ValueError("expect needs a claim name and the reason for its tolerance (why=...)")
    if (reference is None) != (tol is None):
        raise ValueError(f"{name}: give reference and tol together (got reference={reference!r}, "
                         f"tol={tol!r})")
    if tol is not None and not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"{name}: tol={tol!r} is invalid: expected a finite number >= 0")
    numeric = any(v is not None for v in (reference, at_least, at_most))
    if isinstance(value, (bool, np.bool_)):
        if numeric:
            raise ValueError(f"{name}: a bool value takes no reference or bounds")
        ok, shown, count = bool(value), str(bool(value)), 1
    else:
        if not numeric:
            raise ValueError(f"{name}: a numeric value needs reference+tol, at_least or at_most")
        x = _as_array(value)
        if x.size == 0:
            raise ValueError(f"{name}: value is empty")
        passed = _holds(x, reference, tol, at_least, at_most)
        ok, count = bool(passed.all()), x.size
        shown = (np.array2string(x, precision=4) if x.size > 1 else f"{float(x.reshape(-1)[0]):.6g}")
    condition = _condition(reference, tol, at_least, at_most)
    scope = f"all {count} values " if count > 1 else ""
    if not ok:
        raise ClaimFailed(f"{name}: expected {scope}{condition}, measured {shown}  [{why}]")
    if not quiet:
        print(f"✓ {name}: {scope}{condition}  [{why}]")
    return True
