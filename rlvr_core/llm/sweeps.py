"""Named run sets of notebook 07 (so the notebook, the background jobs and the benchmark share
them), and the analysis of a learning-rate sweep: final success, collapse, measured threshold."""
from __future__ import annotations

import math

import numpy as np

from ..thresholds import Bracket, first_failure
from ..validation import check_grid, check_int, check_probability
from .runner import RunConfig, run_or_load


def smollm2_configs(learning_rates=(0.003, 0.03, 0.3), loss_types=("grpo",), seeds=(0,),
                    max_steps: int = 30) -> list[RunConfig]:
    """The cached SmolLM2 set: SGD, clipping off, 8 generations x 2 prompts, 24 new tokens."""
    check_grid("learning_rates", learning_rates)
    return [RunConfig(model="smollm2", task="chat_sum", digits=1, learning_rate=lr, loss_type=lt,
                      scale_rewards="group", optim="sgd", max_grad_norm=0.0, num_generations=8,
                      per_device_train_batch_size=16, max_steps=max_steps,
                      max_completion_length=24, temperature=1.0, seed=s, dataset_size=1024)
            for lt in loss_types for lr in learning_rates for s in seeds]


def smollm2_plan() -> list[RunConfig]:
    """Notebook 07's SmolLM2 set (about 25 min per run on 2 cores): ``grpo`` at four rates, a
    second seed at 0.03 (the rate where training was erratic), and ``dr_grpo`` at 0.03."""
    return (smollm2_configs(learning_rates=(0.003, 0.03, 0.1, 0.3))
            + smollm2_configs(learning_rates=(0.03,), seeds=(1,))
            + smollm2_configs(learning_rates=(0.03,), loss_types=("dr_grpo",)))


def run_all(configs, *, refresh: bool = False, progress: bool = True) -> list[dict]:
    """Run (or load from results/llm) each configuration in turn; resumable."""
    it = configs
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(configs, desc="GRPO runs", leave=False)
    return [run_or_load(c, refresh=refresh, progress=progress) for c in it]


def final_success(result: dict, last: int = 5) -> float:
    """Mean batch success over the last ``last`` steps of a run."""
    r = [m["reward"] for m in result["metrics"] if m.get("reward") is not None]
    return float(np.mean(r[-last:])) if r else math.nan


def sweep_table(results: list[dict], last: int = 5):
    """(learning rates, seeds) grid of final success from a list of runs of one setting."""
    lrs = sorted({r["config"]["learning_rate"] for r in results})
    seeds = sorted({r["config"]["seed"] for r in results})
    table = np.full((len(lrs), len(seeds)), np.nan)
    start = np.full(len(seeds), np.nan)
    for r in results:
        i, j = lrs.index(r["config"]["learning_rate"]), seeds.index(r["config"]["seed"])
        table[i, j] = final_success(r, last)
        start[j] = r["metrics"][0]["reward"]
    return np.array(lrs), np.array(seeds), table


def threshold(lrs, final, start: float, *, collapse_frac: float = 0.5) -> Bracket:
    """Measured learning-rate threshold from a sweep: a rate passes when its mean final success
    stays at or above ``collapse_frac x start`` (small rates pass: "did not collapse" is met by a
    slow run). The first-failure ``thresholds.Bracket`` over the sorted rates;
    ``.as_tuple()`` gives (geometric mean, largest stable rate, first collapsing rate)."""
    lrs = np.asarray(check_grid("lrs", list(lrs)))
    check_probability("collapse_frac", collapse_frac)
    final = np.asarray(final, dtype=float)
    if final.ndim == 2:
        final = np.nanmean(final, axis=1)
    order = np.argsort(lrs)
    return first_failure(final[order] >= collapse_frac * start, lrs[order], name="lrs")


def log_grid(lo: float, hi: float, n: int) -> list[float]:
    """``n`` rates log-spaced from ``lo`` to ``hi``, rounded to 3 significant digits."""
    check_int("n", n, minimum=2)
    return [float(f"{x:.3g}") for x in np.geomspace(lo, hi, n)]


TINY_COMMON = dict(model="tiny", task="scratchpad_sum", digits=1, num_problems=16,
                   warm_start_target=0.3, scale_rewards="group", optim="sgd", max_grad_norm=0.0,
                   num_generations=8, per_device_train_batch_size=64, max_completion_length=24,
                   temperature=1.0, dataset_size=4096)


def tiny_plan(profile: str = "default") -> dict:
    """Sizes of notebook 07's tiny-model experiments per profile."""
    if profile == "full":
        return {"lrs": log_grid(0.003, 1.0, 9), "seeds": (0, 1, 2, 3, 4), "steps": 60,
                "compare_seeds": (0, 1, 2), "lengths": (2, 16), "plateau_steps": 400,
                "plateau_lr": 0.03, "plateau_seeds": (0, 1, 2),
                "adamw_lrs": log_grid(1e-4, 0.1, 7), "adamw_seeds": (0, 1)}
    return {"lrs": log_grid(0.003, 1.0, 7), "seeds": (0, 1, 2), "steps": 30,
            "compare_seeds": (0, 1), "lengths": (2, 16), "plateau_steps": 200,
            "plateau_lr": 0.03, "plateau_seeds": (0,),
            "adamw_lrs": log_grid(1e-4, 0.1, 7), "adamw_seeds": (0,)}


def tiny_sweep_configs(plan: dict, loss_type: str, scratch_len: int, seeds) -> list[RunConfig]:
    return [RunConfig(**TINY_COMMON, scratch_len=scratch_len, learning_rate=lr,
                      loss_type=loss_type, max_steps=plan["steps"], seed=s)
            for lr in plan["lrs"] for s in seeds]


def tiny_all_configs(plan: dict) -> dict:
    """{(loss_type, scratch_len): [RunConfig]} for the main sweep and the comparison, plus
    ("plateau", L) for the long fixed-rate runs."""
    out = {}
    short, long_ = plan["lengths"]
    out[("grpo", short)] = tiny_sweep_configs(plan, "grpo", short, plan["seeds"])
    for lt in ("grpo", "dr_grpo", "dapo"):
        for L in (short, long_):
            if (lt, L) not in out:
                seeds = plan["compare_seeds"] if lt != "dapo" else plan["compare_seeds"][:1]
                out[(lt, L)] = tiny_sweep_configs(plan, lt, L, seeds)
    out[("plateau", short)] = [RunConfig(**TINY_COMMON, scratch_len=short,
                                         learning_rate=plan["plateau_lr"], loss_type="grpo",
                                         max_steps=plan["plateau_steps"], seed=s)
                               for s in plan["plateau_seeds"]]
    # what practitioners run: AdamW with gradient clipping at 1.0
    adamw = {**TINY_COMMON, "optim": "adamw_torch", "max_grad_norm": 1.0}
    out[("adamw", short)] = [RunConfig(**adamw, scratch_len=short, learning_rate=lr,
                                       loss_type="grpo", max_steps=plan["steps"], seed=s)
                             for lr in plan["adamw_lrs"] for s in plan["adamw_seeds"]]
    return out


def mean_curve(results: list[dict], key: str = "reward") -> np.ndarray:
    """Per-step mean of a metric over runs (NaN where missing)."""
    n = max(len(r["metrics"]) for r in results)
    arr = np.full((len(results), n), np.nan)
    for i, r in enumerate(results):
        vals = [np.nan if m.get(key) is None else m[key] for m in r["metrics"]]
        arr[i, :len(vals)] = vals
    return np.nanmean(arr, axis=0)


def load_cached(model: str, results_dir=None) -> list[dict]:
    """Every cached run of ``model`` in results/llm/<model>/, in ``sort_runs`` order."""
    import json
    from pathlib import Path

    from .runner import RESULTS_DIR

    folder = Path(results_dir or RESULTS_DIR) / model
    return sort_runs(json.loads(p.read_text()) for p in sorted(folder.glob("*.json")))


def sort_runs(results) -> list[dict]:
    """Runs in one fixed order (loss type, learning rate, seed), whether computed or loaded."""
    return sorted(results, key=lambda r: (r["config"]["loss_type"], r["config"]["learning_rate"],
                                          r["config"]["seed"]))
