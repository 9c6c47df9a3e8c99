"""Notebook 01's study module: its sizes and the sentences it prints, each with a control in which
the result flips and the wording must flip with it."""
from types import SimpleNamespace

import numpy as np
import pandas as pd

from rlvr_core.studies import gradient_gap as study


def test_sizes_are_the_notebooks_sample_sizes():
    assert study.sizes("default").sample_sizes == [64, 256, 1024, 4096, 16384]
    assert study.sizes("full").sample_sizes == [64, 256, 1024, 4096, 16384, 65536, 262144]


def _errors(worst):
    return pd.DataFrame({"a": [1e-16, worst], "b": [2e-16, 3e-17]}, index=["p", "q"])


def test_identities_verdict_quotes_the_tolerance_and_flips_when_an_identity_fails():
    ok = study.identities_verdict(_errors(7e-16))
    assert "Every identity holds on all 2 policies" in ok and "below 1e-12" in ok and "1e-08" in ok
    loose = study.identities_verdict(_errors(3e-10))
    assert "holds" in loose and "at most 3e-10" in loose
    bad = study.identities_verdict(_errors(5e-6))
    assert "An identity fails" in bad and "5e-06" in bad and "holds" not in bad


def test_rate_verdict_quotes_the_slope_and_flips_outside_the_tolerance():
    ok = study.rate_verdict(-0.4549)
    assert "-0.45" in ok and "within 0.1" in ok
    bad = study.rate_verdict(-0.31)
    assert "-0.31" in bad and "more than 0.1 away" in bad and "within" not in bad


def test_sweep_verdict_quotes_the_range_and_flips_when_the_ratio_is_off():
    sweep = SimpleNamespace(J=np.array([0.0001, 0.5, 0.982]), ratio_err=1e-15)
    ok = study.sweep_verdict(sweep)
    assert "[0.000, 0.982]" in ok and "3 points" in ok and "holds at every point" in ok
    bad = study.sweep_verdict(SimpleNamespace(J=sweep.J, ratio_err=2e-3))
    assert "fails" in bad and "2e-03" in bad and "holds" not in bad


def test_curvature_verdict_flips_for_each_comparison():
    curv = pd.DataFrame({"identity vs autograd": [4e-16, 2e-16],
                         "finite diff error / its estimate": [1.0, 0.9]})
    ok = study.curvature_verdict(curv)
    assert ok.count("does not match") == 0 and "4e-16" in ok and "1.0 times" in ok
    curv.loc[0, "finite diff error / its estimate"] = 3.5
    fd_bad = study.curvature_verdict(curv)
    assert fd_bad.count("does not match") == 1 and "3.5 times" in fd_bad
    curv.loc[0, "identity vs autograd"] = 1e-3
    assert study.curvature_verdict(curv).count("does not match") == 2


def test_concavity_verdict_reads_the_sign():
    assert "negative at every point" in study.concavity_verdict(SimpleNamespace(curv=np.array([-0.5, -0.027])))
    assert "not negative everywhere" in study.concavity_verdict(SimpleNamespace(curv=np.array([-0.5, 0.1])))


def test_the_studys_identities_hold_and_its_curvature_path_is_concave():
    """The computation the verdicts read: exact identities on the four policies, and the
    one-correct-response line of the figure concave (the [derived] statement of section 5)."""
    ids = study.identities(0)
    assert float(ids.errors.to_numpy().max()) < study.EXACT_TOL
    assert float(study.curvature_path(ids).curv.max()) < 0
