"""One entry point for every scale:

    python -m rlvr_core.llm.train --config configs/tiny.yaml
    torchrun --nproc_per_node 2 -m rlvr_core.llm.train --config configs/tiny.yaml     # CPU, gloo
    accelerate launch --config_file configs/accelerate/fsdp.yaml --num_processes 8 \
        -m rlvr_core.llm.train --config configs/qwen2.5-math-7b.yaml                 # 8 GPUs

The YAML file holds the fields of :class:`rlvr_core.llm.config.RunConfig` (every one validated
before any model is loaded) plus an optional ``output`` (JSON file for the per-step metrics and
provenance; default ``results/llm/<model>/<key>.json``). ``--set key=value`` overrides a field.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import rlvr_core.llm  # noqa: F401  (sets HF_HUB_OFFLINE=1 first)

from rlvr_core.infra.provenance import atomic_write_text
from .config import load_config
from .device import world_size
from .runner import run_grpo
from .store import result_path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--output", default=None)
    a = ap.parse_args(argv)
    try:
        cfg, output = load_config(a.config, a.set)
        cfg.validate(world_size())
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    res = run_grpo(cfg)
    if res["provenance"]["is_main_process"]:
        out = Path(a.output or output or result_path(cfg))
        atomic_write_text(out, json.dumps(res, indent=1, sort_keys=True) + "\n")
        rewards = [m.get("reward") for m in res["metrics"]]
        print(f"done: {len(rewards)} steps on {res['provenance']['num_processes']} process(es), "
              f"{res['provenance']['seconds_per_step']:.3f} s/step, reward "
              f"{rewards[0]:.3f} -> {rewards[-1]:.3f}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
