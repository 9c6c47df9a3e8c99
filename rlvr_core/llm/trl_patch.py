"""A process-wide switch of one private TRL function, kept apart so that it is seen: TRL's fused LM
head then scores only the completion tokens on a CPU too (the kept scores are the same numbers)."""
from __future__ import annotations


def score_completions_only() -> bool:
    """Make TRL's fused LM head score only the completion tokens on every device.

    TRL (1.16) scores only the positions that carry a label on Triton devices, and every position
    elsewhere (fixed tile shapes for compilers); the prompt positions' scores are then discarded.
    On a CPU that is most of the LM head's work: SmolLM2's prompts are 44 tokens, its completions 24,
    and the 49k-vocabulary head over all positions took 9-12 s of a step against 2.7 s for the
    completions (forward and backward, 1 thread). The scores kept are the same computation.
    Returns whether the switch applies (False: this TRL has no such head)."""
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:
        return False
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        return False
    if not getattr(original, "scores_completions_only", False):
        def compact(device) -> bool:
            return device.type == "cpu" or original(device)
        compact.scores_completions_only = True
        trl_utils._use_triton = compact
    return True
