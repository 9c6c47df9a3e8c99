"""The pre-registered SmolLM2 test at the 128-token cap: prediction, rule, runs and verdict.

    python scripts/cap128_midpoints.py predict     # the prediction, from the stored step-1 batches
    python scripts/cap128_midpoints.py run [--only N]   # the 12 midpoint runs (resumable, stored)
    python scripts/cap128_midpoints.py evaluate    # the rule applied to every stored 128-token run

The prediction and the rule are in docs/preregistration/smollm2_cap128_midpoints.md, committed
before the first midpoint run; the rule lives in rlvr_core.llm.midpoints (notebook 09 reads the
same one) and is never changed after the runs are seen.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm import midpoints as mp
from rlvr_core.llm.evaluation import starting_success
from rlvr_core.llm.runner import run_or_load
from rlvr_core.llm.store import result_path
from rlvr_core.llm.sweeps import SMOLLM2_LONG_CAP, smollm2_long_plan, smollm2_runs


def start_cut() -> float:
    """J0 - 2 s.e.: the starting model's success on notebook 08's evaluation set at this cap."""
    j0 = starting_success(smollm2_long_plan()[0], compute=False)
    return j0["success"] - mp.SE_MULT * j0["se"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("predict", "run", "evaluate"))
    ap.add_argument("--only", type=int, help="run at most this many of the missing runs")
    a = ap.parse_args(argv)
    runs = [r for r in smollm2_runs(SMOLLM2_LONG_CAP) if mp.is_cap128_sgd(r)]
    if a.what == "predict":
        ratio = mp.step1_ratios(runs)
        print("step-1 ||grad|| grpo / dr_grpo, per seed (same batch, CPU):",
              {s: round(v, 2) for s, v in ratio.items()})
        print(f"predicted threshold ratio dr_grpo / grpo: median {np.median(list(ratio.values())):.2f}, "
              f"range [{min(ratio.values()):.2f}, {max(ratio.values()):.2f}]")
        return 0
    if a.what == "run":
        base = {(c.loss_type, c.seed): c for c in smollm2_long_plan(mp.SEEDS)}
        plan = [dataclasses.replace(base[(lt, s)], learning_rate=lr)
                for s in mp.SEEDS for lt, lrs in mp.MIDPOINTS.items() for lr in lrs]
        # the two rates inside the brackets first (grpo 0.055, dr_grpo 0.17), seed by seed
        plan.sort(key=lambda c: (c.learning_rate not in (0.055, 0.17), c.seed))
        todo = [c for c in plan if not result_path(c).exists()][: a.only]
        for i, c in enumerate(todo, 1):
            res = run_or_load(c, progress=False)
            print(f"[{i}/{len(todo)}] {c.loss_type} lr {c.learning_rate} seed {c.seed}: stable "
                  f"{mp.seed_stable(res, start_cut())} -> {result_path(c)}", flush=True)
        return 0
    print(mp.report(mp.evaluate(runs, start_cut())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
