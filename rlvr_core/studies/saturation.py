"""Notebook 05 §3: the (1 - J) factor of the sufficient step saturates when token scores are
bounded.

[derived] The sufficient step of notebook 04 §1b bounds the curvature of logit J through
Var-(u) <= E[u^2] / (1 - J) <= T G^2 |w|^2 / (1 - J). A bounded score also gives
|u| <= |s| |w| <= T G |w| for every response, hence Var-(u) <= T^2 G^2 |w|^2, and together

    Var-(u) <= T G^2 |w|^2 min(1 / (1 - J), T),
    eta_suff = a / (T |w|^2 (G^2 min(1 / (1 - J), T) + 2 L)),

which stops depending on J once 1 - J < 1 / T (for a = <w, g> of order one). This module
evaluates both sufficient steps and the exact quantities on the i.i.d.-token model of notebook 04
(V = 3, reward iff all T tokens are correct) moved towards the correct token.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from rlvr_core.infra.cache import cached
from rlvr_core.paper.gap import conditional_score_moments, grad_log_odds, log_odds_curvature
from rlvr_core.paper.token_policies import AutoregressiveLogLinear, circle_token_features, token_constants
from rlvr_core.stats.fit import loglog_slope

LENGTHS = (1, 3, 6)
OFFSET = (0.0, 0.3)          # the start offset of notebook 04 §1b's path
SCALES = np.linspace(0.0, 9.0, 10)
EXPONENT_BAND = 0.25         # |exponent - derived exponent| (fixed before the run)


def saturation_sweep() -> pd.DataFrame:
    """``_sweep`` cached (exact enumeration with autograd Hessians: the slow part)."""
    params = {"lengths": list(LENGTHS), "offset": list(OFFSET), "scales": SCALES.tolist()}
    out = cached("saturation_sweep", params, lambda: {k: v.to_numpy() for k, v in _sweep().items()})
    return pd.DataFrame(out)


def _sweep() -> pd.DataFrame:
    """Per length T and point on the path theta = c phi_0 + OFFSET, with w = g / |g| (unit):
    1 - J, a = <w, g>, Var-(u), the token constants G and L, the curvature of logit J along w by
    autograd, the two curvature bounds and the two sufficient steps."""
    phi3 = circle_token_features(3)
    rows = []
    for T in LENGTHS:
        pol = AutoregressiveLogLinear(phi3, T, "all_correct")
        for c in SCALES:
            theta = float(c) * phi3[0] + torch.tensor(OFFSET, dtype=torch.float64)
            g = grad_log_odds(pol, theta)[0]
            w = g / g.norm()
            k = token_constants(pol, theta)
            m = conditional_score_moments(pol, theta, w)
            fail = 1 - m["J"]
            G2, L = k["G_token"] ** 2, k["L_token"]
            rows.append({"T": T, "fail": fail, "a": float(g.norm()), "var_minus": m["var_minus"],
                         "bound_old": T * G2 / fail, "bound_sat": T * G2 * min(1 / fail, T),
                         "curv": float(log_odds_curvature(pol, theta, w)[0]),
                         "minus_C_sat": -T * (G2 * min(1 / fail, T) + 2 * L),
                         "eta_old": float(g.norm()) / (T * (G2 / fail + 2 * L)),
                         "eta_sat": float(g.norm()) / (T * (G2 * min(1 / fail, T) + 2 * L))})
    return pd.DataFrame(rows)


def saturation_exponents(sat: pd.DataFrame) -> pd.DataFrame:
    """Per T, over the points with 1 - J < 1 / (4 T) (deep in the saturated range, at least three):
    the fitted exponent in (1 - J) of the old sufficient step (derived: +1 when a is of order one),
    of the saturated one (derived: 0) and of the exact local step a / |phi''| (no derived value)."""
    rows = []
    for T, g in sat.groupby("T"):
        deep = g[g.fail < 1 / (4 * T)]
        if len(deep) < 3:
            continue
        rows.append({"T": T, "points": len(deep),
                     "old sufficient step": loglog_slope(deep.fail, deep.eta_old),
                     "saturated sufficient step": loglog_slope(deep.fail, deep.eta_sat),
                     "exact local a/|phi''|": loglog_slope(deep.fail, deep.a / deep.curv.abs()),
                     "exponent of a": loglog_slope(deep.fail, deep.a)})
    return pd.DataFrame(rows)


def saturation_verdict(sat: pd.DataFrame, ex: pd.DataFrame) -> str:
    """The sentence of the proposition's check, from the measured quantities."""
    holds = bool((sat.var_minus <= sat.bound_sat + 1e-12).all() and (sat.curv >= sat.minus_C_sat - 1e-9).all())
    flat = bool((ex["saturated sufficient step"].abs() <= EXPONENT_BAND).all())
    old = bool(((ex["old sufficient step"] - 1).abs() <= EXPONENT_BAND).all())
    lo, hi = ex["saturated sufficient step"].min(), ex["saturated sufficient step"].max()
    return ("[measured] On the i.i.d.-token model (T = %s) the saturated bound on Var-(u) and the "
            "curvature bound built on it %s at every point; below 1 - J = 1/(4T) the saturated "
            "sufficient step has exponent %+.2f .. %+.2f in (1 - J) (%s), the old one %+.2f .. %+.2f "
            "(%s)." % (", ".join(str(t) for t in ex["T"]), "hold" if holds else "FAIL somewhere", lo, hi,
                       "flat, as derived" if flat else "NOT flat",
                       ex["old sufficient step"].min(), ex["old sufficient step"].max(),
                       "the (1 - J) factor, as derived" if old else "NOT the derived +1"))


def plot_saturation(sat: pd.DataFrame):
    """Both sufficient steps and the exact local step against 1 - J, one colour per T, with the
    crossovers 1 - J = 1 / T marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.6, 4.2), layout="constrained")
    for (T, g), col in zip(sat.groupby("T"), ("C0", "C1", "C2")):
        ax.loglog(g.fail, g.eta_sat, "o-", ms=3, color=col, label=f"$T={T}$: saturated bound")
        ax.loglog(g.fail, g.eta_old, "--", color=col, lw=1, label=f"$T={T}$: bound with $1/(1-J)$")
        ax.loglog(g.fail, g.a / g.curv.abs(), ":", color=col, lw=1, label=f"$T={T}$: exact $a/|\\varphi''|$")
        ax.axvline(1 / T, color=col, lw=0.5, alpha=0.6)
    ax.invert_xaxis()
    ax.set(xlabel="failure rate $1-J$", ylabel="step size along $w=g/\\|g\\|$",
           title="bounded token scores: the sufficient step stops shrinking below $1-J=1/T$")
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def quadratic_logit_safe_steps(a: float = 1.0, x: float = 0.5, ys=(0.0, 2.0, 4.0, 6.0, 8.0, 10.0)) -> dict:
    """The quadratic-logit bandit of notebook 03 (G_o = infinity): the exact one-step safe step
    along g, line-searched on ``stagnation.FINE``, at fixed x and growing y (J -> 1), against the
    closed form 1/a + 1/(4 a^3 x^2), which does not depend on y (hence not on J at fixed x)."""
    from rlvr_core.simulators.instances import QuadraticLogitPolicy
    from rlvr_core.studies.stagnation import FINE, safe_step_along_gap

    thetas = torch.tensor([[x, y] for y in ys], dtype=torch.float64)
    out = safe_step_along_gap(QuadraticLogitPolicy(a), thetas, FINE)
    return {"fail": out["fail"], "safe": out["safe"], "closed_form": 1 / a + 1 / (4 * a ** 3 * x ** 2),
            "grid_ratio": float(FINE[1] / FINE[0]), "a": a, "x": x}


def quadratic_logit_line(q: dict) -> str:
    """The measured safe steps at each 1 - J next to the closed form."""
    pts = ", ".join(f"{f:.1e}: {s:.3g}" for f, s in zip(q["fail"], q["safe"]))
    return (f"[measured] quadratic-logit bandit, a = {q['a']:g}, x = {q['x']:g}: one-step safe step "
            f"along g at 1 - J = {pts}; closed form 1/a + 1/(4 a^3 x^2) = {q['closed_form']:.3g} "
            "at every J.")
