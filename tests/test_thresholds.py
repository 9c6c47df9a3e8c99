"""The first-failure threshold rule on hand-made pass patterns."""
import math

import numpy as np
import pytest
import torch

from rlvr_core.stats.thresholds import (Bracket, bootstrap_bracket, bootstrap_loglog_slope,
                                        bracket_from_seeds, first_failure, leading_passes)

GRID = [0.1, 0.2, 0.4, 0.8]


def test_a_pass_after_a_failure_does_not_count():
    b = first_failure([True, True, False, True], GRID)
    assert (b.last_pass, b.first_fail) == (0.2, 0.4)
    assert b.estimate == pytest.approx(math.sqrt(0.2 * 0.4))
    assert not b.censored and b.ambiguous is None
    assert tuple(b) == (0.2, 0.4) and b.as_tuple()[1:] == (0.2, 0.4)


def test_all_fail_and_all_pass():
    none = first_failure([False] * 4, GRID)
    assert math.isnan(none.last_pass) and none.first_fail == 0.1 and math.isnan(none.estimate)
    assert not none.censored
    every = first_failure([True] * 4, GRID)
    assert every.last_pass == 0.8 and math.isnan(every.first_fail) and every.censored
    assert math.isnan(every.estimate)


def test_vectorised_over_leading_axes_and_numpy_input():
    ok = np.array([[[True, True, False, True], [False, True, True, True]],
                   [[True, True, True, True], [True, False, False, False]]])
    b = first_failure(ok, np.array(GRID))
    assert isinstance(b, Bracket) and b.last_pass.shape == (2, 2)
    torch.testing.assert_close(b.last_pass, torch.tensor([[0.2, math.nan], [0.8, 0.1]],
                                                         dtype=torch.float64), equal_nan=True)
    torch.testing.assert_close(b.first_fail, torch.tensor([[0.4, 0.1], [math.nan, 0.2]],
                                                          dtype=torch.float64), equal_nan=True)
    assert b.censored.tolist() == [[False, False], [True, False]]
    assert leading_passes(ok).tolist() == [[2, 0], [4, 1]]


def test_ambiguous_band():
    # pass fractions 1, 1, 0.5, 0 over four seeds
    seeds = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    b = bracket_from_seeds(seeds, GRID, band=(0.2, 0.8))
    assert (b.last_pass, b.first_fail) == (0.2, 0.8)  # the ambiguous 0.4 lies inside
    assert b.ambiguous.tolist() == [False, False, True, False]
    majority = bracket_from_seeds(seeds, GRID)  # default (0.5, 0.5): a tie passes
    assert (majority.last_pass, majority.first_fail) == (0.4, 0.8)
    assert not majority.ambiguous.any()
    # every seed must agree: a mixed step is neither pass nor fail
    strict = bracket_from_seeds(seeds, GRID, band=(0.0, 1.0))
    assert (strict.last_pass, strict.first_fail) == (0.2, 0.8)
    with pytest.raises(ValueError, match="band"):
        bracket_from_seeds(seeds, GRID, band=(0.8, 0.2))


def test_bad_inputs():
    with pytest.raises(ValueError, match="grid"):
        first_failure([True, False], [0.2, 0.1])
    with pytest.raises(ValueError, match="passed"):
        first_failure([True, False, True], [0.1, 0.2])
    with pytest.raises(ValueError, match="outcomes"):
        bracket_from_seeds(torch.ones(3, 2), [0.1, 0.2])


def _seed_outcomes(num_seeds, seed=0):
    """Each seed passes below its own threshold index (around 20 on a 40-point grid)."""
    gen = torch.Generator().manual_seed(seed)
    cut = 20 + torch.randint(-6, 7, (num_seeds,), generator=gen)
    return torch.arange(40)[:, None] < cut[None, :]  # [E, S]


def test_bootstrap_ci_contains_the_estimate_and_narrows_with_more_seeds():
    grid = np.geomspace(0.01, 10, 40)
    widths = []
    for num_seeds in (6, 200):
        outcomes = _seed_outcomes(num_seeds)
        est = bracket_from_seeds(outcomes, grid).estimate
        lo, hi = bootstrap_bracket(outcomes, grid, n_boot=400, seed=1).tolist()
        assert lo <= est <= hi
        widths.append(hi / lo)
    assert widths[1] < widths[0]


def test_bootstrap_is_vectorised_and_reproducible():
    grid = np.geomspace(0.01, 10, 40)
    both = torch.stack([_seed_outcomes(30, 0), _seed_outcomes(30, 1)])  # [2, E, S]
    ci = bootstrap_bracket(both, grid, n_boot=200, seed=3)
    assert ci.shape == (2, 2)
    torch.testing.assert_close(ci[1], bootstrap_bracket(both[1], grid, n_boot=200, seed=3))
    # censored everywhere: no finite estimate, no interval
    assert bootstrap_bracket(torch.ones(40, 5, dtype=torch.bool), grid, n_boot=50).isnan().all()


def test_bootstrap_loglog_slope_of_an_exact_power_law_threshold():
    grid = [2.0 ** k for k in range(10)]
    x = [1.0, 2.0, 4.0, 8.0]
    # threshold halves as x doubles: step k passes iff k < 8 - i
    out = torch.zeros(4, 10, 5, dtype=torch.bool)
    for i in range(4):
        out[i, : 8 - i] = True
    res = bootstrap_loglog_slope(out, grid, x, n_boot=50)
    assert math.isclose(res["slope"], -1.0, abs_tol=1e-12)
    assert np.allclose(res["ci"], -1.0) and res["finite_frac"] == 1.0
    # negative control: a censored threshold (every step passes at the largest x) leaves every
    # resample, and the point estimate, without a slope instead of fitting the other three points
    out[3] = True
    res = bootstrap_loglog_slope(out, grid, x, n_boot=50)
    assert math.isnan(res["slope"]) and res["finite_frac"] == 0.0 and np.isnan(res["ci"]).all()
