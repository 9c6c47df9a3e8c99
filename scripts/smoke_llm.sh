#!/usr/bin/env bash
# CI smoke run of the LLM entry point on the tiny config (<= 2 min on 2 CPU cores).
# Two CPU processes through torchrun (gloo): `accelerate launch --cpu --num_processes 2` starts only
# one process on CPU here (accelerate's multi-CPU mode needs MPI), so the two-process run uses
# torchrun; `accelerate launch` is exercised with one process, the same entry point as on GPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 RLVR_TORCH_THREADS=1
"$PY" -c "from rlvr_core.llm.models import warm_start_tiny; warm_start_tiny(2)"
echo "== accelerate launch files (DDP, FSDP2): read and expanded by accelerate, no GPU needed"
"$PY" -m rlvr_core.llm.engines configs/accelerate/ddp.yaml configs/accelerate/fsdp.yaml
echo "== accelerate launch, 1 CPU process"
timeout 300 "$BIN/accelerate" launch --cpu --num_processes 1 --num_machines 1 --mixed_precision no \
    --dynamo_backend no -m rlvr_core.llm.train --config configs/tiny.yaml \
    --output .cache/llm/smoke/tiny-accelerate.json
echo "== torchrun, 2 CPU processes (gloo)"
timeout 300 "$BIN/torchrun" --nproc_per_node 2 -m rlvr_core.llm.train --config configs/tiny.yaml \
    --output .cache/llm/smoke/tiny-torchrun.json
"$PY" - <<'PY'
import json
for name in ("tiny-accelerate", "tiny-torchrun"):
    r = json.load(open(f".cache/llm/smoke/{name}.json"))
    assert len(r["metrics"]) == r["config"]["max_steps"], name
    print(name, "processes:", r["provenance"]["num_processes"], "steps:", len(r["metrics"]))
r = json.load(open(".cache/llm/smoke/tiny-torchrun.json"))
assert r["provenance"]["num_processes"] == 2
for m in r["metrics"]:   # the Gradient-Gap callback's statistics of the global batch (2 processes)
    assert "gap/mixed_groups" in m and abs(m["gap/success"] - m["reward"]) < 1e-6
    print("  step", m["step"], "success", m["reward"], "mixed groups", m["gap/mixed_groups"],
          "cos(update, gap)", m["gap/cos_update_gap"])
PY
