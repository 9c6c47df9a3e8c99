"""The pre-registered SmolLM2 test at the 128-token cap: its prediction, its rule and its verdict.

Fixed in ``docs/preregistration/smollm2_cap128_midpoints.md`` before the midpoint runs started;
``scripts/cap128_midpoints.py`` (runs) and notebook 09 (report) both read it from here, so the
rule cannot drift between the two. Nothing in this module may change after the runs are seen.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from rlvr_core.stats.thresholds import Bracket, bracket_from_seeds

# The bracket midpoints of the 30 earlier runs, and the seeds.
MIDPOINTS = {"grpo": (0.017, 0.055), "dr_grpo": (0.17, 0.55)}
SEEDS = (0, 1, 2)
# A seed is collapsed when its replies end mostly at the cap (mean clipped fraction over the last
# LAST steps >= CAP_SHARE: a truncated, repeating reply can still end with the right number, which
# the verifier rewards) or when its last-LAST success falls below J0 - 2 s.e.; a rate is stable
# when >= STABLE_SEEDS of its 3 seeds are, and only rates with all 3 seeds count.
LAST, CAP_SHARE, STABLE_SEEDS, SE_MULT = 5, 0.5, 2, 2.0
# The prediction holds when the refined ratio lies in [min step-1 ratio / REFINED_STEP,
# max step-1 ratio * REFINED_STEP]: after the midpoints each bracket is one x1.8 step wide.
REFINED_STEP = 1.8
# The pre-registered numbers, recomputed by ``step1_ratios`` (a test checks they agree). The band
# is the pre-registered expression [3.64 / 1.8, 5.67 x 1.8] = [2.02, 10.2] (the file rounds its
# upper end to 10.3, a slip; no outcome the midpoints allow lies between 10.2 and 10.3).
_RANGE = (3.64, 5.67)
PREDICTED = {"median": 3.93, "range": _RANGE, "band": (_RANGE[0] / REFINED_STEP, _RANGE[1] * REFINED_STEP)}


def is_cap128_sgd(run: dict, cap: int = 128) -> bool:
    c = run["config"]
    return c.get("max_completion_length") == cap and c["optim"] == "sgd"


def step1_ratios(runs: list[dict]) -> dict[int, float]:
    """Per seed, ||grad|| of grpo over dr_grpo at step 1 on CPU. Same seed, same device: the same
    sampled batch, so the ratio is the factor by which grpo's 1/|o| normaliser scales the step.
    Only the stored runs at the earlier grid (not the midpoints) were used for the prediction."""
    norm = {}
    for r in runs:
        c = r["config"]
        if r["provenance"].get("device") == "cpu" and c["learning_rate"] not in sum(MIDPOINTS.values(), ()):
            norm.setdefault((c["loss_type"], c["seed"]), r["metrics"][0]["grad_norm"])
    return {s: norm[("grpo", s)] / norm[("dr_grpo", s)] for s in SEEDS
            if ("grpo", s) in norm and ("dr_grpo", s) in norm}


def seed_stable(run: dict, cut: float) -> bool:
    """The rule on one run: not mostly at the cap, and last-LAST success at least ``cut``."""
    last = run["metrics"][-LAST:]
    at_cap = np.mean([m["completions/clipped_ratio"] for m in last])
    success = np.mean([m["reward"] for m in last])
    return bool(at_cap < CAP_SHARE and success >= cut)


def verdicts(runs: list[dict], cut: float) -> dict[str, dict[float, list[bool]]]:
    """loss type -> rate -> per-seed stable flags (seed order)."""
    out: dict[str, dict[float, dict[int, bool]]] = {}
    for r in runs:
        c = r["config"]
        out.setdefault(c["loss_type"], {}).setdefault(c["learning_rate"], {})[c["seed"]] = seed_stable(r, cut)
    return {lt: {lr: [v[s] for s in sorted(v)] for lr, v in sorted(by.items())} for lt, by in out.items()}


def bracket(by_rate: dict[float, list[bool]]) -> Bracket:
    """First-failure bracket over the rates with all seeds; a rate passes on a majority."""
    full = {lr: v for lr, v in by_rate.items() if len(v) == len(SEEDS)}
    if not full:
        return Bracket(math.nan, math.nan)
    # with 3 seeds, ">= 2 stable" is the majority vote of bracket_from_seeds' default band
    return bracket_from_seeds([v for v in full.values()], list(full))


def fisher_greater(d_stable: int, d_n: int, g_stable: int, g_n: int) -> float:
    """One-sided Fisher exact p that dr_grpo's seeds are more often stable than grpo's."""
    from scipy.stats import fisher_exact

    return float(fisher_exact([[d_stable, d_n - d_stable], [g_stable, g_n - g_stable]],
                              alternative="greater").pvalue)


@dataclasses.dataclass(frozen=True)
class Verdict:
    by_rate: dict            # loss type -> rate -> per-seed stable flags
    brackets: dict           # loss type -> Bracket
    ratio: float             # dr_grpo estimate / grpo estimate
    midpoint_runs: int       # of len(SEEDS) * 4 pre-registered runs stored
    sanity: dict             # "grpo 0.017 stable", "dr_grpo 0.55 collapsed": True/False/None (not run)
    same_rate: list          # (rates, dr_grpo (stable, n), grpo (stable, n), p)

    @property
    def complete(self) -> bool:
        return self.midpoint_runs == len(SEEDS) * sum(len(v) for v in MIDPOINTS.values())

    @property
    def holds(self) -> bool | None:
        """The pre-registered criterion on the ratio; None until every midpoint run is stored."""
        if not self.complete or not np.isfinite(self.ratio):
            return None
        lo, hi = PREDICTED["band"]
        return bool(lo <= self.ratio <= hi)


def evaluate(runs: list[dict], cut: float) -> Verdict:
    """The rule applied to every stored 128-token SGD run (``cut`` = J0 - 2 s.e.)."""
    runs = [r for r in runs if is_cap128_sgd(r)]
    by_rate = verdicts(runs, cut)
    brackets = {lt: bracket(v) for lt, v in by_rate.items()}
    est = {lt: b.estimate for lt, b in brackets.items()}
    ratio = est.get("dr_grpo", math.nan) / est.get("grpo", math.nan)
    n_mid = sum(len(by_rate.get(lt, {}).get(lr, [])) for lt, lrs in MIDPOINTS.items() for lr in lrs)

    def majority(lt, lr, stable):
        flags = by_rate.get(lt, {}).get(lr, [])
        if len(flags) < len(SEEDS):
            return None
        return (sum(flags) >= STABLE_SEEDS) == stable

    sanity = {"grpo 0.017 stable": majority("grpo", 0.017, True),
              "dr_grpo 0.55 collapsed": majority("dr_grpo", 0.55, False)}
    shared = sorted(set(by_rate.get("grpo", {})) & set(by_rate.get("dr_grpo", {})))
    same_rate = []
    for rates in [[r] for r in shared] + [[r for r in shared if r >= 0.1]]:
        d = [sum(sum(by_rate["dr_grpo"][r]) for r in rates), sum(len(by_rate["dr_grpo"][r]) for r in rates)]
        g = [sum(sum(by_rate["grpo"][r]) for r in rates), sum(len(by_rate["grpo"][r]) for r in rates)]
        same_rate.append((tuple(rates), tuple(d), tuple(g), fisher_greater(*d, *g)))
    return Verdict(by_rate, brackets, ratio, n_mid, sanity, same_rate)


def report(v: Verdict) -> str:
    """The verdict in plain lines (what the script prints and the notebook checks)."""
    lines = []
    for lt, by in v.by_rate.items():
        b = v.brackets[lt]
        cells = ", ".join(f"{lr:g}: {sum(s)}/{len(s)}" for lr, s in by.items())
        lines.append(f"{lt}: stable seeds per rate {cells}; bracket ({b.last_pass:g}, {b.first_fail:g}], "
                     f"estimate {b.estimate:.3g}")
    lines.append(f"threshold ratio dr_grpo / grpo: {v.ratio:.2f} (predicted {PREDICTED['median']}, pass band "
                 f"[{PREDICTED['band'][0]:.2f}, {PREDICTED['band'][1]:.2f}])")
    lines.append(f"midpoint runs stored: {v.midpoint_runs} of {len(SEEDS) * 4}; sanity: "
                 + ", ".join(f"{k}: {'not all run' if ok is None else ok}" for k, ok in v.sanity.items()))
    for rates, d, g, p in v.same_rate:
        lines.append(f"same rate {'+'.join(f'{r:g}' for r in rates)}: stable dr_grpo {d[0]}/{d[1]}, "
                     f"grpo {g[0]}/{g[1]}; one-sided Fisher exact p = {p:.3f}")
    verdict = {None: "not yet decided (midpoint runs missing)", True: "holds", False: "fails"}[v.holds]
    lines.append(f"pre-registered verdict: the prediction {verdict}")
    return "\n".join(lines)
