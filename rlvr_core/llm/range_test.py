"""A GRPO learning-rate range test: short runs of ``k`` optimizer steps from the same start (same
model, same seed, hence the same first batch) on a geometric grid of learning rates; a rate
passes when the batch success after ``k`` steps is not below the reference J0 minus one standard
error, and the answer is the end of the first passing block of the grid
(:func:`rlvr_core.stats.thresholds.first_failure`: a pass after a failure does not count).

    python -m rlvr_core.llm.range_test --config configs/tiny.yaml --lrs 0.01:100:7 --steps 4
    python -m rlvr_core.llm.range_test --config configs/tiny.yaml --lrs 0.01,0.1,1,10

``--lrs`` is a comma list or ``low:high:count`` (geometric). "Success after k steps" is the mean
verifier reward of the batch sampled from θ_k (the run goes k+1 steps; the (k+1)-th update is not
looked at). The reference J0 is the starting model's success on the fixed evaluation set
(:func:`reference_success`: about ``REFERENCE_REPLIES`` replies, stored), not one training
batch: a 16-completion batch has a standard error of about 0.11 at J0 = 0.25, so a lucky first
batch made a seed "drop" after an update too small to matter. The tolerance is the standard error
of the compared quantity if nothing changed, sqrt(J0 (1 - J0) / n) for a batch of n completions
(averaged over the ``--seeds``: divided by sqrt(seeds)). A short test: a too-small rate passes (it
barely moves), so this reads the collapse side, not the best rate.

The same question inside one run: :class:`ExponentialRangeTest`, a ``TrainerCallback`` that raises
the learning rate geometrically at every optimizer step and stops the run once the batch success
has stayed below J0 for ``patience`` steps (add ``--exponential`` to the CLI; in your own script
pass it to ``GRPOTrainer(callbacks=[...])`` with ``reference=`` your model's J0). It costs one
short run per seed instead of a grid (the answer is the median over seeds), and reads a different
thing: every rate acts for one step on a model already moved by the smaller ones. Notebook 10
compares both with the measured sweeps.

    python -m rlvr_core.llm.range_test --config configs/tiny.yaml --lrs 0.001:10:25 --exponential
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from transformers import TrainerCallback

import rlvr_core.llm  # noqa: F401  (offline first)

from rlvr_core.infra.provenance import atomic_write_text
from rlvr_core.stats.thresholds import first_failure
from .config import load_config
from .device import world_size
from .runner import run_grpo
from .store import stored_result


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


# J0 is measured on about 256 replies of the starting model (s.e. <= 0.031), sampled at the run's
# temperature and completion cap: 64 problems x 4 for chat_sum, the task's own problems x
# ceil(256 / problems) for scratchpad_sum (the tiny model's evaluation set is its 16 problems).
REFERENCE_REPLIES, REFERENCE_PROBLEMS = 256, 64


def reference_request(cfg) -> dict:
    """The evaluation set J0 is read on, as :func:`rlvr_core.llm.evaluation.starting_success`'s
    arguments."""
    if cfg.task == "math":
        raise ValueError("the range test's reference J0 for task 'math' is your model's pass@1 on "
                         "held-out problems: measure it and pass --reference J0:N (N replies)")
    prompts = cfg.num_problems if cfg.task == "scratchpad_sum" else REFERENCE_PROBLEMS
    return {"num_problems": REFERENCE_PROBLEMS, "samples": math.ceil(REFERENCE_REPLIES / prompts), "seed": 0}


def reference_success(cfg, *, compute: bool = True, results_dir=None) -> dict:
    """J0 of ``cfg``'s starting model on the fixed evaluation set, with its standard error and
    count (:func:`rlvr_core.llm.evaluation.starting_success`, stored and reused)."""
    from .evaluation import starting_success

    ref = starting_success(cfg, compute=compute, results_dir=results_dir, **reference_request(cfg))
    if ref is None:
        raise RuntimeError(f"no stored evaluation-set J0 for {cfg.model}; run with compute=True")
    return {"source": "evaluation set", "success": float(ref["success"]), "se": float(ref["se"]),
            "n": int(ref["n"])}


def given_reference(text: str) -> dict:
    """``--reference J0:N``: a J0 the user measured on N replies of their own evaluation set."""
    try:
        j0, n = text.split(":")
        j0, n = float(j0), int(n)
    except ValueError:
        raise ValueError(f"--reference {text!r} is invalid: expected J0:N, e.g. 0.31:500") from None
    if not 0 < j0 < 1 or n < 1:
        raise ValueError(f"--reference {text!r} is invalid: expected 0 < J0 < 1 and N >= 1 replies")
    return {"source": "user's evaluation set", "success": j0, "se": math.sqrt(j0 * (1 - j0) / n), "n": n}


def range_test(cfg, lrs, steps: int, seeds=(0,), run=None, reference: dict | None = None) -> dict:
    """Run the grid and read it against ``reference`` (default :func:`reference_success`).
    ``run`` (default :func:`run_grpo`) maps a RunConfig to a result."""
    run = run or (lambda c: run_grpo(c, progress=False))
    ref = reference or reference_success(cfg)
    rows, ns = [], []
    for lr in lrs:
        after, first = [], []
        for s in seeds:
            c = short_run_config(cfg, lr, steps + 1, s)
            res = run(c)
            m = res["metrics"]
            if len(m) < steps + 1:
                raise RuntimeError(f"lr={lr}: the run logged {len(m)} steps, expected {steps + 1}")
            after.append(float(m[steps]["reward"]))
            first.append(float(m[0]["reward"]))
            if lr == lrs[0]:
                ns.append(c.per_device_train_batch_size * res["provenance"].get("num_processes", 1))
        rows.append({"learning_rate": float(lr), "success_after": float(np.mean(after)),
                     "per_seed": after, "first_batch": float(np.mean(first))})
    start = ref["success"]
    se = math.sqrt(sum(start * (1 - start) / n for n in ns)) / len(ns)   # s.e. of the seeds' mean batch
    passed = [r["success_after"] >= start - se for r in rows]
    for r, p in zip(rows, passed):
        r["passed"] = bool(p)
    bracket = first_failure(passed, lrs)
    return {"steps": steps, "seeds": list(seeds), "reference": ref, "start": start, "start_se": se,
            "threshold": start - se, "rows": rows,
            "largest_passing_lr": bracket.last_pass, "first_failing_lr": bracket.first_fail}


def short_run_config(cfg, learning_rate: float, max_steps: int, seed: int):
    """``cfg`` as one short probe run: no Gradient-Gap callback, no evaluation set, no checkpoints
    or trackers."""
    return dataclasses.replace(cfg, learning_rate=float(learning_rate), max_steps=int(max_steps),
                               seed=int(seed), gap_callback=False, eval_problems=0, eval_gap=False,
                               save_strategy="no",
                               output_dir=None, resume_from_checkpoint=None, report_to="none",
                               metrics_jsonl=None)


class ExponentialRangeTest(TrainerCallback):
    """A learning-rate range test inside one GRPO run (works with any ``GRPOTrainer``).

    Before optimizer step t the rate is set to ``lrs[t]``, a geometric ramp from ``min_lr`` to
    ``max_lr`` over ``num_steps`` steps. The batch logged at step t was sampled from the model
    after the steps with ``lrs[0..t-1]``. ``reference`` is J0, the starting model's success on an
    evaluation set (:func:`reference_success`), not the first batch; a batch of ``batch_size``
    completions has standard error ``se = sqrt(J0 (1 - J0) / batch_size)`` if nothing changed. A
    batch *drops* when its success is below ``J0 - drop_se * se``; after ``patience`` drops in a
    row the run stops. The
    rate of the update just before the first drop of that streak is ``first_failing_lr``; the one
    before it, ``largest_safe_lr`` (NaN when the first update already dropped; both NaN when
    nothing dropped up to ``max_lr``). ``report()`` returns them with the per-step history."""

    def __init__(self, min_lr: float, max_lr: float, num_steps: int, batch_size: int, *,
                 reference: float, drop_se: float = 2.0, patience: int = 2):
        if not 0 < min_lr < max_lr:
            raise ValueError(f"min_lr={min_lr!r}, max_lr={max_lr!r} are invalid: expected 0 < min_lr < max_lr")
        if num_steps < 2 or batch_size < 1 or patience < 1 or drop_se <= 0:
            raise ValueError("num_steps >= 2, batch_size >= 1, patience >= 1 and drop_se > 0 are required")
        if not 0 < reference < 1:
            raise ValueError(f"reference={reference!r} is invalid: expected J0 in (0, 1) (at J0 = 0 or 1 "
                             "GRPO's advantages vanish and there is nothing to test)")
        self.reference = float(reference)
        self.lrs = [float(x) for x in np.geomspace(min_lr, max_lr, num_steps)]
        self.batch_size, self.drop_se, self.patience = batch_size, drop_se, patience
        self.rewards: list[float] = []

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        lr = self.lrs[min(state.global_step, len(self.lrs) - 1)]
        for group in optimizer.param_groups:
            group["lr"] = lr

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "reward" not in logs:
            return
        self.rewards.append(float(logs["reward"]))
        drops = self._drops()
        if len(drops) >= self.patience and all(drops[-self.patience:]):
            control.should_training_stop = True

    def _drops(self) -> list[bool]:
        p0 = self.reference
        se = math.sqrt(p0 * (1 - p0) / self.batch_size)
        return [r < p0 - self.drop_se * se for r in self.rewards]

    def report(self) -> dict:
        drops = self._drops() if self.rewards else []
        first = next((t for t in range(len(drops) - self.patience + 1)
                      if all(drops[t:t + self.patience])), None)
        out = {"lrs": self.lrs[:max(0, len(self.rewards) - 1)], "rewards": self.rewards,
               "start": self.reference, "first_batch": self.rewards[0] if self.rewards else math.nan,
               "largest_safe_lr": math.nan, "first_failing_lr": math.nan, "stopped": first is not None}
        if first is not None:  # batch `first` was sampled after the update with lrs[first - 1]
            out["first_failing_lr"] = self.lrs[first - 1] if first >= 1 else math.nan
            out["largest_safe_lr"] = self.lrs[first - 2] if first >= 2 else math.nan
        return out


def ramp_estimate(per_seed: list[dict], max_lr: float) -> float:
    """The exponential test's answer from its per-seed reports: the lower median over seeds of
    ``largest_safe_lr``, where a seed that never dropped counts as ``max_lr`` (above the ramp) and
    one that dropped at the first update as 0 (below it). A median, so that one seed whose first
    batch happened to be high (a drop at once) or low (never a drop) cannot move the answer far;
    NaN when the median seed is below the ramp."""
    safe = sorted(max_lr if not r["stopped"] else (r["largest_safe_lr"] if r["largest_safe_lr"] == r["largest_safe_lr"]
                                                   else 0.0) for r in per_seed)
    est = safe[(len(safe) - 1) // 2] if safe else math.nan
    return est if est > 0 else math.nan


def exponential_range_test(cfg, min_lr: float, max_lr: float, num_steps: int, seeds=(0,),
                           run=None, reference: dict | None = None, **rule) -> dict:
    """:class:`ExponentialRangeTest` once per seed against ``reference`` (default
    :func:`reference_success`); the answer is :func:`ramp_estimate`."""
    ref = reference or reference_success(cfg)
    per_seed = []
    for s in seeds:
        c = short_run_config(cfg, min_lr, num_steps, s)
        cb = ExponentialRangeTest(min_lr, max_lr, num_steps,
                                  c.per_device_train_batch_size * c.gradient_accumulation_steps,
                                  reference=ref["success"], **rule)
        (run or (lambda c, cb: run_grpo(c, progress=False, callbacks=[cb])))(c, cb)
        per_seed.append({"seed": int(s), **cb.report()})
    return {"min_lr": min_lr, "max_lr": max_lr, "num_steps": num_steps, "rule": rule, "reference": ref,
            "per_seed": per_seed, "censored": sum(not r["stopped"] for r in per_seed),
            "dropped_at_once": sum(r["stopped"] and r["largest_safe_lr"] != r["largest_safe_lr"]
                                   for r in per_seed),
            "largest_safe_lr": ramp_estimate(per_seed, max_lr)}


def range_test_cached(cfg, lrs, steps: int, seeds=(0,), *, refresh: bool = False,
                      compute: bool = True, results_dir=None) -> dict | None:
    """:func:`range_test` stored in ``results/llm/range_test/`` and reused (key: the request)."""
    request = {"method": "grid", "config": cfg.stable_dict(), "lrs": list(map(float, lrs)),
               "steps": steps, "seeds": list(map(int, seeds)), "reference": reference_request(cfg)}
    return stored_result("range_test", cfg, request,
                         lambda: range_test(cfg, lrs, steps, seeds,
                                            reference=reference_success(cfg, results_dir=results_dir)),
                         refresh=refresh, allow_compute=compute, results_dir=results_dir)


def exponential_range_test_cached(cfg, min_lr: float, max_lr: float, num_steps: int, seeds=(0,), *,
                                  refresh: bool = False, compute: bool = True, results_dir=None
                                  ) -> dict | None:
    """:func:`exponential_range_test` stored in ``results/llm/range_test/`` and reused."""
    request = {"method": "exponential", "config": cfg.stable_dict(), "min_lr": min_lr,
               "max_lr": max_lr, "num_steps": num_steps, "seeds": list(map(int, seeds)),
               "reference": reference_request(cfg)}
    return stored_result("range_test", cfg, request,
                         lambda: exponential_range_test(cfg, min_lr, max_lr, num_steps, seeds,
                                                        reference=reference_success(cfg, results_dir=results_dir)),
                         refresh=refresh, allow_compute=compute, results_dir=results_dir)


# The plans that validated the margin on SmolLM2 (notebook 10, sections 6 and 7): the first for the answers
# of the earlier test (J0 from the first batch), the second for this test's; MARGIN_PLAN is the
# one that speaks for the current test.
MARGIN_PLANS = ("smollm2_margin", "smollm2_margin_evalref")
MARGIN_PLAN = MARGIN_PLANS[-1]


def margin() -> dict:
    """The margin to divide a range test's answer by, and the horizons it was chosen and validated
    for, read from its pre-registered plan (the one place they are written)."""
    from .plans import load_plan, plan_path

    plan = load_plan(plan_path(MARGIN_PLAN))
    return {"margin": float(plan.analysis["margin"]), "chosen_steps": int(plan.analysis["horizon_tiny"]),
            "validated_steps": max(c.max_steps for c in plan.configs)}


def recommendation(answer: float) -> str:
    """The line that turns an answer into a learning rate: answer / margin, with its horizons."""
    m = margin()
    if not math.isfinite(answer):
        return "recommended learning rate: none (no rate passed; start the test lower)"
    return (f"recommended learning rate: {answer / m['margin']:.3g} (the answer / {m['margin']:g}; margin "
            f"chosen on the tiny model for {m['chosen_steps']} steps, validated on SmolLM2 with SGD and "
            f"AdamW for {m['validated_steps']} steps: notebook 10, section 7; longer runs are not covered)")


def _reference_line(out: dict) -> str:
    ref = out["reference"]
    return (f"reference J0 = {ref['success']:.3f} ± {ref['se']:.3f} (the starting model on the "
            f"{ref['source']}, {ref['n']} replies)")


def summary(out: dict) -> str:
    """The table a person reads after either range test, and the recommended learning rate."""
    if "per_seed" in out:
        lines = [f"exponential ramp {out['min_lr']:.3g} -> {out['max_lr']:.3g} over {out['num_steps']} steps",
                 _reference_line(out)]
        for r in out["per_seed"]:
            lines.append(f"  seed {r['seed']}: first batch {r['first_batch']:.3f}; "
                         + (f"dropped after lr {r['first_failing_lr']:.3g}, largest safe {r['largest_safe_lr']:.3g}"
                            if r["stopped"] and r["largest_safe_lr"] == r["largest_safe_lr"] else
                            f"dropped after the first update (lr {r['first_failing_lr']:.3g})" if r["stopped"]
                            else "never dropped"))
        lines.append(f"largest safe learning rate (median over seeds): {out['largest_safe_lr']:.4g}")
        lines.append(recommendation(out["largest_safe_lr"]))
        return "\n".join(lines)
    lines = [_reference_line(out),
             f"pass: the seeds' mean batch success after {out['steps']} steps >= J0 - {out['start_se']:.3f} "
             f"(one standard error) = {out['threshold']:.3f}"]
    for r in out["rows"]:
        lines.append(f"  lr {r['learning_rate']:<10.4g} success {r['success_after']:.3f}  "
                     f"{'pass' if r['passed'] else 'FAIL'}")
    lines.append(f"largest passing learning rate: {out['largest_passing_lr']:.4g} "
                 f"(first failure: {out['first_failing_lr']:.4g})")
    lines.append(recommendation(out["largest_passing_lr"]))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--lrs", required=True, help="comma list, or low:high:count (geometric)")
    ap.add_argument("--steps", type=int, default=4, help="k, the optimizer steps of each run")
    ap.add_argument("--seeds", default="0", help="comma list of seeds")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--output", default=None, help="JSON file for the table")
    ap.add_argument("--reference", default=None, metavar="J0:N",
                    help="the starting model's success J0 measured on N replies of your evaluation set "
                         "(default: measured here on the task's evaluation set and stored)")
    ap.add_argument("--exponential", action="store_true",
                    help="one run per seed with a geometric ramp low:high over count steps")
    a = ap.parse_args(argv)
    try:
        cfg, _ = load_config(a.config, a.set)
        lrs = parse_lrs(a.lrs)
        seeds = [int(s) for s in a.seeds.split(",")]
        if a.steps < 1:
            raise ValueError(f"--steps {a.steps} is invalid: expected >= 1")
        dataclasses.replace(cfg, max_steps=a.steps + 1).validate(world_size())
        ref = given_reference(a.reference) if a.reference else None
        if ref is None:
            reference_request(cfg)           # a task without a built-in evaluation set: say so now
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.exponential and ":" not in a.lrs:
        print("error: --exponential needs --lrs low:high:count", file=sys.stderr)
        return 2
    ref = ref or reference_success(cfg)
    if a.exponential:
        out = exponential_range_test(cfg, lrs[0], lrs[-1], len(lrs), seeds, reference=ref)
    else:
        out = range_test(cfg, lrs, a.steps, seeds, reference=ref)
    if int(os.environ.get("RANK", "0")) == 0:
        print(summary(out))
        if a.output:
            Path(a.output).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(a.output), json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
