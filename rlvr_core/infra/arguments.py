"""Argument checks shared by the library and the notebooks' parameter cells.

Every check raises ``ValueError`` whose message names the parameter and the allowed
range, so a bad ``papermill -p`` value fails in the first cell with a plain message.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Iterable

PROFILES = ("default", "full")


def _fail(name: str, value, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: expected {allowed}")


def check_positive(name: str, value, *, allow_zero: bool = False) -> float:
    """A finite real number > 0 (or >= 0 with ``allow_zero``)."""
    allowed = "a finite number >= 0" if allow_zero else "a finite number > 0"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        _fail(name, value, allowed)
    if value < 0 or (value == 0 and not allow_zero):
        _fail(name, value, allowed)
    return float(value)


def check_int(name: str, value, *, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer in ``[minimum, maximum]``."""
    hi = "inf" if maximum is None else str(maximum)
    allowed = f"an integer in [{minimum}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, Integral):
        _fail(name, value, allowed)
    if value < minimum or (maximum is not None and value > maximum):
        _fail(name, value, allowed)
    return int(value)


def check_probability(name: str, value, *, open_interval: bool = True) -> float:
    """A probability in (0, 1) (or [0, 1] with ``open_interval=False``)."""
    allowed = "a probability in (0, 1)" if open_interval else "a probability in [0, 1]"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        _fail(name, value, allowed)
    if open_interval and not 0 < value < 1:
        _fail(name, value, allowed)
    if not open_interval and not 0 <= value <= 1:
        _fail(name, value, allowed)
    return float(value)


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """One of a fixed set of names."""
    choices = tuple(choices)
    if value not in choices:
        _fail(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_profile(value) -> str:
    return check_choice("PROFILE", value, PROFILES)


def check_seed(name: str, value) -> int:
    return check_int(name, value, minimum=0, maximum=2**32 - 1)


def check_grid(name: str, values, *, positive: bool = True, increasing: bool = False) -> list[float]:
    """A non-empty sequence of finite numbers (all > 0 when ``positive``; strictly increasing
    when ``increasing``, as a line search over the grid needs)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        _fail(name, values, "a non-empty sequence of numbers")
    values = list(values)
    if not values:
        _fail(name, values, "a non-empty sequence of numbers")
    for i, v in enumerate(values):
        if positive:
            check_positive(f"{name}[{i}]", v)
        elif isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            _fail(f"{name}[{i}]", v, "a finite number")
    values = [float(v) for v in values]
    if increasing and any(b <= a for a, b in zip(values, values[1:])):
        _fail(name, values, "a strictly increasing sequence of numbers")
    return values
