"""rlvr_core.studies.saturation: the saturated bound against exact enumeration on a short path,
and the exponent reader on steps with known exponents (a (1-J) step must not read as flat)."""
import numpy as np
import pandas as pd
import pytest
from unittest import mock

from rlvr_core.studies import saturation as sa


def test_saturated_bounds_hold_and_are_tighter_than_the_old_ones_on_a_short_path():
    with mock.patch.object(sa, "LENGTHS", (1, 3)), mock.patch.object(sa, "SCALES", np.array([0.0, 4.0, 8.0])):
        sat = sa._sweep()
    assert (sat.var_minus <= sat.bound_sat + 1e-12).all()
    assert (sat.curv >= sat.minus_C_sat - 1e-9).all()
    assert (sat.bound_sat <= sat.bound_old + 1e-12).all() and (sat.eta_sat >= sat.eta_old - 1e-15).all()
    deep = sat[sat.fail < 1 / (4 * sat["T"])]
    assert np.allclose(deep.bound_sat, deep["T"] * deep.bound_old * deep.fail * deep["T"] / deep["T"])


def _frame(step):
    fail = np.geomspace(1e-2, 1e-5, 8)
    return pd.DataFrame({"T": 2, "fail": fail, "a": 1.5, "eta_old": fail, "eta_sat": step(fail),
                         "curv": -np.ones(8), "var_minus": np.zeros(8), "bound_sat": np.ones(8),
                         "minus_C_sat": -np.ones(8) * 2})


def test_exponents_and_verdict_flip_when_the_step_shrinks():
    ex = sa.saturation_exponents(_frame(lambda f: np.full_like(f, 0.3)))
    assert ex["saturated sufficient step"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert ex["old sufficient step"].iloc[0] == pytest.approx(1.0)
    assert "flat, as derived" in sa.saturation_verdict(_frame(lambda f: np.full_like(f, 0.3)), ex)
    bad = _frame(lambda f: f)   # negative control: a step that does shrink like 1 - J
    assert "NOT flat" in sa.saturation_verdict(bad, sa.saturation_exponents(bad))


def test_quadratic_logit_safe_step_is_the_closed_form_at_every_j_and_a_wrong_x_fails():
    q = sa.quadratic_logit_safe_steps(a=2.0, x=0.3, ys=(0.0, 3.0, 6.0))
    ratio = q["safe"] / q["closed_form"]
    assert (ratio >= 1 / q["grid_ratio"]).all() and (ratio <= 1).all()
    assert q["fail"][-1] < 1e-2 < q["fail"][0]
    wrong = 1 / 2.0 + 1 / (4 * 2.0 ** 3 * 0.6 ** 2)   # negative control: the closed form at another x
    assert not ((q["safe"] / wrong >= 1 / q["grid_ratio"]) & (q["safe"] / wrong <= 1)).all()
