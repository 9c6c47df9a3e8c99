"""The Gradient-Gap callback when a group spans processes (per_device_train_batch_size <
num_generations, the usual setting on 8 GPUs).

The same global batch is trained twice: in one process (per_device 8, groups of 8) and in two
CPU processes through torchrun/gloo (per_device 4: every group is split across the two). So that
both runs sample the same completions, generation is replaced (here only) by row-wise sampling
with a generator seeded by the step and the completion's *global* index (rank x local batch +
row): the completions, rewards and updates are then the same, and every logged ``gap/*`` metric
must agree within float tolerance. Negative control, in the same 2-process run: a second callback
with the cross-process gather dropped (each process takes its own 4 completions as the group)
logs ``gap_control/*``, which must differ. Also: a process whose rewards do not match its batch
raises a clear error instead of contributing zeros.

Run as a script (``torchrun ... tests/test_llm_gap_span.py OUT.json PER_DEVICE``) it is the driver
of the runs."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm import callback as cb_module
from rlvr_core.llm.callback import GapGRPOTrainer, GradientGapCallback, gap_weights
from rlvr_core.llm.distributed import all_reduce_sum

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
GAP_KEYS = ("success", "mixed_groups", "update_norm", "gap_norm", "cos_update_gap", "cos_grad_gap",
            "update_dot_gap")
# seed 2: its groups split unevenly between the two halves (1 of 8 correct: 0 | 1, ...). With an
# even split (seed 0's steps were 2 | 2) pooling the halves' counts gives exactly the global
# coefficients, so there the negative control cannot differ (an identity, not a pass).
BASE = dict(model="tiny", task="scratchpad_sum", scratch_len=2, digits=1, learning_rate=0.01,
            optim="sgd", max_grad_norm=0.0, num_generations=8, max_steps=3, max_completion_length=12,
            temperature=1.0, seed=2, use_cpu=True, gap_mode="full")


class LocalGroupsCallback(GradientGapCallback):
    """Negative control: the reward gather dropped. Each process reads its own completions as the
    group (n⁺, n⁻ of its part only); the counts and partial gaps are still summed."""

    def _coefficients(self, rewards, n_batch):
        c, n = gap_weights(rewards.cpu(), rewards.numel(), normalise=False)
        n = int(all_reduce_sum(torch.tensor([float(n)], dtype=torch.float64)).item())
        return (c / n if n else c), math.nan, n


class SeededRowsTrainer(GapGRPOTrainer):
    """Generation that does not depend on how the batch is split: completion ``j`` of the global
    batch (``j = rank * local size + row``) is sampled alone with a generator seeded by (step, j)."""

    control = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.control:
            LocalGroupsCallback(self.reward_funcs[0], self.num_generations,
                                metric_prefix="gap_control/").attach(self)

    @torch.no_grad()
    def _generate_single_turn(self, prompt_ids, *args, **kwargs):
        # TRL 1.7 passes (images, multimodal_fields); later versions add num_generations and more
        model, rank, n = self.model, self.accelerator.process_index, len(prompt_ids)
        eos = getattr(self, "eos_token_ids", None) or [self._tokenizer.eos_token_id]  # TRL 1.7: none
        out = []
        for i, prompt in enumerate(prompt_ids):
            g = torch.Generator().manual_seed(100_003 * self.state.global_step + rank * n + i)
            ids, completion = torch.tensor([list(prompt)]), []
            for _ in range(self.max_completion_length):
                logits = model(input_ids=ids).logits[0, -1].float() / self.temperature
                t = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=g))
                completion.append(t)
                ids = torch.cat([ids, torch.tensor([[t]])], 1)
                if t in eos:
                    break
            out.append(completion)
        return out, None


def drive(per_device: int, control: bool = False) -> list[dict]:
    """Train BASE with ``per_device`` completions per process; the per-step gap/* metrics."""
    from rlvr_core.llm.config import RunConfig
    from rlvr_core.llm.runner import run_grpo

    SeededRowsTrainer.control = control
    original = cb_module.GapGRPOTrainer
    cb_module.GapGRPOTrainer = SeededRowsTrainer
    try:
        res = run_grpo(RunConfig(**BASE, per_device_train_batch_size=per_device), progress=False)
    finally:
        cb_module.GapGRPOTrainer = original
    return res


def _close(a, b, rel=1e-4, abs_=1e-6):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


@pytest.mark.slow
def test_split_groups_give_the_one_process_gap(tmp_path):
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    out = tmp_path / "two.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLVR_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    cmd = [str(TORCHRUN), "--nproc_per_node", "2", "--standalone", str(Path(__file__)), str(out), "4"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads(out.read_text())
    one = drive(8)
    assert two["provenance"]["num_processes"] == 2 and one["provenance"]["num_processes"] == 1
    assert len(one["metrics"]) == len(two["metrics"]) == BASE["max_steps"]
    # same samples in both runs: same rewards (TRL's own metric), then every gap/* metric
    for m1, m2 in zip(one["metrics"], two["metrics"]):
        assert m1["reward"] == pytest.approx(m2["reward"], abs=1e-9)
        for k in GAP_KEYS:
            assert _close(m1[f"gap/{k}"], m2[f"gap/{k}"]), (m1["step"], k, m1[f"gap/{k}"], m2[f"gap/{k}"])
    estimated = [m for m in one["metrics"] if m["gap/gap_norm"] is not None]
    assert estimated, "no step had a mixed group: nothing was compared"
    # negative control: without the gather the 2-process estimate is a different vector
    differs = [m2 for m1, m2 in zip(one["metrics"], two["metrics"]) if m1["gap/gap_norm"] is not None
               and not (_close(m1["gap/gap_norm"], m2["gap_control/gap_norm"], rel=1e-2)
                        and _close(m1["gap/cos_update_gap"], m2["gap_control/cos_update_gap"], rel=1e-2))]
    assert differs, "dropping the gather did not change the gap: the comparison cannot fail"


class _Trainer:
    def __init__(self, n):
        self._gap_batch = {"completion_ids": torch.zeros(n, 3, dtype=torch.long)}


class _Reward:
    last_rewards = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_rewards_that_do_not_match_the_batch_raise():
    from rlvr_core.llm.models import build_tiny_model

    model, _ = build_tiny_model(seed=0)
    cb = GradientGapCallback(_Reward(), 2)
    cb.trainer = _Trainer(4)                                  # 6 rewards, 4 completions
    with pytest.raises(RuntimeError, match="process 0 .6 rewards for 4 completions"):
        cb.on_pre_optimizer_step(None, None, None, model=model)
    cb.trainer = type("T", (), {"_gap_batch": None})()
    with pytest.raises(RuntimeError, match="no kept batch"):
        cb.on_pre_optimizer_step(None, None, None, model=model)


def test_global_coefficients_split_over_processes_sum_to_the_whole_gap():
    """Closed form: per-process partial sums with the global coefficients add up to the gap of
    the whole batch for any split of a group; local coefficients (no gather) do not."""
    torch.manual_seed(0)
    G, d = 8, 5
    rewards = torch.tensor([1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1.0])    # 2 groups of 8
    scores = torch.randn(16, d, dtype=torch.float64)
    c, _ = gap_weights(rewards, G)
    whole = c @ scores
    for split in (4, 2):                                       # 4 or 8 processes, 4 or 2 each
        parts = [c[lo:lo + split] @ scores[lo:lo + split] for lo in range(0, 16, split)]
        assert torch.allclose(sum(parts), whole, atol=1e-12)
        local = [gap_weights(rewards[lo:lo + split], split, normalise=False) for lo in range(0, 16, split)]
        n = sum(k for _, k in local)
        naive = sum(ci @ scores[lo:lo + split] for (ci, _), lo in zip(local, range(0, 16, split))) / n
        assert not torch.allclose(naive, whole, atol=1e-3)


if __name__ == "__main__":
    result = drive(int(sys.argv[2]), control=True)
    if result["provenance"]["is_main_process"]:
        Path(sys.argv[1]).write_text(json.dumps(result))
