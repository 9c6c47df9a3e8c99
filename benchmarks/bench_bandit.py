"""Throughput of the batched bandit engine and its speedup over a plain per-run Python loop,
both measured in this process on the same phase-diagram grid (64 step sizes x 16 instances x
1000 iterations). The per-run loop is timed on a subset of runs and extrapolated (said below)."""
import time

import torch

from rlvr_core.simulators.instances import random_instances, random_starts, simulate_quadratic_logit
from rlvr_core.simulators.sim import make_grid, simulate, simulate_per_run

E, S, K, LOOP_RUNS = 64, 16, 1000, 8


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    etas = torch.logspace(-2, 1.5, E).tolist()
    grid = make_grid(etas, 1, S)
    phi, r = random_instances(S, 1, 8, 2, seed=0)
    th0 = random_starts(S, 2, seed=1)
    args = (phi[grid.instance], r[grid.instance], th0[grid.instance], grid.eta)
    B = len(grid.eta)
    for label, kwargs in (("population w = g", {}),
                          ("sampled GRPO, G = 8", dict(direction="grpo", group_size=8))):
        simulate(*[a[:4] for a in args], 5, **kwargs)  # warm-up
        t_batch = timed(lambda: simulate(*args, K, **kwargs))
        sub = [a[:LOOP_RUNS] for a in args]
        t_sub = timed(lambda: simulate_per_run(*sub, K, **kwargs))
        t_loop = t_sub * B / LOOP_RUNS
        print(f"bandit phase diagram ({label}): {E} etas x {S} instances x {K} iters: "
              f"{t_batch:.2f} s ({B * K / t_batch:,.0f} runs*iters/s); per-run loop: "
              f"{t_loop:.1f} s (timed on {LOOP_RUNS} runs, extrapolated to {B}); "
              f"speedup: {t_loop / t_batch:.1f}x")
    a = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    qgrid = make_grid(etas, 4, 4)
    qa, x0, y0 = a[qgrid.instance], 0.5 + 0.5 * qgrid.seed, torch.zeros(len(qgrid.eta))
    t_batch = timed(lambda: simulate_quadratic_logit(qa, x0, y0, qgrid.eta, K))
    t_sub = timed(lambda: [simulate_quadratic_logit(qa[b], x0[b], y0[b], qgrid.eta[b], K)
                           for b in range(LOOP_RUNS)])
    t_loop = t_sub * len(qgrid.eta) / LOOP_RUNS
    print(f"quadratic-logit phase diagram: {E} etas x 16 (a, x0) x {K} iters: {t_batch:.2f} s "
          f"({len(qgrid.eta) * K / t_batch:,.0f} runs*iters/s); per-run loop: {t_loop:.1f} s "
          f"(timed on {LOOP_RUNS} runs, extrapolated); speedup: {t_loop / t_batch:.1f}x")


if __name__ == "__main__":
    main()
