"""Run plans as data (rlvr_core.llm.plans) and the horizon analysis (rlvr_core.llm.horizon): the
loader refuses what it cannot run, and the collapse rule counts what it says it counts."""
import dataclasses
import math

import numpy as np
import pytest

from rlvr_core.llm.horizon import collapse_fraction, collapse_step, collapsed_by, fraction_table
from rlvr_core.llm.plans import load_plan, load_plan_file, plan_file_from_dict, plan_from_dict, plan_path
from rlvr_core.llm.sweeps import TINY_COMMON

PLAN = {"plan": "t", "common": {**TINY_COMMON, "loss_type": "grpo", "scratch_len": 2, "max_steps": 5},
        "grid": {"seed": [0, 1], "learning_rate": [0.01, 0.1]}}


def test_plan_expands_the_grid_outermost_first_with_the_common_fields():
    plan = plan_from_dict(PLAN)
    assert [(c.seed, c.learning_rate) for c in plan.configs] == [(0, 0.01), (0, 0.1), (1, 0.01), (1, 0.1)]
    assert all(c.max_steps == 5 and c.scratch_len == 2 and c.per_device_train_batch_size == 64
               for c in plan.configs)


@pytest.mark.parametrize("bad, match", [
    ({"plann": "x"}, r"unknown key\(s\) \['plann'\]"),
    ({"common": {**PLAN["common"], "learning_rat": 0.1}}, r"common: unknown key\(s\) \['learning_rat'\]"),
    ({"grid": {"sed": [0]}}, r"grid: unknown key\(s\) \['sed'\]"),
    ({"grid": {"seed": []}}, "non-empty list"),
    ({"grid": {"seed": [0, 0]}}, "repeats"),
    ({"grid": {"max_steps": [3]}}, "in both"),
    ({"grid": {"learning_rate": [-0.1]}}, "learning_rate"),
])
def test_plan_refuses_unknown_keys_and_bad_runs(bad, match):
    with pytest.raises(ValueError, match=match):
        plan_from_dict({**PLAN, **bad})


def test_missing_plan_names_the_plans_there():
    with pytest.raises(ValueError, match="tiny_horizon"):
        plan_path("no_such_plan")


def test_horizon_plan_is_tiny_common_at_the_stated_rates():
    plan = load_plan(plan_path("tiny_horizon"))
    a = plan.analysis
    rates = sorted({c.learning_rate for c in plan.configs})
    assert rates == [float(f"{a['threshold_30'] * m:.2g}") for m in a["multipliers"]]
    assert sorted({c.seed for c in plan.configs}) == list(range(10))
    ref = dataclasses.replace(plan.configs[0], **TINY_COMMON)
    assert all(c == dataclasses.replace(ref, learning_rate=c.learning_rate, seed=c.seed) for c in plan.configs)
    assert {(c.loss_type, c.scratch_len, c.max_steps) for c in plan.configs} == {("grpo", 2, 600)}
    # seed-major: every rate of a seed before the next seed
    assert [c.seed for c in plan.configs[:3]] == [0, 0, 0]


def _run_plan():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "run_plan", Path(__file__).resolve().parents[1] / "scripts" / "run_plan.py")
    run_plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_plan)
    return run_plan


def test_run_plan_accepts_a_plan_file():
    run_plan = _run_plan()
    cfgs = run_plan.plan_configs(str(plan_path("tiny_horizon")))
    assert len(cfgs) == 30
    with pytest.raises(SystemExit, match="unknown plan"):
        run_plan.plan_configs("tiny_horizonn")


# ---- files of several plans (configs/plans/smollm2.yaml, tiny.yaml) ---------------------------

FILE = {"common": {**TINY_COMMON, "loss_type": "grpo", "scratch_len": 2, "max_steps": 5},
        "plans": {"a": {"common": {"max_steps": 7},
                        "parts": [{"grid": {"seed": [1], "learning_rate": [0.1]}},
                                  {"common": {"scratch_len": 16}, "grid": {"seed": [0], "learning_rate": [0.01, 0.1]}}]},
                  "b": {"grid": {"seed": [1, 0], "learning_rate": [0.1, 0.01]},
                        "order": ["learning_rate", "seed"], "analysis": {"why": 1}}},
        "profiles": {"p": {"n": 1, "lrs": [0.1]}}}


def test_plan_file_runs_parts_in_turn_with_narrower_common_overriding_wider():
    f = plan_file_from_dict(FILE)
    a, b = f.plans["a"].configs, f.plans["b"].configs
    assert [(c.seed, c.learning_rate, c.scratch_len, c.max_steps) for c in a] == [
        (1, 0.1, 2, 7), (0, 0.01, 16, 7), (0, 0.1, 16, 7)]
    assert [(c.learning_rate, c.seed) for c in b] == [(0.01, 0), (0.01, 1), (0.1, 0), (0.1, 1)]
    assert f.plans["b"].analysis == {"why": 1} and all(c.max_steps == 5 for c in b)
    assert f.profile("p", ("n", "lrs")) == {"n": 1, "lrs": [0.1]}


def _with(path, value):
    """FILE with the entry at ``path`` (a tuple of keys) set to ``value``."""
    import copy

    data = copy.deepcopy(FILE)
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, match", [
    (("plan",), "x", r"unknown key\(s\) \['plan'\]"),
    (("plans", "a", "grids"), {}, r"plans.a: unknown key\(s\) \['grids'\]"),
    (("plans", "a", "parts", 0, "comon"), {}, r"parts\[0\]: unknown key\(s\) \['comon'\]"),
    (("plans", "a", "parts", 1, "common", "scratch_lenn"), 3, r"parts\[1\]: common: unknown key\(s\) \['scratch_lenn'\]"),
    (("plans", "b", "order"), ["learning_rat"], r"order: unknown key\(s\) \['learning_rat'\]"),
    (("plans", "b", "parts"), [{"grid": {"seed": [3]}}], "exactly one of 'grid' and 'parts'"),
    (("plans", "a", "parts", 0, "grid", "max_steps"), [3], "in both"),
    (("plans", "a", "parts", 0), {"common": {"scratch_len": 16}, "grid": {"seed": [0], "learning_rate": [0.1]}},
     "the same run appears twice"),
    (("common", "sed"), 0, r"common: unknown key\(s\) \['sed'\]"),
])
def test_plan_file_refuses_unknown_keys_and_bad_plans(path, value, match):
    with pytest.raises(ValueError, match=match):
        plan_file_from_dict(_with(path, value))


def test_a_profile_must_hold_exactly_its_sizes():
    f = plan_file_from_dict(FILE)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['lrs'\]"):
        f.profile("p", ("n",))
    with pytest.raises(ValueError, match=r"missing key\(s\) \['steps'\]"):
        f.profile("p", ("n", "lrs", "steps"))
    with pytest.raises(ValueError, match="unknown profile 'q'"):
        f.profile("q", ("n",))


def test_tiny_sizes_read_log_grids_and_tuples():
    from rlvr_core.llm.sweeps import log_grid, tiny_plan, tiny_size

    assert tiny_plan("default")["lrs"] == log_grid(0.003, 1.0, 7)
    assert tiny_plan("full")["seeds"] == (0, 1, 2, 3, 4)
    assert tiny_size({"log_grid": [0.01, 1.0, 3]}) == [0.01, 0.1, 1.0]
    with pytest.raises(ValueError, match="log_grid"):
        tiny_size({"geom": [0.01, 1.0, 3]})
    assert load_plan_file(plan_path("tiny")).common == TINY_COMMON


def test_every_named_plan_of_run_plan_is_a_plan_of_smollm2_yaml():
    from rlvr_core.llm import sweeps

    run_plan = _run_plan()
    assert set(run_plan.PLANS) == set(load_plan_file(plan_path("smollm2")).plans) | {"smollm2_adamw_ramp", "tiny"}
    assert run_plan.plan_configs("smollm2_seeds") == sweeps.smollm2_seed_plan()
    assert run_plan.plan_configs("smollm2_adamw") == sweeps.smollm2_adamw_configs(sweeps.SMOLLM2_ADAMW_LRS)
    with pytest.raises(ValueError, match="no SmolLM2 plan 'smollm3'"):
        sweeps.smollm2_plan_runs("smollm3")
    with pytest.raises(ValueError, match=r"seeds \[7\]"):
        sweeps.smollm2_long_plan((0, 7))


def test_an_installed_package_finds_every_plan_file(tmp_path, monkeypatch):
    # setup.py copies configs/plans into the wheel as rlvr_core/_stored_results/plans; outside a
    # checkout plan_path looks there
    import shutil
    from pathlib import Path

    from rlvr_core.infra import provenance

    here = Path(__file__).resolve().parents[1] / "configs" / "plans"
    shutil.copytree(here, tmp_path / "_stored_results" / "plans")
    monkeypatch.setattr(provenance, "IN_CHECKOUT", False)
    monkeypatch.setattr(provenance, "PACKAGE_DIR", tmp_path)
    for name in sorted(p.stem for p in here.glob("*.yaml")):
        assert plan_path(name) == tmp_path / "_stored_results" / "plans" / f"{name}.yaml"
    assert {"tiny", "smollm2", "tiny_horizon"} <= {p.stem for p in here.glob("*.yaml")}


# ---- the collapse rule on synthetic traces -----------------------------------------------------

J0 = 0.32


def test_a_dip_shorter_than_the_window_is_not_a_collapse():
    r = np.full(600, J0)
    r[100:105] = 0.0                      # five bad batches: trailing mean 0.75 J0
    assert collapse_step(r, J0) is None
    r[300:312] = 0.0                      # twelve: trailing mean 0.4 J0 < 0.5 J0 -> collapsed
    assert collapse_step(r, J0) == 311    # the first window holding 11 of the zeros ends at step 311


def test_a_run_that_falls_to_zero_collapses_when_the_trailing_mean_crosses_half_the_start():
    r = np.concatenate([np.full(200, 0.8), np.zeros(400)])
    # the trailing 20-step mean first drops below 0.16 when >= 17 of its steps are 0: step 217
    assert collapse_step(r, J0) == 217
    assert collapse_step(r, J0, window=1) == 201
    assert collapse_step(np.zeros(10), J0) is None            # shorter than the window: undecided
    assert collapse_step(np.full(600, 0.25), 0.5) is None     # at the level, not below it
    nan = np.zeros(40)
    nan[5] = math.nan
    assert collapse_step(nan, J0) == 26                       # windows holding the NaN are undecided


def test_collapsed_by_counts_each_run_once_from_its_step_on():
    k = collapsed_by([None, 10, 10, 50], 60)
    assert k[8] == 0 and k[9] == 2 and k[48] == 2 and k[49] == 3 and k[-1] == 3
    assert (np.diff(k) >= 0).all()
    assert (collapsed_by([None, None], 5) == 0).all()


def test_collapse_fraction_has_wilson_bands_around_k_over_n():
    f = collapse_fraction([None] * 9 + [30], 100)
    assert f["n"] == 10 and f["k"][28] == 0 and f["k"][29] == 1
    assert f["lo"][28] == pytest.approx(0.0, abs=1e-12) and 0.19 < f["hi"][28] < 0.23   # 0/10: [0, 0.21]
    assert (f["lo"] <= f["frac"]).all() and (f["frac"] <= f["hi"]).all()
    rows = fraction_table({"a": f}, at=(30, 100, 300))
    assert [(r["step"], r["k"], r["n"]) for r in rows] == [(30, 1, 10), (100, 1, 10)]


def _fake_runs(plan, collapse_at: dict):
    """Stored-run dicts for the plan: success J0 throughout, or 0 from step collapse_at[(lr, seed)]."""
    runs = []
    for c in plan.configs:
        r = np.full(c.max_steps, J0)
        t = collapse_at.get((c.learning_rate, c.seed))
        if t is not None:
            r[t - 1:] = 0.0
        runs.append({"config": dataclasses.asdict(c), "metrics": [{"reward": float(x)} for x in r],
                     "warm_start": {"success_rate_final": J0, "final_samples": 512,
                                    "params": {"num_problems": 16}}})
    return runs


def test_horizon_predictions_read_the_counts_and_can_fail():
    from rlvr_core.studies import grpo_tiny as study

    plan = study.horizon_plan()
    lo, mid, hi = sorted({c.learning_rate for c in plan.configs})
    # P1-P3 hold: 0.3x loses seed 0 at step 200, 1x loses seeds 0-5 by step 50
    good = {(mid, 0): 200, **{(hi, s): 30 + s for s in range(6)}}
    hz = study.horizon(plan, _fake_runs(plan, good))
    assert {k: v[0] for k, v in study.horizon_predictions(hz).items()} == {"P1": True, "P2": True, "P3": True}
    assert study.horizon_k(hz, 1.0, 30) == (0, 10)       # a fall at step 30 is counted from step 40
    assert study.horizon_k(hz, 1.0, 600) == (6, 10)
    assert "0.3× the threshold" in study.horizon_sentence(hz) and "grew by 0 at 0.1× and 1 at 0.3×" in study.horizon_sentence(hz)
    # P2 fails when nothing collapses after step 30 at 0.3x; P1 when two seeds collapse early at 0.1x;
    # P3 when 0.1x loses more seeds than 1x (beyond one seed of slack)
    bad = {(lo, 0): 5, (lo, 1): 5, (lo, 2): 300}
    out = study.horizon_predictions(study.horizon(plan, _fake_runs(plan, bad)))
    assert {k: v[0] for k, v in out.items()} == {"P1": False, "P2": False, "P3": False}
    bad_hz = study.horizon(plan, _fake_runs(plan, bad))
    assert "P1, P2, P3" in study.horizon_not_reproduced(bad_hz)
    assert "every prediction" in study.horizon_not_reproduced(hz)
    assert "P2 holds" in study.horizon_verdict_sentence(hz) and "with 10 seeds per rate" in study.horizon_verdict_sentence(hz)
    # a seed that collapses and comes back is still counted, and said to have come back
    back = _fake_runs(plan, {})
    r = next(r for r in back if r["config"]["learning_rate"] == hi and r["config"]["seed"] == 0)
    for m in r["metrics"][100:150]:
        m["reward"] = 0.0
    hz_back = study.horizon(plan, back)
    assert study.horizon_k(hz_back, 1.0, 600) == (1, 10) and hz_back.per_rate[1.0]["recovered"] == 1
    assert "1 of the 1 collapsed at 1×" in study.horizon_verdict_sentence(hz_back)
    # a partial plan: the seeds read per rate are counted, not assumed
    part = study.horizon(plan, [r for r in _fake_runs(plan, good) if r["config"]["seed"] < 4])
    assert study.horizon_k(part, 1.0, 600) == (4, 4)
    assert "4/10 seeds stored" in study.horizon_report(part)
