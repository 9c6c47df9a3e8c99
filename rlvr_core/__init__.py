"""rlvr_core: the shared library of the RLVR Gradient-Gap companion (Suk & Duan, 2510.08539)."""
from .gap import (GapStats, curvature_identity, exact_gap, grad_log_odds, grad_success_prob,
                  log_odds_curvature, mc_gap, mc_policy_gradient, relative_error,
                  sample_responses, score_matrix, success_prob)
from .policies import (LogLinearPolicy, MLPPolicy, ResponsePolicy, circle_features,
                       random_log_linear)

__version__ = "0.1.0"
