"""rlvr_core: the shared library of the RLVR Gradient-Gap companion (Suk & Duan, 2510.08539)."""
import warnings

# tqdm.auto falls back to text bars without ipywidgets and says so with a warning that prints a
# local path into notebook outputs; the text bars are what we want.
warnings.filterwarnings("ignore", message="IProgress not found")
from rlvr_core.paper.gap import (GapStats,  # noqa: E402 curvature_identity, exact_gap, grad_log_odds, grad_success_prob,
                  log_odds_curvature, mc_gap, mc_policy_gradient, relative_error,
                  sample_responses, score_matrix, success_prob)
from rlvr_core.paper.policies import (LogLinearPolicy,  # noqa: E402 MLPPolicy, ResponsePolicy, circle_features,
                       random_log_linear)

__all__ = ["GapStats", "LogLinearPolicy", "MLPPolicy", "ResponsePolicy", "circle_features",
           "curvature_identity", "exact_gap", "grad_log_odds", "grad_success_prob",
           "log_odds_curvature", "mc_gap", "mc_policy_gradient", "random_log_linear",
           "relative_error", "sample_responses", "score_matrix", "success_prob"]
__version__ = "0.1.0"
