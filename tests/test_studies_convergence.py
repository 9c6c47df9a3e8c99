"""Notebook 02's study module: its sizes, its knob checks and the sentences it prints, each with a
control in which the result flips and the wording must flip with it."""
import math
from types import SimpleNamespace

import pytest
import torch

from rlvr_core.studies import convergence as study


def test_sizes_are_the_notebooks_sizes():
    d, f = study.sizes("default"), study.sizes("full")
    assert (d.num_instances, d.num_steps, d.num_prompts_contextual) == (64, 300, 3)
    assert (f.num_instances, f.num_steps, f.num_prompts_contextual) == (256, 1000, 3)
    assert d.neg_multipliers == f.neg_multipliers == [2 ** (j / 2) for j in range(21)]


@pytest.mark.parametrize("eta, decay, name", [(1.5, 1.0, "ETA_MULTIPLIER"), (1.0, 0.5, "ALIGNMENT_DECAY")])
def test_knob_checks_name_the_parameter(eta, decay, name):
    with pytest.raises(ValueError, match=name):
        study.check_knobs(eta, decay)
    study.check_knobs(1.0, 0.51)


def _const(ratio=11.0, over=1.0):
    return SimpleNamespace(ratio=torch.full((4, 1), ratio, dtype=torch.float64),
                           G_over=torch.tensor([0.5, over]), L_over=torch.tensor([0.68]))


def test_constants_verdict_quotes_the_ratio_and_flips_when_a_bound_is_exceeded():
    ok = study.constants_verdict(_const())
    assert "stay below" in ok and "11 times ours for every log-linear instance" in ok
    bad = study.constants_verdict(_const(over=1.2))
    assert "ABOVE" in bad and "wrong" in bad
    mixed = _const()
    mixed.ratio[0] = 10.0
    assert "between 10 and 11 times ours" in study.constants_verdict(mixed)


def test_bound_verdict_on_small_real_runs_and_flips_on_a_negative_margin():
    cfg = study.config(SimpleNamespace(num_instances=4, num_steps=30, num_prompts_contextual=2,
                                       neg_multipliers=[1.0, 4.0]),
                       seed=0, responses=5, dim=3, max_correct=2, group_size=4, eta=1.0, decay=1.0)
    bound = study.bound_runs(study.instances(cfg), cfg)
    m = study.margins(bound)
    ok = study.bound_verdict(m)
    assert m.worst >= -study.MARGIN_TOL and "In all 8 settings" in ok and "at or above M(k)/2" in ok
    assert f"{m.worst_moved:.3g}" in ok
    assert len(study.margin_table(bound, m).splitlines()) == 1 + 8 + 3
    bad = study.bound_verdict(SimpleNamespace(rows=m.rows, worst=-0.02, worst_moved=-0.02))
    assert "FAILS" in bad and "-0.02" in bad and "at or above" not in bad


def _control(first_fail, last_pass):
    return SimpleNamespace(bracket=SimpleNamespace(first_fail=first_fail, last_pass=last_pass))


def test_control_verdict_quotes_the_brackets_and_flips_when_nothing_fails():
    controls = {"theorem1": _control(181.0, 128.0), "companion": _control(22.6, 16.0),
                "sharp": _control(2.0, 1.41)}
    ok = study.control_verdict(controls)
    assert "can fail" in ok and "c = 2 (last passing c = 1.41)" in ok and "c = 181" in ok and "22.6" in ok
    controls["sharp"] = _control(math.inf, 1024.0)
    assert "never failed" in study.control_verdict(controls)


def test_control_label_is_the_checked_claims_name():
    assert study.control_label("sharp") == "negative control, sharp const: fraction of runs violating at c <= 1"


def _stall(gain_last, aligned_last):
    J = torch.tensor([[0.2, 0.19], [0.21, 0.2]], dtype=torch.float64).unsqueeze(-1)
    stall = SimpleNamespace(J=J, logit_gain=torch.tensor([[0.0, 0.0], gain_last]),
                            log_odds=torch.zeros(2, 2, 1, dtype=torch.float64))
    aligned = SimpleNamespace(J=J + 0.4, log_odds=torch.tensor([[0.0, 0.0], aligned_last]).unsqueeze(-1))
    return SimpleNamespace(stall=stall, aligned=aligned, gain_cap=0.1, M_cap=0.1)


def test_stall_verdict_quotes_the_medians_and_flips_for_each_failure():
    """torch.median of an even count is the lower middle value: 0.19 of (0.19, 0.2)."""
    ok = study.stall_verdict(_stall([0.05, 0.06], [1.0, 2.0]))
    assert "median start of 0.190" in ok and "median J of 0.200" in ok and "stays under its derived ceiling" in ok
    assert "crosses the derived ceiling" in study.stall_verdict(_stall([0.05, 0.3], [1.0, 2.0]))
    assert "does not end above" in study.stall_verdict(_stall([0.05, 0.06], [1.0, -1.0]))


def test_control_caption_reads_the_first_failures():
    """The negative-control caption quotes each constant's first failing multiplier (not a
    hand-written 'two orders of magnitude'); another first failure gives another caption."""
    from types import SimpleNamespace as NS
    ctl = {r: NS(bracket=NS(first_fail=c)) for r, c in (("sharp", 2.0), ("theorem1", 181.0))}
    text = study.control_caption(ctl)
    assert "c = 2 for the sharp" in text and "c = 181 for the paper" in text
    ctl["theorem1"] = NS(bracket=NS(first_fail=11.3))
    assert "c = 11.3 for the paper" in study.control_caption(ctl)
