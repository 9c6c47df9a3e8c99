"""Checks of the ``accelerate`` launch files in ``configs/accelerate`` without GPUs: the file is
read the way ``accelerate launch --config_file`` reads it (unknown top-level keys are an error),
every ``fsdp_config`` key must be a launch option accelerate knows, the launch environment is
derived exactly as accelerate derives it (pretending ``num_gpus`` CUDA devices), and for FSDP the
plugin is built from that environment (which checks the values: version, wrap policy, ...).

    python -m rlvr_core.llm.engines configs/accelerate/*.yaml
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from unittest import mock


def check_accelerate_config(path, num_gpus: int = 8) -> dict:
    """Summary of a launch file (``distributed_type``, ``mixed_precision``, the FSDP settings);
    ``ValueError`` when accelerate would not accept it."""
    import yaml
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    path = Path(path)
    if not path.exists():
        raise ValueError(f"config_file={str(path)!r} is invalid: no such file")
    raw = yaml.safe_load(path.read_text()) or {}
    cluster = ClusterConfig.from_yaml_file(str(path))          # raises on unknown keys
    parser = launch_command_parser()
    known = {a.dest for a in parser._actions}
    unknown = sorted(k for k in (raw.get("fsdp_config") or {}) if k not in known)
    if unknown:
        raise ValueError(f"fsdp_config keys {unknown} are invalid: accelerate has no such option")
    args = parser.parse_args(["--config_file", str(path), "--num_processes", str(num_gpus),
                              "-m", "rlvr_core.llm.train", "--config", "x.yaml"])
    with mock.patch("torch.cuda.is_available", return_value=True), \
            mock.patch("torch.cuda.device_count", return_value=num_gpus):
        args = _validate_launch_command(args)[0]
    env = prepare_multi_gpu_env(args)
    out = {"file": str(path), "distributed_type": str(cluster.distributed_type).split(".")[-1],
           "mixed_precision": env.get("ACCELERATE_MIXED_PRECISION"),
           "num_processes": args.num_processes, "fsdp": None}
    if args.use_fsdp:
        from accelerate.utils import FullyShardedDataParallelPlugin

        with mock.patch.dict(os.environ, env):
            plugin = FullyShardedDataParallelPlugin()
        out["fsdp"] = {"version": plugin.fsdp_version,
                       "reshard_after_forward": plugin.reshard_after_forward,
                       "wrap": plugin.transformer_cls_names_to_wrap,
                       "state_dict_type": str(plugin.state_dict_type).split(".")[-1]}
    return out


def main(argv=None) -> int:
    files = (argv if argv is not None else sys.argv[1:]) or sorted(
        str(p) for p in Path("configs/accelerate").glob("*.yaml"))
    for f in files:
        print(check_accelerate_config(f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
