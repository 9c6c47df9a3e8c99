"""Callbacks that record a run rather than measure it: the metrics written as they are logged
(JSONL, survives a kill), a progress bar over steps, and the final model saved in Hugging Face
format."""
from __future__ import annotations

import math

from transformers import TrainerCallback

from .distributed import process_group


class FinalModelCallback(TrainerCallback):
    """At the end of training, the model and its tokenizer in Hugging Face format in ``folder``
    (``save_pretrained``: config.json, safetensors weights, tokenizer files), reloadable with
    ``from_pretrained``. The full state dict is gathered first, so a sharded (FSDP) model is saved
    whole; only the main process writes. ``path`` is set once written."""

    def __init__(self, folder, tokenizer):
        from pathlib import Path

        self.folder, self.tokenizer, self.path = Path(folder), tokenizer, None

    def on_train_end(self, args, state, control, model=None, **kwargs):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        if process_group() is not None:
            # every process takes part in the gather (FSDP); rank 0 receives the full tensors
            sd = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True,
                                                                      cpu_offload=True))
        else:
            sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        if state.is_world_process_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(self.folder, state_dict=sd, safe_serialization=True)
            self.tokenizer.save_pretrained(self.folder)
            self.path = str(self.folder)
        if process_group() is not None:
            process_group().barrier()


class MetricsJsonlCallback(TrainerCallback):
    """Append each step's logged metrics to a JSONL file as they happen (main process only,
    flushed and fsynced), so a killed run keeps its history. Each line carries ``step`` and
    ``launch`` (an id of the process launch that wrote it). On a resumed run the lines of steps
    after the checkpoint (logged by the killed launch, then lost with it) are dropped at the
    start, so the file never holds a step twice."""

    def __init__(self, path):
        from pathlib import Path

        self.path = Path(path)
        self.launch = None

    def on_train_begin(self, args, state, control, **kwargs):
        import json
        import os
        import time

        if not state.is_world_process_zero:
            return
        self.launch = f"{os.getpid()}-{time.time_ns()}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            keep = []
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:          # a line cut by the kill
                    continue
                if rec.get("step", 0) <= state.global_step:
                    keep.append(line)
            tmp = self.path.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(k + "\n" for k in keep))
            os.replace(tmp, self.path)

    def on_log(self, args, state, control, logs=None, **kwargs):
        import json
        import os

        if not state.is_world_process_zero or not logs or "reward" not in logs:
            return
        rec = {"step": state.global_step, "launch": self.launch}
        for k, v in logs.items():
            rec[k] = v if not isinstance(v, float) or math.isfinite(v) else None
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())


class StepProgressCallback(TrainerCallback):
    """A tqdm bar over optimizer steps showing the batch success rate, on the main process only.

    TRL's own ``ProgressCallback`` also prints every log dict; this one shows only the bar, which
    disappears when the run ends (a SmolLM2 run is ~25 min on 2 cores, and silent otherwise)."""

    def __init__(self, desc: str):
        self.desc, self.bar = desc, None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=state.max_steps, desc=self.desc, leave=False)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "reward" in logs:
            self.bar.set_postfix(success=f"{logs['reward']:.2f}", refresh=False)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
