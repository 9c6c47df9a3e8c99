"""Token-level sweep throughput: the vectorised answer-last simulator (lengths x step sizes x
seeds as one batch) against a plain per-run loop, measured in the same process.

The loop is timed on a subset of the runs (it is too slow for all of them) and its per-run
cost is extrapolated; the speed-up is the ratio of run-steps per second.
"""
import time

import torch

from rlvr_core.paper.token_policies import circle_token_features, start_theta
from rlvr_core.simulators.answer_last import simulate_answer_last
from rlvr_core.simulators.sim import grid_runs

LENGTHS = [1, 2, 4, 8, 16, 32, 64]
ETAS = [0.05 * 2 ** (k / 2) for k in range(27)]
SEEDS = 16
STEPS = 100
LOOP_RUNS = 24  # runs timed one at a time


def main():
    phi = circle_token_features(8)
    theta0 = start_theta(phi, 0.2)
    L, E, _ = grid_runs(LENGTHS, ETAS, torch.arange(SEEDS))
    runs = len(E)
    t0 = time.perf_counter()
    simulate_answer_last(phi, theta0, L, E, algorithm="grpo", group_size=8, steps=STEPS, seed=0)
    vec = time.perf_counter() - t0
    idx = torch.linspace(0, runs - 1, LOOP_RUNS).long()
    t0 = time.perf_counter()
    for i in idx:
        simulate_answer_last(phi, theta0, L[i:i + 1], E[i:i + 1], algorithm="grpo",
                             group_size=8, steps=STEPS, seed=int(i))
    loop = time.perf_counter() - t0
    vec_rate = runs * STEPS / vec
    loop_rate = LOOP_RUNS * STEPS / loop
    print(f"token sweep: {len(LENGTHS)} lengths x {len(ETAS)} etas x {SEEDS} seeds = {runs} runs, "
          f"{STEPS} steps, G=8")
    print(f"token sweep vectorised: {vec:.2f} s, {vec_rate:,.0f} run-steps/s")
    print(f"token sweep per-run loop ({LOOP_RUNS} runs timed): {loop_rate:,.0f} run-steps/s")
    print(f"token sweep speed-up over the loop: {vec_rate / loop_rate:.0f}x")


if __name__ == "__main__":
    main()
