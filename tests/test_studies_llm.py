"""The sentences notebooks 07-09 print (rlvr_core.studies.grpo_tiny, smollm2_learning_rate,
smollm2_length_normalisation): each quotes the computed number it is given, and flips its wording
when the result flips (the negative control: a sentence that always said "holds" would fail)."""
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rlvr_core.llm import midpoints
from rlvr_core.studies import grpo_tiny, smollm2_learning_rate as smol_lr
from rlvr_core.studies import smollm2_length_normalisation as smol_len
from rlvr_core.stats.thresholds import Bracket


# ---- notebook 07: the tiny transformer ----------------------------------------------------------

def _sweep(thr=0.089, lo=0.0548, hi=0.144):
    lrs = np.array([0.02, 0.0548, 0.144, 0.38])
    return SimpleNamespace(lrs=lrs, mean_final=np.array([0.44, 0.47, 0.03, 0.0]),
                           frac=np.array([1.0, 1.0, 0.0, 0.0]), seeds=np.array([0, 1, 2]),
                           thr=thr, lo=lo, hi=hi, ci=(0.07, 0.11), J0=0.32)


def test_threshold_sentence_quotes_the_bracket_and_says_when_there_is_none():
    text = grpo_tiny.threshold_sentence(_sweep())
    assert "η = 0.0548" in text and "η = 0.144" in text and "threshold 0.089" in text
    assert "[0.07, 0.11]" in text and "0.47" in text and "0/3" in text
    assert "No threshold" in grpo_tiny.threshold_sentence(_sweep(thr=math.nan))


def _length(**claims):
    base = {"(i)": True, "(ii)": True, "(iii)": True}
    base.update(claims)
    return SimpleNamespace(lengths=(2, 16), growth={"grpo": 2.6, "dr_grpo": 0.38, "dapo": 1.0},
                           n_seeds={("grpo", 2): 3, ("dr_grpo", 16): 4}, ratio_short=6.9,
                           predicted=4.0, claims=base)


def test_length_sentence_quotes_each_factor_and_flips_a_failed_consequence():
    warm = {2: {"steps": 40}, 16: {"steps": 180}}
    text = grpo_tiny.length_sentence(_length(), warm)
    assert "×6.9" in text and "×0.38" in text and "×2.6" in text and "40 and 180" in text
    assert "not reproduced" not in text and text.count("holds") == 3
    flipped = grpo_tiny.length_sentence(_length(**{"(ii)": False}), warm)
    assert flipped.count("does not hold (not reproduced)") == 1 and flipped.count(": holds") == 2


def _plateau(state):
    return SimpleNamespace(n_tail=150, tail=0.70, runs=[{"config": {"seed": s}} for s in range(3)],
                           slope=-0.231, slope_lo=-1.092, slope_hi=0.630, state=state, curve=[0] * 600,
                           seed_tails=[0.88, 0.85, 0.36], seed_peaks=[0.91, 0.90, 0.84], worst=2)


def test_plateau_sentence_reads_the_rule_not_the_eye():
    text = grpo_tiny.plateau_sentence(_plateau("undetermined"))
    assert "0.70" in text and "-0.231" in text and "[-1.092, +0.630]" in text
    assert "do not show a plateau" in text and "seed 2" in text and "0.88, 0.85" in text
    flat = grpo_tiny.plateau_sentence(_plateau("flat"))
    assert "a flat tail" in flat and "do not show" not in flat
    assert "undetermined over the last 150 of 600 steps" in grpo_tiny.plateau_caption(_plateau("undetermined"))


def _alignment(lower):
    ci = {"cos same batch": (0.97, 0.96, 0.99), "cos(update, g)": (0.61, lower, 0.71),
          "cos(g_A, g_B)": (0.48, 0.39, 0.58), "corrected": (0.88, 0.67, 1.09)}
    return SimpleNamespace(ci=ci, start=pd.DataFrame({"seed": [0, 1, 2]}))


def test_alignment_sentence_says_aligned_only_when_the_interval_is_above_zero():
    text = grpo_tiny.alignment_sentence(_alignment(0.51))
    assert "0.61" in text and "0.51" in text and "0.88 [0.67, 1.09]" in text and "positively aligned" in text
    assert "not shown to be aligned" in grpo_tiny.alignment_sentence(_alignment(-0.05))


def test_adamw_sentence_and_the_one_grid_step_rule():
    ad = SimpleNamespace(thr=(0.0018, 0.001, 0.0032), n_thr=(0.0018, 0.001, 0.0032), ratio=1.0,
                         step=3.16, sgd_thr=0.089, vs_sgd=0.02)
    text = grpo_tiny.adamw_sentence(ad)
    assert "0.0018" in text and "0.089" in text and "×50" in text and "within one grid step" in text
    ad.ratio = 4.0
    assert "more than one grid step" in grpo_tiny.adamw_sentence(ad)
    assert grpo_tiny.within_step(3.16, 3.16) and grpo_tiny.within_step(1 / 3.16, 3.16)
    assert not grpo_tiny.within_step(3.3, 3.16) and not grpo_tiny.within_step(0.02, 3.16)


def test_start_sentence_states_the_confounder_with_its_numbers():
    ws = SimpleNamespace(lengths=(2, 16), J0s={2: (0.320, 0.021), 16: (0.336, 0.021)},
                         warm={2: {"steps": 40, "params": {"target": 0.3}}, 16: {"steps": 180}})
    text = grpo_tiny.start_sentence(ws)
    assert "0.320 ± 0.021" in text and "+0.016" in text and "+0.5 s.e." in text and "180" in text


def test_sizes_are_the_plan_of_each_profile():
    from rlvr_core.llm.sweeps import tiny_plan

    for profile in ("default", "full"):
        assert grpo_tiny.sizes(profile) == tiny_plan(profile)
    assert len(smol_lr.sizes("default")) == len(smol_lr.sizes("full")) == 56
    assert len(smol_len.sizes("default")) == 30 + 12   # the plan, then the pre-registered midpoints


# ---- notebook 08: SmolLM2's learning-rate threshold ----------------------------------------------

def test_smollm2_threshold_sentence_quotes_the_bracket():
    g = SimpleNamespace(lrs=np.array([0.003, 0.01, 0.017, 0.03, 0.1, 0.3]), J0=0.254, J0_se=0.027,
                        frac=np.array([1, 1, 1, 1 / 3, 0, 0.0]), ci=(0.023, 0.055), complete=3,
                        bracket=Bracket(0.017, 0.03))
    text = smol_lr.threshold_sentence(g)
    assert "between 0.017 and 0.03" in text and "estimate 0.023" in text and "[0.023, 0.055]" in text
    assert "×1.7 to ×3.3" in text and "1.00 at η = 0.003" in text and "0.00 at η = 0.3" in text


def _settings(ratio):
    sm = {"lrs": np.array([1e-5, 3e-5]), "runs": 10, "min_seeds": 2, "complete_seeds": 2,
          "bracket": Bracket(5.5e-5, 1e-4), "ci": (math.nan, math.nan)}
    return SimpleNamespace(summary={smol_lr.GRPO: sm, "grpo, AdamW": sm}, grid_step=3.3,
                           ratios={"dr_grpo / grpo (SGD)": ratio}, T_bar=18.4, L_max=24, s_per_step=18.0)


def test_settings_sentence_flips_with_the_ratio_and_waits_for_seeds():
    text = smol_lr.settings_sentence(_settings(1.8))
    assert "stable up to 5.5e-05" in text and "collapsed from 0.0001" in text
    assert "2 seeds at every rate: too few for a bootstrap range" in text
    assert "ratio is 1.80, inside one grid step" in text
    assert "ratio is 4.00, outside one grid step" in smol_lr.settings_sentence(_settings(4.0))
    assert "not compared yet" in smol_lr.settings_sentence(_settings(math.nan))


def test_cap_and_evaluation_sentences():
    text = smol_lr.cap_sentence(_settings(1.8))
    assert "mean length 18 under a cap of 24" in text and "about 1.3" in text and "×3.3" in text
    empty = SimpleNamespace(table=pd.DataFrame(), end=pd.DataFrame(), cut=0.2)
    assert "No stored run" in smol_lr.evaluations_sentence(empty)
    table = pd.DataFrame({"se": [0.044, 0.03], "same verdict": [True, False], "z": [1.0, 3.0]})
    ev = SimpleNamespace(table=table, end=table, cut=0.2)
    assert "1 of 2 runs" in smol_lr.evaluations_sentence(ev) and "s.e. ≤ 0.04" in smol_lr.evaluations_sentence(ev)


# ---- notebook 09: length normalisation at the 128-token cap --------------------------------------

def _verdict(ratio, midpoint_runs=12):
    by_rate = {"grpo": {0.03: [True, True, False], 0.055: [False] * 3},
               "dr_grpo": {0.1: [True] * 3, 0.17: [True, False, False]}}
    return midpoints.Verdict(by_rate, {"grpo": Bracket(0.03, 0.055), "dr_grpo": Bracket(0.1, 0.17)}, ratio,
                             midpoint_runs, {"grpo 0.017 stable": True, "dr_grpo 0.55 collapsed": None},
                             [((0.1,), (3, 3), (0, 3), 0.05)])


@pytest.mark.parametrize("ratio, word", [(3.21, "holds"), (1.8, "fails (not reproduced)")])
def test_verdict_sentence_follows_the_preregistered_band(ratio, word):
    text = smol_len.verdict_sentence(_verdict(ratio), SimpleNamespace(runs=[0] * 42, n_mid=12))
    assert f"{ratio:.2f}" in text and "3.93" in text and "[2.0, 10.2]" in text
    assert text.endswith(f"so the prediction {word}.")


def test_verdict_sentence_waits_for_the_midpoint_runs():
    text = smol_len.verdict_sentence(_verdict(3.21, midpoint_runs=6), SimpleNamespace(runs=[], n_mid=12))
    assert "not decided yet: 6 of 12" in text and "holds" not in text


def test_evidence_and_prediction_sentences_quote_their_counts():
    t = pd.DataFrame({"device": ["CPU, 1 thread(s)", "CPU, 1 thread(s)", "NVIDIA H200"],
                      "s/step": [60.0, 66.0, 11.0]})
    text = smol_len.evidence_sentence(_verdict(3.21), t)
    assert "grpo 0.03: 2/3, 0.055: 0/3" in text and "dr_grpo 0.55 collapsed: not all seeds run" in text
    assert "η = 0.1: 3/3 against 0/3, p = 0.05" in text and "2 on CPU, 1 thread(s) at a median 63 s" in text
    d = SimpleNamespace(start={"mean_length": 40.3})
    pred = smol_len.prediction_sentence(d)
    assert "40.3 tokens" in pred and "3.18" in pred and "3.64 to 5.67" in pred and "[2.0, 10.2]" in pred


def test_the_warm_start_seed_reaches_every_config_and_seed_0_keeps_the_committed_keys():
    from rlvr_core.llm.store import result_path
    from rlvr_core.llm.sweeps import tiny_all_configs, tiny_plan

    S = tiny_plan("default")
    committed = [result_path(c) for cs in tiny_all_configs(S).values() for c in cs]
    assert [result_path(c) for cs in grpo_tiny.configs(S).values() for c in cs] == committed
    other = [c for cs in grpo_tiny.configs(S, warm_start_seed=1).values() for c in cs]
    assert all(c.warm_start_seed == 1 for c in other)
    assert not set(map(result_path, other)) & set(committed)   # another start: other runs
