"""The token-level names the notebooks import, in one place. The code lives by concept:
``token_policies`` (policies and closed-form circle models), ``answer_last`` (the sampled
engine), ``sim.grid_runs`` (run grids) and ``thresholds`` (threshold reads)."""
from rlvr_core.simulators.answer_last import (LENGTH_MODES, SCHEDULES, direction_statistics,  # noqa: F401
                          exact_gap_runs, run_direction, sample_answer_last,
                          simulate_answer_last, summarise_runs, sweep_answer_last)
from rlvr_core.stats.fit import loglog_slope  # noqa: F401
from rlvr_core.simulators.sim import grid_runs  # noqa: F401
from rlvr_core.stats.thresholds import one_step_safe_eta, threshold_from_final  # noqa: F401
from rlvr_core.paper.token_policies import (MAX_SEQUENCES, REWARD_RULES, AutoregressiveLogLinear,  # noqa: F401
                             AutoregressiveMLP, check_length, check_start_success,
                             check_vocab_size, circle_token_features, curvature_bound,
                             enumerate_sequences, model_gap, model_success, sequence_rewards,
                             start_theta, token_constants, token_probs)
