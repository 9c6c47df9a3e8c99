"""Logging and checkpoints: per-step JSONL written as steps happen, TensorBoard event files,
and a run killed after a checkpoint that resumes where the checkpoint left it (no step twice in
the JSONL, the steps continue)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.runner import RunConfig, last_complete_checkpoint, run_grpo

ROOT = Path(__file__).resolve().parents[1]


def test_jsonl_and_tensorboard_logs(tmp_path):
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    res = run_grpo(RunConfig(scratch_len=2, learning_rate=0.01, max_steps=2, per_device_train_batch_size=16,
                             max_completion_length=12, report_to="tensorboard",
                             output_dir=str(tmp_path / "out")), progress=False)
    lines = [json.loads(x) for x in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2]
    assert [x["reward"] for x in lines] == [m["reward"] for m in res["metrics"]]
    assert "gap/gap_norm" in lines[0]
    assert list((tmp_path / "out").rglob("events.out.tfevents.*"))
    # (bookkeeping fields never enter the key: tests/test_provenance.py)


def _launch(out_dir, max_steps):
    cmd = [sys.executable, "-m", "rlvr_core.llm.train", "--config", str(ROOT / "configs/tiny.yaml"),
           "--output", str(out_dir / "result.json"),
           "--set", f"max_steps={max_steps}", "--set", "save_strategy=steps", "--set", "save_steps=3",
           "--set", f"output_dir={out_dir}", "--set", "resume_from_checkpoint=auto",
           "--set", "report_to=none", "--set", "gap_callback=false"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RLVR_TORCH_THREADS": "1"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_kill_after_a_checkpoint_then_resume(tmp_path):
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    out, steps = tmp_path / "run", 24
    proc = _launch(out, steps)
    deadline = time.time() + 180
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "checkpoint-6" / "trainer_state.json").exists():
                break
            time.sleep(0.05)
        assert proc.poll() is None, "run ended before it could be killed: " + proc.stderr.read()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = int(Path(last_complete_checkpoint(out)).name.split("-")[1])
    before = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    print(f"killed after checkpoint-{killed_at}; the JSONL then held steps 1..{max(x['step'] for x in before)}")
    assert killed_at >= 6 and not (out / "result.json").exists()
    assert max(x["step"] for x in before) >= killed_at

    proc = _launch(out, steps)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr[-3000:]
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == list(range(1, steps + 1))        # every step once
    launches = [x["launch"] for x in lines]
    first, second = launches[0], launches[-1]
    assert first != second
    # the resumed launch starts right after the checkpoint: it did not redo steps 1..killed_at
    assert min(x["step"] for x in lines if x["launch"] == second) == killed_at + 1
    assert all(x["launch"] == first for x in lines[:killed_at])
    print(f"resumed: steps {killed_at + 1}..{steps} by the second launch; JSONL steps 1..{steps}, each once")
    res = json.loads((out / "result.json").read_text())
    assert res["provenance"]["resumed_from"].endswith(f"checkpoint-{killed_at}")
    assert [m["reward"] for m in res["metrics"]] == [x["reward"] for x in lines]


def test_resume_drops_the_lines_logged_after_the_checkpoint(tmp_path):
    from types import SimpleNamespace

    from rlvr_core.llm.run_callbacks import MetricsJsonlCallback

    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps({"step": s, "reward": 0.1 * s}) + "\n" for s in range(1, 10))
                    + '{"step": 10, "rew')                 # a line cut by the kill
    cb = MetricsJsonlCallback(path)
    cb.on_train_begin(None, SimpleNamespace(is_world_process_zero=True, global_step=6), None)
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [1, 2, 3, 4, 5, 6]
    cb.on_log(None, SimpleNamespace(is_world_process_zero=True, global_step=7), None,
              logs={"reward": 0.5, "loss": float("nan")})
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["step"] == 7 and last["loss"] is None and last["launch"] == cb.launch
