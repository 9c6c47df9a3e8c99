"""The sentences and sizes of notebook 08's study module (rlvr_core.studies.step_size_checker):
each sentence quotes the number it is given and flips its wording when the result flips (the
negative controls), on small hand-made results so that no model is trained or loaded."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rlvr_core.studies import step_size_checker as study


def test_sizes_are_the_notebooks_sizes_for_both_profiles():
    d, f = study.sizes("default"), study.sizes("full")
    assert d.group_sizes == (64, 4096) and not d.long_settings and not d.refresh
    assert f.group_sizes == (64, 1024, 16384) and f.long_settings and f.refresh
    assert d.plan["lengths"] == (2, 16) and d.plan["steps"] == 30
    with pytest.raises(ValueError, match="PROFILE"):
        study.sizes("quick")


def test_check_parameters_names_the_bad_parameter():
    study.check_parameters(0, 48)
    with pytest.raises(ValueError, match="NUM_BANDITS"):
        study.check_parameters(0, 4)


def _bandits(stat):
    table = pd.DataFrame({"stat": stat, "exact": [1.0, 1.0, 1.0]})
    return {"table": table, "kappa_err": {64: 0.3, 4096: 0.04}, "group_sizes": (64, 4096)}


def test_bandit_verdict_flips_when_the_bound_fails():
    held = study.bandit_verdict(_bandits([0.01, 0.01, 0.02]))
    assert "held on all 3 bandits" in held and "about 100 times" in held and "0.04 with G=4096" in held
    assert "EXCEEDED the true step on 1 of 3" in study.bandit_verdict(_bandits([0.01, 2.0, 0.01]))


def _tiny(drop):
    c = pd.DataFrame({"loss_type": ["grpo", "dr_grpo"], "L": [2, 2], "sweep stable <=": [0.055, 0.38],
                      "one-step drop >=": drop})
    return {"comparison": c, "ratio": pd.Series([0.8, 1.2])}


def test_tiny_verdict_quotes_ratios_and_flips_on_the_necessary_condition():
    ok = study.tiny_verdict(_tiny([0.095, 0.95]))
    assert "0.8 (grpo, L=2), 1.2 (dr_grpo, L=2)" in ok and "as they must" in ok
    assert "too noisy" in study.tiny_verdict(_tiny([0.05, 0.95]))


def _range(ratios, estimates):
    t = pd.DataFrame({"setting": ["grpo L=2", "dr_grpo L=2"], "optimiser": ["SGD", "SGD"],
                      "method": ["grid", "grid"], "sweep threshold": [0.09, 0.6],
                      "sweep stable <=": [0.05, 0.4], "estimate": estimates, "estimate / sweep": ratios})
    t["agrees (x3)"] = t["estimate / sweep"].between(1 / 3, 3)
    t["conservative"] = t["estimate"] <= t["sweep stable <="]
    return {"table": t}


def test_range_verdict_counts_agreement_and_conservatism():
    text = study.range_verdict(_range([0.8, 0.65], [0.07, 0.39]))
    assert "2 of 2 range-test estimates agree" in text and "ratios 0.65 .. 0.80" in text
    assert "0 of 2 are conservative" not in text and "1 of 2 are conservative" in text
    assert "1 of 2 range-test estimates agree" in study.range_verdict(_range([0.8, 5.0], [0.07, 3.0]))
    assert study.negative_control(_range([0.8, 0.65], [0.06, 0.39]), 2) == pytest.approx(0.1)


def test_smollm2_sentences_handle_missing_results_and_the_factor():
    assert "Nothing stored" in study.smollm2_verdict({"search": None})
    assert "no stored SmolLM2 results" in study.smollm2_lines({"search": None})
    sm = {"search": {"J0": 0.31}, "runs": [0] * 18, "s_stable": 0.017, "s_collapsed": 0.03,
          "p_safe": 0.098, "p_drop": 0.31, "p_thr": 0.18, "s_thr": 0.023,
          "ramp": {"per_seed": [0, 1, 2], "censored": 0, "largest_safe_lr": 0.032}}
    text = study.smollm2_verdict(sm)
    assert "7.8 times" in text and "1.4 times" in text and "within section 4's factor 3" in text
    sm["ramp"]["largest_safe_lr"] = 0.23
    assert "outside section 4's factor 3" in study.smollm2_verdict(sm)


def test_adamw_verdict_quotes_ratio_width_and_coarse_ratio():
    ad = {"ramp": {"largest_safe_lr": 0.0001957, "per_seed": [0, 1, 2]},
          "sweep": {"runs": 10, "bracket": SimpleNamespace(last_pass=5.5e-5, first_fail=1e-4)},
          "ratio": 2.64, "width": 1.8, "coarse_ratio": 3.57}
    text = study.adamw_verdict(ad)
    assert "a ratio of 2.64, within" in text and "x1.8 wide" in text and "gives 3.57" in text
    assert "outside" in study.adamw_verdict({**ad, "ratio": 3.57})
    assert np.isclose(1 / study.AGREE, 1 / 3)
