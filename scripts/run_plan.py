"""Run a named plan of GRPO runs in the background, one run at a time, each stored in
results/llm/<model>/<key>.json as soon as it finishes (resumable: stored runs are skipped).

    RLVR_TORCH_THREADS=1 nohup .venv/bin/python scripts/run_plan.py smollm2_seeds > build/plan.log 2>&1 &
    RLVR_TORCH_THREADS=1 nohup .venv/bin/python scripts/run_plan.py configs/plans/tiny_horizon.yaml > build/horizon.log 2>&1 &

A plan is a name below or the path of a one-plan file (YAML, ``rlvr_core.llm.plans``: shared
fields, a grid, and the analysis block the runner ignores).

Plans (configs/plans/smollm2.yaml, which says why each grid is what it is): smollm2 (notebook
08's SmolLM2 set), smollm2_seeds (two more seeds per grpo rate), smollm2_dr_grpo (dr_grpo on the
grpo grid, three seeds), smollm2_adamw (AdamW, clipping off and 1.0, two seeds), smollm2_adamw_ramp
(the exponential range test with AdamW, which chose those rates), smollm2_fine (the midpoint of
each setting's bracket), smollm2_long (grpo and dr_grpo at a 128-token cap, notebook 09); and tiny
(notebook 07's tiny-model set, configs/plans/tiny.yaml). Commit the new result files when it is
done. ``--workers N`` runs N runs at a time in separate processes (a GPU, or a
many-core machine; on a 2-core machine one process per core is what the plans were timed with);
``--reverse`` starts from the plan's end, so a second job on the same plan meets the first.
``--lrs``, ``--seeds`` and ``--loss-types`` run only part of a plan (say, a second seed at the rates
around one loss type's bracket first); the rest stays for a later job.
"""
from __future__ import annotations

import argparse
import functools
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.evaluation import starting_success
from rlvr_core.llm.runner import run_or_load
from rlvr_core.llm.store import result_path
from rlvr_core.llm.sweeps import (plan_file, smollm2_adamw_ramp, smollm2_plan_runs, tiny_all_configs,
                                  tiny_plan)

# every plan of configs/plans/smollm2.yaml by its name, the AdamW range test, and notebook 07's set
PLANS = {**{name: functools.partial(smollm2_plan_runs, name) for name in plan_file("smollm2").plans},
         "smollm2_adamw_ramp": lambda: [],
         "tiny": lambda: [c for cs in tiny_all_configs(tiny_plan()).values() for c in cs]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("plan", help=f"a plan file (.yaml) or one of {sorted(PLANS)}")
    ap.add_argument("--workers", type=int, default=1, help="runs at a time (default 1)")
    ap.add_argument("--reverse", action="store_true",
                    help="last run first: a second job on the same plan meets the first in the middle")
    ap.add_argument("--lrs", type=float, nargs="+", help="only the plan's runs at these learning rates")
    ap.add_argument("--seeds", type=int, nargs="+", help="only the plan's runs with these seeds")
    ap.add_argument("--loss-types", nargs="+", help="only the plan's runs with these loss types")
    a = ap.parse_args(argv)
    if a.plan == "smollm2_adamw_ramp":
        t0 = time.perf_counter()
        out = smollm2_adamw_ramp()
        print(f"AdamW ramp: largest safe lr {out['largest_safe_lr']:.3g} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        return 0
    configs = plan_configs(a.plan)
    if a.plan.startswith("smollm2"):
        t0 = time.perf_counter()
        j0 = starting_success(configs[0])
        print(f"starting success {j0['success']:.3f} ± {j0['se']:.3f} ({j0['n']} completions, "
              f"{time.perf_counter() - t0:.0f} s)", flush=True)
    todo = runs_to_do(configs, lrs=a.lrs, seeds=a.seeds, loss_types=a.loss_types, reverse=a.reverse)
    print(f"{a.plan}: {len(configs)} runs, {len(todo)} to run, {a.workers} at a time", flush=True)
    if a.workers == 1:
        for i, c in enumerate(todo, 1):
            print(f"[{i}/{len(todo)}] {run_one(c)}", flush=True)
        return 0
    # spawn, not fork: each worker initialises its own torch (and CUDA context); a failed run is
    # reported and the others go on
    ctx = multiprocessing.get_context("spawn")
    failed = 0
    with ProcessPoolExecutor(a.workers, mp_context=ctx) as pool:
        futures = {pool.submit(run_one, c): c for c in todo}
        for i, f in enumerate(as_completed(futures), 1):
            try:
                line = f.result()
            except Exception as e:  # noqa: BLE001  (one run's failure must not stop the plan)
                failed += 1
                c = futures[f]
                line = f"lr {c.learning_rate} {c.loss_type} seed {c.seed}: FAILED {e!r}"
            print(f"[{i}/{len(todo)}] {line}", flush=True)
    return 1 if failed else 0


def plan_configs(plan: str) -> list:
    """The runs of a named plan or of a plan file (a path ending in .yaml/.yml)."""
    if plan.endswith((".yaml", ".yml")):
        from rlvr_core.llm.plans import load_plan
        return load_plan(plan).configs
    if plan not in PLANS:
        raise SystemExit(f"unknown plan {plan!r}: expected a .yaml plan file or one of {sorted(PLANS)}")
    return PLANS[plan]()


def runs_to_do(configs, *, lrs=None, seeds=None, loss_types=None, reverse: bool = False,
               stored=lambda c: result_path(c).exists()):
    """The plan's runs not stored yet, in plan order (``reverse``: last first), restricted to the
    learning rates ``lrs``, the seeds ``seeds`` and the loss types ``loss_types`` when given. A
    value the plan does not hold is an error, not an empty job."""
    filters = (("--lrs", lrs, "learning_rate"), ("--seeds", seeds, "seed"),
               ("--loss-types", loss_types, "loss_type"))
    for name, wanted, field in filters:
        have = {getattr(c, field) for c in configs}
        unknown = sorted(set(wanted or ()) - have)
        if unknown:
            raise SystemExit(f"{name} {unknown} not in this plan (it has {sorted(have)})")
    todo = [c for c in configs if not stored(c)
            and all(wanted is None or getattr(c, field) in wanted for _, wanted, field in filters)]
    return todo[::-1] if reverse else todo


def run_one(c) -> str:
    """Train (or load) one run and say how it ended."""
    t0 = time.perf_counter()
    res = run_or_load(c, progress=False)
    return (f"lr {c.learning_rate} {c.loss_type} {c.optim} seed {c.seed}: final success "
            f"{res['metrics'][-1]['reward']:.2f}, {time.perf_counter() - t0:.0f} s -> {result_path(c)}")


if __name__ == "__main__":
    sys.exit(main())
