"""The pre-registered SmolLM2 test at the 128-token cap: prediction, rule, runs and verdict.

    python scripts/cap128_midpoints.py predict     # the prediction, from the stored step-1 batches
    python scripts/cap128_midpoints.py run [--only N]   # the 12 midpoint runs (resumable, stored)
    python scripts/cap128_midpoints.py evaluate    # the rule applied to every stored 128-token run

The prediction and the rule are in docs/preregistration/smollm2_cap128_midpoints.md, committed
before the first midpoint run; this script computes both from stored results and never changes
them after the runs are seen.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.evaluation import starting_success
from rlvr_core.llm.runner import RESULTS_DIR, result_path, run_or_load
from rlvr_core.llm.sweeps import SMOLLM2_LONG_CAP, smollm2_long_plan

MIDPOINTS = {"grpo": (0.017, 0.055), "dr_grpo": (0.17, 0.55)}
SEEDS = (0, 1, 2)
# The rule, fixed before the runs. A seed is collapsed when its replies end mostly at the cap
# (mean clipped fraction over the last 5 steps >= CAP_SHARE: a truncated, repeating reply can still
# end with the right number, which the verifier rewards) or when its last-5 success falls below
# J0 - 2 s.e.; a rate is stable when >= 2 of 3 seeds are stable.
LAST, CAP_SHARE, STABLE_SEEDS = 5, 0.5, 2


def start_cut() -> float:
    """J0 - 2 s.e.: the starting model's success on notebook 07's evaluation set at this cap."""
    j0 = starting_success(smollm2_long_plan()[0], compute=False)
    return j0["success"] - 2 * j0["se"]


def stored_runs() -> list[dict]:
    runs = []
    for f in sorted((Path(RESULTS_DIR) / "smollm2").glob("*.json")):
        r = json.loads(f.read_text())
        if r["config"].get("max_completion_length") == SMOLLM2_LONG_CAP and r["config"]["optim"] == "sgd":
            runs.append(r)
    return runs


def step1_ratio(runs) -> dict[int, float]:
    """Per seed, ||grad|| of grpo over dr_grpo at step 1 on the same CPU: the same sampled batch,
    so the ratio is the factor by which grpo's normaliser scales dr_grpo's step."""
    norm = {}
    for r in runs:
        c = r["config"]
        if r["provenance"].get("device") == "cpu":
            norm[(c["loss_type"], c["seed"])] = r["metrics"][0]["grad_norm"]
    return {s: norm[("grpo", s)] / norm[("dr_grpo", s)] for s in SEEDS
            if ("grpo", s) in norm and ("dr_grpo", s) in norm}


def seed_stable(r, cut: float) -> bool:
    last = r["metrics"][-LAST:]
    at_cap = np.mean([m["completions/clipped_ratio"] for m in last])
    success = np.mean([m["reward"] for m in last])
    return bool(at_cap < CAP_SHARE and success >= cut)


def verdicts(runs) -> dict[str, dict[float, list[bool]]]:
    out: dict[str, dict[float, list[bool]]] = {}
    cut = start_cut()
    for r in runs:
        c = r["config"]
        out.setdefault(c["loss_type"], {}).setdefault(c["learning_rate"], []).append(seed_stable(r, cut))
    return {lt: dict(sorted(v.items())) for lt, v in out.items()}


def bracket(by_rate: dict[float, list[bool]]):
    """(last stable rate below the first collapsed one, first collapsed rate, geometric midpoint),
    using only rates with all 3 seeds."""
    full = {lr: v for lr, v in by_rate.items() if len(v) == len(SEEDS)}
    stable = [sum(v) >= STABLE_SEEDS for v in full.values()]
    rates = list(full)
    first_fail = next((lr for lr, ok in zip(rates, stable) if not ok), math.nan)
    below = [lr for lr, ok in zip(rates, stable) if ok and lr < first_fail]
    last_pass = max(below) if below else math.nan
    return last_pass, first_fail, math.sqrt(last_pass * first_fail)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("predict", "run", "evaluate"))
    ap.add_argument("--only", type=int, help="run at most this many of the missing runs")
    a = ap.parse_args(argv)
    runs = stored_runs()
    if a.what == "predict":
        ratio = step1_ratio(runs)
        print("step-1 ||grad|| grpo / dr_grpo, per seed (same batch, CPU):",
              {s: round(v, 2) for s, v in ratio.items()})
        print(f"predicted threshold ratio dr_grpo / grpo: median {np.median(list(ratio.values())):.2f}, "
              f"range [{min(ratio.values()):.2f}, {max(ratio.values()):.2f}]")
        return 0
    if a.what == "run":
        base = {(c.loss_type, c.seed): c for c in smollm2_long_plan(SEEDS)}
        plan = [dataclasses.replace(base[(lt, s)], learning_rate=lr)
                for s in SEEDS for lt, lrs in MIDPOINTS.items() for lr in lrs]
        # the two rates inside the brackets first (grpo 0.055, dr_grpo 0.17), seed by seed
        plan.sort(key=lambda c: (c.learning_rate not in (0.055, 0.17), c.seed))
        todo = [c for c in plan if not result_path(c).exists()][: a.only]
        for i, c in enumerate(todo, 1):
            res = run_or_load(c, progress=False)
            print(f"[{i}/{len(todo)}] {c.loss_type} lr {c.learning_rate} seed {c.seed}: stable "
                  f"{seed_stable(res, start_cut())} -> {result_path(c)}", flush=True)
        return 0
    from scipy.stats import fisher_exact

    v = verdicts(runs)
    est = {}
    for lt, by_rate in v.items():
        cells = ", ".join(f"{lr:g}: {sum(s)}/{len(s)}" for lr, s in by_rate.items())
        lo, hi, est[lt] = bracket(by_rate)
        print(f"{lt}: stable seeds per rate {cells}; bracket ({lo:g}, {hi:g}], estimate {est[lt]:.3g}")
    print(f"threshold ratio dr_grpo / grpo: {est['dr_grpo'] / est['grpo']:.2f}")
    shared = sorted(set(v["grpo"]) & set(v["dr_grpo"]))
    for rates in [[r] for r in shared] + [[r for r in shared if r >= 0.1]]:
        g = sum(sum(v["grpo"][r]) for r in rates), sum(len(v["grpo"][r]) for r in rates)
        d = sum(sum(v["dr_grpo"][r]) for r in rates), sum(len(v["dr_grpo"][r]) for r in rates)
        p = fisher_exact([[d[0], d[1] - d[0]], [g[0], g[1] - g[0]]], alternative="greater").pvalue
        print(f"same rate {'+'.join(f'{r:g}' for r in rates)}: stable dr_grpo {d[0]}/{d[1]}, grpo "
              f"{g[0]}/{g[1]}; one-sided Fisher exact p = {p:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
