"""A GRPO learning-rate range test: short runs of ``k`` optimizer steps from the same start (same
model, same seed, hence the same first batch) on a geometric grid of learning rates; a rate
passes when the batch success after ``k`` steps is not below the start's success minus its
standard error, and the answer is the end of the first passing block of the grid
(:func:`rlvr_core.thresholds.first_failure`: a pass after a failure does not count).

    python -m rlvr_core.llm.range_test --config configs/tiny.yaml --lrs 0.01:100:7 --steps 4
    python -m rlvr_core.llm.range_test --config configs/tiny.yaml --lrs 0.01,0.1,1,10

``--lrs`` is a comma list or ``low:high:count`` (geometric). "Success after k steps" is the mean
verifier reward of the batch sampled from θ_k (the run goes k+1 steps; the (k+1)-th update is not
looked at). The start is the batch sampled from θ_0 (identical across rates), with standard error
sqrt(p(1-p)/n) over its n completions. With several ``--seeds`` both are averaged over seeds and
the standard error pooled. A short test: a too-small rate passes (it barely moves), so this reads
the collapse side, not the best rate.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys

import numpy as np

import rlvr_core.llm  # noqa: F401  (offline first)


def parse_lrs(text: str) -> list[float]:
    if ":" in text:
        lo, hi, n = text.split(":")
        lo, hi, n = float(lo), float(hi), int(n)
        if not (0 < lo < hi) or n < 2:
            raise ValueError(f"--lrs {text!r} is invalid: expected low:high:count with 0 < low < high, count >= 2")
        return [float(x) for x in np.geomspace(lo, hi, n)]
    lrs = [float(x) for x in text.split(",") if x.strip()]
    if not lrs or any(x <= 0 for x in lrs) or sorted(lrs) != lrs or len(set(lrs)) != len(lrs):
        raise ValueError(f"--lrs {text!r} is invalid: expected increasing positive rates")
    return lrs


def range_test(cfg, lrs, steps: int, seeds=(0,), run=None) -> dict:
    """Run the grid and read it. ``run`` (default :func:`run_grpo`) maps a RunConfig to a result."""
    from ..thresholds import first_failure
    from .runner import run_grpo

    run = run or (lambda c: run_grpo(c, progress=False))
    rows, starts, ns = [], [], []
    for lr in lrs:
        after, first = [], []
        for s in seeds:
            c = dataclasses.replace(cfg, learning_rate=float(lr), max_steps=steps + 1, seed=int(s),
                                    gap_callback=False, save_strategy="no", output_dir=None,
                                    resume_from_checkpoint=None, report_to="none", metrics_jsonl=None)
            res = run(c)
            m = res["metrics"]
            if len(m) < steps + 1:
                raise RuntimeError(f"lr={lr}: the run logged {len(m)} steps, expected {steps + 1}")
            after.append(float(m[steps]["reward"]))
            first.append(float(m[0]["reward"]))
            if lr == lrs[0]:
                starts.append(float(m[0]["reward"]))
                ns.append(c.per_device_train_batch_size * res["provenance"].get("num_processes", 1))
        rows.append({"learning_rate": float(lr), "success_after": float(np.mean(after)),
                     "per_seed": after, "start": float(np.mean(first))})
    start = float(np.mean(starts))
    se = math.sqrt(sum(p * (1 - p) / n for p, n in zip(starts, ns))) / len(starts)
    passed = [r["success_after"] >= start - se for r in rows]
    for r, p in zip(rows, passed):
        r["passed"] = bool(p)
    bracket = first_failure(passed, lrs)
    return {"steps": steps, "seeds": list(seeds), "start": start, "start_se": se,
            "threshold": start - se, "rows": rows,
            "largest_passing_lr": bracket.last_pass, "first_failing_lr": bracket.first_fail}


def main(argv=None) -> int:
    from .runner import world_size
    from .train import load_config

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--lrs", required=True, help="comma list, or low:high:count (geometric)")
    ap.add_argument("--steps", type=int, default=4, help="k, the optimizer steps of each run")
    ap.add_argument("--seeds", default="0", help="comma list of seeds")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--output", default=None, help="JSON file for the table")
    a = ap.parse_args(argv)
    try:
        cfg, _ = load_config(a.config, a.set)
        lrs = parse_lrs(a.lrs)
        seeds = [int(s) for s in a.seeds.split(",")]
        if a.steps < 1:
            raise ValueError(f"--steps {a.steps} is invalid: expected >= 1")
        dataclasses.replace(cfg, max_steps=a.steps + 1).validate(world_size())
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = range_test(cfg, lrs, a.steps, seeds)
    import os
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"start success {out['start']:.3f} ± {out['start_se']:.3f} (pass: >= {out['threshold']:.3f} "
              f"after {a.steps} steps)")
        for r in out["rows"]:
            print(f"  lr {r['learning_rate']:<10.4g} success {r['success_after']:.3f}  "
                  f"{'pass' if r['passed'] else 'FAIL'}")
        print(f"largest passing learning rate: {out['largest_passing_lr']:.4g} "
              f"(first failure: {out['first_failing_lr']:.4g})")
        if a.output:
            from pathlib import Path

            from ..provenance import atomic_write_text
            Path(a.output).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(a.output), json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
