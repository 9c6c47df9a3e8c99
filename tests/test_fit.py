"""rlvr_core.stats.fit: the one log-log slope fitter (both rules for unusable points), the slope
of a mean curve's tail, against np.polyfit and hand-made curves; llm.sweeps' per-run tail slopes
against the mean-curve slope they must average to."""
import math

import numpy as np
import pytest
import torch

from rlvr_core.llm.sweeps import per_run_tail_slopes
from rlvr_core.stats.fit import loglog_slope, mean_tail_slope_ci

X = np.array([1.0, 2.0, 4.0, 8.0, 16.0])


def test_loglog_slope_recovers_power_laws_in_one_and_many_rows():
    assert isinstance(loglog_slope(X, 3 * X ** -1.5), float)
    assert math.isclose(loglog_slope(X, 3 * X ** -1.5), -1.5, abs_tol=1e-12)
    rows = np.stack([X ** p for p in (-1.0, 0.0, 0.5)])            # [3, 5], one shared x axis
    out = loglog_slope(X, rows)
    assert out.shape == (3,) and np.allclose(out, [-1.0, 0.0, 0.5], atol=1e-12)
    cube = np.stack([rows, 2 * rows])                               # [2, 3, 5]
    assert loglog_slope(X, cube).shape == (2, 3)
    per_row_x = np.stack([X, X ** 2])                               # one x axis per row
    assert np.allclose(loglog_slope(per_row_x, np.stack([X, X])), [1.0, 0.5], atol=1e-12)
    # torch and list inputs give the same number as numpy
    assert loglog_slope(torch.tensor(X), torch.tensor(X ** 2)) == loglog_slope(list(X), list(X ** 2))


def test_loglog_slope_matches_polyfit_on_noisy_points():
    gen = np.random.default_rng(0)
    x = np.geomspace(0.01, 100, 9)
    y = np.exp(gen.normal(size=(4, 9))) * x ** -0.7
    ref = [np.polyfit(np.log(x), np.log(r), 1)[0] for r in y]
    np.testing.assert_allclose(loglog_slope(x, y), ref, rtol=1e-10)
    # negative control: the noise moves the fit away from the true exponent
    assert np.abs(loglog_slope(x, y) + 0.7).max() > 0.01


def test_drop_leaves_out_unusable_points_and_nan_voids_their_row():
    y = 3 * X ** -1.5
    bad = y.copy()
    bad[1], bad[3] = np.nan, 0.0
    keep = [0, 2, 4]
    ref = np.polyfit(np.log(X[keep]), np.log(y[keep]), 1)[0]
    assert loglog_slope(X, bad) == pytest.approx(ref, abs=1e-12)    # drop (the default)
    assert math.isnan(loglog_slope(X, bad, invalid="nan"))
    x_bad = X.copy()
    x_bad[0] = -1.0                                                 # an x without a logarithm
    assert loglog_slope(x_bad, y) == pytest.approx(-1.5, abs=1e-12)
    both = np.stack([y, bad])
    out = loglog_slope(X, both, invalid="nan")
    assert out[0] == pytest.approx(-1.5, abs=1e-12) and math.isnan(out[1])
    np.testing.assert_allclose(loglog_slope(X, both), [-1.5, ref], atol=1e-12)


def test_loglog_slope_rejects_rows_it_cannot_fit():
    with pytest.raises(ValueError, match="at least two"):
        loglog_slope([1.0], [1.0])
    with pytest.raises(ValueError, match="at least two"):
        loglog_slope(X, np.stack([X, np.full(5, np.nan)]))          # one row of two is empty
    assert math.isnan(loglog_slope([1.0, 2.0], [np.nan, 1.0], invalid="nan"))
    with pytest.raises(ValueError, match="invalid"):
        loglog_slope(X, X, invalid="skip")
    with pytest.raises(ValueError, match="x has shape"):
        loglog_slope(X[:3], X)


def test_mean_tail_slope_ci_flat_and_rising():
    gen = torch.Generator().manual_seed(1)
    flat = 0.5 + 0.01 * torch.randn(40, 100, generator=gen, dtype=torch.float64)
    res = mean_tail_slope_ci(flat, n_boot=200)
    assert res["ci"][0] <= 0 <= res["ci"][1] and res["window"] == (75, 100)
    rising = flat + 0.01 * torch.arange(100, dtype=torch.float64)
    assert mean_tail_slope_ci(rising, n_boot=200)["ci"][0] > 0.005


def test_per_run_tail_slopes_average_to_the_mean_curve_slope():
    gen = np.random.default_rng(2)
    curves = 0.3 + 0.002 * np.arange(100) * gen.uniform(0, 1, size=(6, 1)) + 0.01 * gen.normal(size=(6, 100))
    runs = [{"metrics": [{"reward": float(v)} for v in c]} for c in curves]
    per_run = per_run_tail_slopes(runs, frac=0.25)
    assert per_run.shape == (6,)
    # a slope is linear in the curve: the mean of the per-run slopes is the mean curve's slope
    assert per_run.mean() == pytest.approx(mean_tail_slope_ci(curves, n_boot=10)["slope"], rel=1e-10)
    assert np.ptp(per_run) > 1e-3                                   # the runs do differ
    # a run whose window logs fewer than two values has no slope
    sparse = {"metrics": [{"reward": 0.5}] * 75 + [{"reward": None}] * 24 + [{"reward": 0.6}]}
    assert math.isnan(per_run_tail_slopes([sparse], frac=0.25)[0])


def test_wilson_interval_matches_scipy_and_covers():
    """Against scipy's binomtest Wilson interval for every k of n <= 6, and its coverage at 90%
    near nominal by simulation; a shifted interval (negative control) undercovers."""
    from scipy.stats import binomtest

    from rlvr_core.stats.fit import wilson_interval

    for n in range(1, 7):
        for k in range(n + 1):
            ref = binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
            lo, hi = wilson_interval(k, n)
            assert math.isclose(lo, ref.low, abs_tol=1e-12) and math.isclose(hi, ref.high, abs_tol=1e-12)
    rng = np.random.default_rng(0)
    k = rng.binomial(40, 0.3, size=20000)
    lo, hi = wilson_interval(k, 40)
    cover = np.mean((lo <= 0.3) & (0.3 <= hi))
    assert 0.86 < cover < 0.95
    assert np.mean((lo + 0.1 <= 0.3) & (0.3 <= hi + 0.1)) < 0.8
    with pytest.raises(ValueError):
        wilson_interval(4, 3)
    assert np.isnan(wilson_interval(0, 0)[0])
