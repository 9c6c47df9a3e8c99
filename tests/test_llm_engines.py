"""Multi-process engines without GPUs: the accelerate launch files in configs/accelerate are
accepted by accelerate (DDP and FSDP2), and a 2-process DDP run of the tiny config through
torchrun with gloo (the CPU stand-in for `accelerate launch --config_file ddp.yaml`)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr_core.llm.engines import check_accelerate_config

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")


def test_ddp_launch_file_is_accepted():
    out = check_accelerate_config(ROOT / "configs/accelerate/ddp.yaml")
    assert out["distributed_type"] == "MULTI_GPU" and out["mixed_precision"] == "bf16"
    assert out["num_processes"] == 8 and out["fsdp"] is None


def test_sharded_launch_file_is_accepted():
    out = check_accelerate_config(ROOT / "configs/accelerate/fsdp.yaml")
    assert out["distributed_type"] == "FSDP" and out["mixed_precision"] == "bf16"
    assert out["fsdp"] == {"version": 2, "reshard_after_forward": True, "wrap": ["Qwen2DecoderLayer"],
                           "state_dict_type": "SHARDED_STATE_DICT"}


def test_unknown_launch_keys_are_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "configs/accelerate/fsdp.yaml").read_text()
                   .replace("fsdp_version: 2", "fsdp_versoin: 2"))
    with pytest.raises(ValueError, match="fsdp_versoin"):
        check_accelerate_config(bad)
    bad.write_text("distributed_type: MULTI_GPU\nnum_gpus: 8\n")
    with pytest.raises(ValueError, match="num_gpus"):
        check_accelerate_config(bad)


def torchrun(tmp_path, *sets, nproc=2, timeout=240):
    """Run the training CLI on the tiny config in ``nproc`` CPU processes (gloo); the result JSON."""
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    out = tmp_path / "run.json"
    cmd = [str(TORCHRUN), "--nproc_per_node", str(nproc), "--standalone",
           "-m", "rlvr_core.llm.train", "--config", str(ROOT / "configs/tiny.yaml"),
           "--output", str(out)]
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLVR_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc


@pytest.mark.slow
def test_two_process_ddp_run_of_the_tiny_config(tmp_path):
    res, proc = torchrun(tmp_path, "max_steps=2")
    assert res["provenance"]["num_processes"] == 2
    assert len(res["metrics"]) == 2
    assert "done: 2 steps on 2 process(es)" in proc.stdout


def test_paper_config_builds_its_grpo_config(monkeypatch, tmp_path):
    """The Qwen config: math task, fp32 weights + bf16 autocast, checkpoints, TensorBoard, and the
    vLLM importance-sampling correction set explicitly (off: the raw step)."""
    from trl import GRPOConfig

    from rlvr_core.llm.grpo_config import grpo_config_fields
    from rlvr_core.llm.train import load_config

    cfg, _ = load_config(ROOT / "configs/qwen2.5-math-7b.yaml")
    monkeypatch.setenv("RLVR_ALLOW_HUB", "1")
    cfg.validate(8)
    assert (cfg.task, cfg.dataset_name, cfg.torch_dtype, cfg.bf16) == ("math", "openai/gsm8k", "float32", True)
    fields = grpo_config_fields(cfg, str(tmp_path))
    assert fields["vllm_importance_sampling_correction"] is False
    assert fields["vllm_importance_sampling_mode"] == "token_truncate"
    args = GRPOConfig(**{**fields, "use_cpu": True, "bf16": False})     # built on this CPU machine
    assert args.report_to == ["tensorboard"] and args.save_steps == 25 and args.save_total_limit == 3
    assert args.vllm_importance_sampling_correction is False
