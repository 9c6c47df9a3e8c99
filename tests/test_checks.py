"""expect(): a checked claim prints a machine-independent line and fails loudly when it breaks."""
import math

import numpy as np
import pytest
import torch

from rlvr_core.notebook.expect import ClaimFailed, expect


def test_the_printed_line_states_the_claim_not_the_value(capsys):
    expect("slope", -0.4731846, reference=-0.5, tol=0.1, why="CLT")
    line = capsys.readouterr().out
    assert line == "✓ slope: within 0.1 of -0.5  [CLT]\n"
    assert "0.47" not in line  # the sampled value itself never reaches a checked output


def test_two_values_that_differ_in_their_last_bits_print_the_same_line(capsys):
    expect("x", 1.0000000001, at_most=2.0, why="bound")
    first = capsys.readouterr().out
    expect("x", 0.9999999999, at_most=2.0, why="bound")
    assert capsys.readouterr().out == first


@pytest.mark.parametrize("kwargs,value", [
    (dict(reference=0.0, tol=0.1), 0.2),
    (dict(at_least=1.0), 0.5),
    (dict(at_most=1.0), 1.5),
    (dict(at_least=0.0, at_most=1.0), -0.1),
    ({}, False),
])
def test_a_broken_claim_raises_with_the_measured_value(kwargs, value):
    with pytest.raises(ClaimFailed) as err:
        expect("claim", value, why="theory", **kwargs)
    assert "measured" in str(err.value) and "theory" in str(err.value)


def test_nan_never_satisfies_a_claim():
    with pytest.raises(ClaimFailed):
        expect("nan", math.nan, at_least=-math.inf, why="x")
    with pytest.raises(ClaimFailed):
        expect("nan in array", [0.0, np.nan], at_most=1.0, why="x")


def test_every_entry_of_an_array_or_tensor_must_hold(capsys):
    expect("all", torch.tensor([0.1, 0.2, 0.3]), at_most=0.5, why="x")
    assert "all 3 values <= 0.5" in capsys.readouterr().out
    with pytest.raises(ClaimFailed, match="0.6"):
        expect("one breaks", np.array([0.1, 0.6]), at_most=0.5, why="x")


def test_expect_returns_true_so_notebooks_can_assert_it():
    assert expect("ok", True, why="x", quiet=True) is True


@pytest.mark.parametrize("kwargs", [
    dict(value=1.0, why=""),                                # no reason for the tolerance
    dict(value=1.0, why="x", reference=1.0),                # reference without tol
    dict(value=1.0, why="x", reference=1.0, tol=-1.0),      # negative tolerance
    dict(value=1.0, why="x"),                               # a number needs a condition
    dict(value=True, why="x", at_least=0.0),                # a bool takes no bounds
    dict(value=[], why="x", at_most=1.0),                   # nothing to check
])
def test_misuse_is_refused_with_a_clear_error(kwargs):
    with pytest.raises(ValueError):
        expect("claim", **kwargs)
