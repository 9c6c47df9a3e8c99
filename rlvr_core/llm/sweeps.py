"""The run sets of notebooks 07-09, read from their plan files (configs/plans/tiny.yaml and
smollm2.yaml, which hold the grids and the reasons for them; so the notebooks, the background jobs
and the benchmark share them), and the analysis of a learning-rate sweep: final success, collapse,
measured threshold."""
from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from rlvr_core.stats.fit import mean_ci  # noqa: F401  (re-exported: rlvr_core.studies.grpo_tiny imports it from here)
from rlvr_core.stats.thresholds import Bracket, bootstrap_bracket, bracket_from_seeds, first_failure
from rlvr_core.infra.arguments import check_grid, check_int, check_probability
from .config import RunConfig, setting_label
from .plans import PlanFile, load_plan_file, plan_path
from .runner import run_or_load
from .store import RESULTS_DIR


@functools.lru_cache(maxsize=None)
def plan_file(name: str) -> PlanFile:
    """The plan file ``configs/plans/<name>.yaml`` (``tiny``, ``smollm2``), read once."""
    return load_plan_file(plan_path(name))


def smollm2_plan_runs(name: str) -> list[RunConfig]:
    """The runs, in order, of the plan ``name`` of configs/plans/smollm2.yaml (a fresh copy)."""
    plans = plan_file("smollm2").plans
    if name not in plans:
        raise ValueError(f"no SmolLM2 plan {name!r}; configs/plans/smollm2.yaml has {sorted(plans)}")
    return [dataclasses.replace(c) for c in plans[name].configs]


def smollm2_configs(learning_rates=(0.003, 0.03, 0.3), loss_types=("grpo",), seeds=(0,),
                    max_steps: int = 30) -> list[RunConfig]:
    """SmolLM2 runs on configs/plans/smollm2.yaml's shared fields (SGD, clipping off, 8
    generations x 2 prompts, 24 new tokens), loss type outermost, then rate, then seed."""
    check_grid("learning_rates", learning_rates)
    common = {**plan_file("smollm2").common, "max_steps": max_steps}
    return [RunConfig(**common, learning_rate=lr, loss_type=lt, seed=s)
            for lt in loss_types for lr in learning_rates for s in seeds]


def smollm2_plan() -> list[RunConfig]:
    """Notebook 08's first SmolLM2 set (plan ``smollm2``)."""
    return smollm2_plan_runs("smollm2")


def smollm2_seed_plan() -> list[RunConfig]:
    """Two more seeds at the first set's grpo rates, and a fifth rate (plan ``smollm2_seeds``)."""
    return smollm2_plan_runs("smollm2_seeds")


def smollm2_dr_grpo_plan() -> list[RunConfig]:
    """``dr_grpo`` on the ``grpo`` grid, three seeds, seed-major (plan ``smollm2_dr_grpo``)."""
    return smollm2_plan_runs("smollm2_dr_grpo")


def smollm2_adamw_configs(learning_rates, seeds=(0, 1), clips=(0.0, 1.0)) -> list[RunConfig]:
    """Plan ``smollm2_adamw``'s runs (AdamW, the evaluation set) at these rates, seeds and clipping
    levels: clipping off first (every seed), then on, each seed-major."""
    check_grid("learning_rates", learning_rates)
    template = plan_file("smollm2").plans["smollm2_adamw"].configs[0]
    plan = [dataclasses.replace(template, max_grad_norm=clip, seed=s, learning_rate=lr)
            for clip in clips for s in seeds for lr in learning_rates]
    return sorted(plan, key=lambda c: (c.max_grad_norm, c.seed, c.learning_rate))


def smollm2_fine_plan() -> list[RunConfig]:
    """The midpoint of each setting's bracket (plan ``smollm2_fine``)."""
    return smollm2_plan_runs("smollm2_fine")


def smollm2_long_plan(seeds=(0, 1, 2)) -> list[RunConfig]:
    """grpo and dr_grpo at the 128-token cap (plan ``smollm2_long``), the runs of ``seeds``."""
    plan = smollm2_plan_runs("smollm2_long")
    missing = sorted(set(seeds) - {c.seed for c in plan})
    if missing:
        raise ValueError(f"seeds {missing} are not in plan smollm2_long (configs/plans/smollm2.yaml)")
    return [c for c in plan if c.seed in seeds]


def rates(configs) -> tuple:
    """The distinct learning rates of ``configs``, ascending."""
    return tuple(sorted({c.learning_rate for c in configs}))


# Constants the studies read, taken from the plans (configs/plans/smollm2.yaml, where the reasons
# for each grid are): the five grpo (and dr_grpo) rates, AdamW's rates, each setting's midpoint
# rate, the cap of notebook 09, and the AdamW range test (lo, hi, steps, seeds).
SMOLLM2_LRS = rates(smollm2_dr_grpo_plan())
SMOLLM2_ADAMW_LRS = rates(smollm2_plan_runs("smollm2_adamw"))
SMOLLM2_FINE_LRS = {
    "grpo": rates(c for c in smollm2_fine_plan() if c.optim == "sgd" and c.loss_type == "grpo")[0],
    "dr_grpo": rates(c for c in smollm2_fine_plan() if c.loss_type == "dr_grpo")[0],
    "adamw": rates(c for c in smollm2_fine_plan() if c.optim == "adamw_torch")[0]}
(SMOLLM2_LONG_CAP,) = {c.max_completion_length for c in smollm2_long_plan()}
_RAMP = plan_file("smollm2").plans["smollm2_adamw"].analysis["range_test"]
SMOLLM2_ADAMW_RAMP = (_RAMP["lo"], _RAMP["hi"], _RAMP["steps"], tuple(_RAMP["seeds"]))


def smollm2_adamw_ramp(compute: bool = True) -> dict | None:
    """The stored AdamW range test on SmolLM2 (``SMOLLM2_ADAMW_RAMP``: plan ``smollm2_adamw``'s
    ``analysis.range_test`` in configs/plans/smollm2.yaml)."""
    from .range_test import exponential_range_test_cached   # imports transformers: only when asked

    # the SGD range test's configuration (notebook 10) with AdamW
    cfg = dataclasses.replace(smollm2_configs(learning_rates=(0.03,))[0], optim="adamw_torch")
    lo, hi, steps, seeds = SMOLLM2_ADAMW_RAMP
    return exponential_range_test_cached(cfg, lo, hi, steps, seeds, compute=compute)


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


# The stated rule of the tiny-model sweeps (notebooks 07 and 10), fixed before the runs:
#   J0, se  = the warm start's sampled success (``success_rate_final``, 512 completions) and its
#             binomial standard error;
#   per seed: stable when the mean success of the last 5 steps is >= J0 - SE_MULT * se,
#             collapsed otherwise;
#   per rate: passes when >= 2/3 of the seeds are stable, fails when <= 1/3, ambiguous between;
#   threshold: the first-failure bracket (rlvr_core.stats.thresholds.bracket_from_seeds) and a
#             bootstrap CI over seeds of its geometric mean.
SE_MULT = 2.0
STABLE_BAND = (1 / 3, 2 / 3)


def warm_start_J0(warm: dict) -> tuple[float, float]:
    """(J0, standard error) of a warm start record (``result["warm_start"]``): its sampled success
    over ``final_samples`` completions (older records: the count the code has always used)."""
    from .models import warm_start_final_samples

    J = float(warm["success_rate_final"])
    n = warm.get("final_samples") or warm_start_final_samples(warm["params"]["num_problems"])
    return J, math.sqrt(max(J * (1 - J), 1e-12) / n)


def seed_stable(final, start: float, se: float, *, k: float = SE_MULT) -> np.ndarray:
    """Per-seed outcome: 1.0 (stable) where the final success is >= ``start - k*se``, 0.0 where it
    is below, NaN where the run is missing (a plan still running)."""
    final = np.asarray(final, dtype=float)
    return np.where(np.isnan(final), np.nan, (final >= start - k * se).astype(float))


def threshold(lrs, final, start: float, *, se: float | None = None, collapse_frac: float = 0.5,
              band: tuple[float, float] = STABLE_BAND) -> Bracket:
    """Measured learning-rate threshold from a sweep (``final``: [rates] or [rates, seeds]).

    With ``se`` (the tiny-model rule above): a seed is stable when its final success is >=
    ``start - 2 se``; a rate passes when the stable fraction is >= ``band[1]``, fails when <=
    ``band[0]`` (``Bracket.ambiguous`` marks the rates in between). Without ``se`` (SmolLM2,
    one seed and no large-sample start): a rate passes when its mean final success stays >=
    ``collapse_frac x start``. Either way the first-failure bracket over the sorted rates;
    ``.as_tuple()`` gives (geometric mean, largest stable rate, first collapsing rate)."""
    lrs = np.asarray(check_grid("lrs", list(lrs)))
    check_probability("collapse_frac", collapse_frac)
    final = np.asarray(final, dtype=float)
    order = np.argsort(lrs)
    if se is not None:  # the stable fraction over the seeds that ran
        frac = stable_fraction(final if final.ndim == 2 else final[:, None], start, se)
        return bracket_from_seeds(frac[order][:, None], lrs[order], band, name="lrs")
    if final.ndim == 2:
        final = np.nanmean(final, axis=1)
    return first_failure(final[order] >= collapse_frac * start, lrs[order], name="lrs")


def threshold_ci(lrs, final, start: float, se: float, *, band: tuple[float, float] = STABLE_BAND,
                 n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI over seeds of the rule's threshold estimate (NaN when fewer than
    half the resamples give a finite bracket, or fewer than two seeds ran at every rate)."""
    lrs = np.asarray(check_grid("lrs", list(lrs)))
    order = np.argsort(lrs)
    out = seed_stable(np.asarray(final, dtype=float), start, se)[order]
    out = out[:, ~np.isnan(out).any(0)]  # resample only the seeds that ran at every rate
    if out.shape[1] < 2:
        return math.nan, math.nan
    ci = bootstrap_bracket(out, lrs[order], band=band, n_boot=n_boot, seed=seed, level=level)
    return float(ci[0]), float(ci[1])


def stable_fraction(final, start: float, se: float) -> np.ndarray:
    """Per rate, the fraction of the seeds that ran that the rule calls stable (NaN: none ran)."""
    out = seed_stable(final, start, se)
    ran = (~np.isnan(out)).sum(-1)
    return np.where(ran > 0, np.nansum(out, -1) / np.maximum(ran, 1), np.nan)


def by_setting(results: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by :func:`setting_label` (first-seen order)."""
    out: dict[str, list[dict]] = {}
    for r in results:
        out.setdefault(setting_label(r["config"]), []).append(r)
    return out


def sweep_summary(results: list[dict], start: float, se: float, min_ci_seeds: int = 3) -> dict:
    """The rule applied to one setting's runs: the (rates x seeds) table of final success, the
    stable fraction per rate, the bracket, its bootstrap CI, and the run counts. The CI needs
    ``min_ci_seeds`` seeds complete at every rate (NaN otherwise): two seeds have three distinct
    resamples, and a CI from them only repeats the bracket."""
    lrs, seeds, final = sweep_table(results)
    complete = int((~np.isnan(final)).all(0).sum())
    return {"lrs": lrs, "seeds": seeds, "final": final,
            "stable_fraction": stable_fraction(final, start, se),
            "bracket": threshold(lrs, final, start, se=se),
            "ci": (threshold_ci(lrs, final, start, se) if complete >= min_ci_seeds
                   else (math.nan, math.nan)),
            "runs": int((~np.isnan(final)).sum()),
            "complete_seeds": complete,
            "min_seeds": int((~np.isnan(final)).sum(1).min())}


# Fixed-rate runs: the tail (last quarter of the steps) is "flat" when the 90% t-interval over
# seeds of its least-squares slope lies inside +-FLAT_SLOPE per 100 steps, "still rising" when
# the interval lies above 0, "falling" below 0, "undetermined" otherwise.
FLAT_SLOPE = 0.05


def tail_state(low: float, high: float, flat: float = FLAT_SLOPE) -> str:
    """The fixed-rate rule's verdict from the CI (per 100 steps) of the tail slope."""
    if -flat <= low and high <= flat:
        return "flat"
    if low > 0:
        return "still rising"
    if high < 0:
        return "falling"
    return "undetermined"


def per_run_tail_slopes(results: list[dict], frac: float = 0.25, key: str = "reward") -> np.ndarray:
    """Per run, the least-squares slope (per step) of ``key`` over the last ``frac`` of its steps
    (NaN where its window logs fewer than two values). The slope of the mean curve over runs, with a
    bootstrap CI, is ``stats.fit.mean_tail_slope_ci``."""
    check_probability("frac", frac)
    out = []
    for r in results:
        y = np.array([np.nan if m.get(key) is None else m[key] for m in r["metrics"]], dtype=float)
        n = max(2, int(round(len(y) * frac)))
        t, y = np.arange(len(y))[-n:], y[-n:]
        ok = ~np.isnan(y)
        out.append(np.polyfit(t[ok], y[ok], 1)[0] if ok.sum() >= 2 else math.nan)
    return np.array(out)


def log_grid(lo: float, hi: float, n: int) -> list[float]:
    """``n`` rates log-spaced from ``lo`` to ``hi``, rounded to 3 significant digits."""
    check_int("n", n, minimum=2)
    return [float(f"{x:.3g}") for x in np.geomspace(lo, hi, n)]


TINY_COMMON = dict(plan_file("tiny").common)   # every tiny-model run (configs/plans/tiny.yaml)
TINY_SIZES = ("lrs", "seeds", "steps", "compare_seeds", "lengths", "plateau_steps", "plateau_lr",
              "plateau_seeds", "adamw_lrs", "adamw_seeds", "gap_eval_lrs", "gap_eval_seeds",
              "gap_eval_samples")


def tiny_size(value):
    """A size of configs/plans/tiny.yaml: a list is a tuple, ``{log_grid: [lo, hi, n]}`` is
    :func:`log_grid`'s list, anything else is itself."""
    if isinstance(value, dict):
        if set(value) != {"log_grid"}:
            raise ValueError(f"tiny.yaml: a mapping size must be {{log_grid: [lo, hi, n]}}, got {value!r}")
        return log_grid(*value["log_grid"])
    return tuple(value) if isinstance(value, list) else value


def tiny_plan(profile: str = "default") -> dict:
    """Sizes of notebook 07's tiny-model experiments per profile (configs/plans/tiny.yaml)."""
    sizes = plan_file("tiny").profile(profile, TINY_SIZES)
    return {k: tiny_size(sizes[k]) for k in TINY_SIZES}


def tiny_sweep_configs(plan: dict, loss_type: str, scratch_len: int, seeds) -> list[RunConfig]:
    return [RunConfig(**TINY_COMMON, scratch_len=scratch_len, learning_rate=lr,
                      loss_type=loss_type, max_steps=plan["steps"], seed=s)
            for lr in plan["lrs"] for s in seeds]


def tiny_all_configs(plan: dict) -> dict:
    """{(set, scratch_len): [RunConfig]}: the sets of configs/plans/tiny.yaml (where each is
    explained) at the sizes ``plan`` (:func:`tiny_plan`)."""
    out = {}
    short, long_ = plan["lengths"]
    out[("grpo", short)] = tiny_sweep_configs(plan, "grpo", short, plan["seeds"])
    for lt in ("grpo", "dr_grpo", "dapo"):
        for L in (short, long_):
            if (lt, L) not in out:
                out[(lt, L)] = tiny_sweep_configs(plan, lt, L, plan["compare_seeds"])
    out[("plateau", short)] = [RunConfig(**TINY_COMMON, scratch_len=short,
                                         learning_rate=plan["plateau_lr"], loss_type="grpo",
                                         max_steps=plan["plateau_steps"], seed=s)
                               for s in plan["plateau_seeds"]]
    adamw = {**TINY_COMMON, "optim": "adamw_torch", "max_grad_norm": 1.0}
    out[("adamw", short)] = [RunConfig(**adamw, scratch_len=short, learning_rate=lr,
                                       loss_type="grpo", max_steps=plan["steps"], seed=s)
                             for lr in plan["adamw_lrs"] for s in plan["adamw_seeds"]]
    out[("adamw_noclip", short)] = [dataclasses.replace(c, max_grad_norm=0.0) for c in out[("adamw", short)]]
    out[("independent_gap", short)] = [
        RunConfig(**TINY_COMMON, scratch_len=short, learning_rate=lr, loss_type="grpo",
                  max_steps=plan["steps"], seed=s, eval_problems=16,
                  eval_samples=plan["gap_eval_samples"], eval_gap=True)
        for lr in plan["gap_eval_lrs"] for s in plan["gap_eval_seeds"]]
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

    folder = Path(results_dir or RESULTS_DIR) / model
    return sort_runs(json.loads(p.read_text()) for p in sorted(folder.glob("*.json")))


def smollm2_runs(cap: int = 24, results_dir=None, steps: int = 30) -> list[dict]:
    """The stored SmolLM2 runs at one completion cap (24: the sweeps of notebook 08; 128, notebook 09:
    ``smollm2_long_plan``) and one length (30 steps: the sweeps; 60: the margin plans ``smollm2_margin*``). Runs
    at different caps or horizons are different settings, never pooled."""
    return [r for r in load_cached("smollm2", results_dir)
            if r["config"]["max_completion_length"] == cap and r["config"]["max_steps"] == steps]


def sort_runs(results) -> list[dict]:
    """Runs in one fixed order (loss type, learning rate, seed), whether computed or loaded."""
    return sorted(results, key=lambda r: (r["config"]["loss_type"], r["config"]["learning_rate"],
                                          r["config"]["seed"]))
