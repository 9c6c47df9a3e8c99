"""Checks of the ``accelerate`` launch files in ``configs/accelerate`` without GPUs: the file is
read the way ``accelerate launch --config_file`` reads it (unknown top-level keys are an error),
every ``fsdp_config`` key must be a launch option accelerate knows, the launch environment is
derived exactly as accelerate derives it (pretending ``num_gpus`` CUDA devices), and for FSDP the
plugin is built from that environment (which checks the values: version, wrap policy, ...).

The launch lines written in a config's header (``#   accelerate launch ... -m
rlvr_core.llm.train --config configs/x.yaml``, a trailing ``\\`` continues a line) are checked
by :func:`check_launch_line`: the files they name exist, the launch file is accepted, and the
engine suits the run config (:func:`engine_problems`).

    python -m rlvr_core.llm.engines configs/accelerate/*.yaml
    python -m rlvr_core.llm.engines --launch-lines configs/*.yaml
"""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from unittest import mock

ENTRY = "rlvr_core.llm.train"
LAUNCHERS = ("python", "torchrun", "accelerate")


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


def launch_lines(path) -> list[str]:
    """The launch lines of a file's leading comment block (``#`` lines before the first field):
    each command that runs ``-m rlvr_core.llm.train``, continuation lines joined."""
    lines, current = [], None
    for raw in Path(path).read_text().splitlines():
        if not raw.startswith("#"):
            if raw.strip():
                break
            continue
        text = raw[1:].strip()
        if current is not None:
            current += " " + text.rstrip("\\").strip()
        elif text.split(" ", 1)[0] in LAUNCHERS or text.startswith("RLVR_ALLOW_HUB=1 "):
            current = text.rstrip("\\").strip()
        else:
            continue
        if not text.endswith("\\"):
            if ENTRY in current:
                lines.append(current)
            current = None
    return lines


def parse_launch_line(line: str, root=".") -> dict:
    """``{"engine", "launch_file", "num_processes", "config", "sets", "env"}`` of a launch line.
    Engines: ``single`` (python -m), ``torchrun`` (DDP, gloo on CPU / NCCL on GPUs),
    ``accelerate:<distributed_type>`` (``MULTI_GPU`` = DDP, ``FSDP``)."""
    words = shlex.split(line)
    env = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    if not words or words[0] not in LAUNCHERS:
        raise ValueError(f"launch line {line!r} is invalid: expected one of {LAUNCHERS} first")
    if ENTRY not in words or words[words.index(ENTRY) - 1] != "-m":
        raise ValueError(f"launch line {line!r} is invalid: expected -m {ENTRY}")
    head, tail = words[:words.index(ENTRY) - 1], words[words.index(ENTRY) + 1:]

    def option(ws, name, default=None):
        return ws[ws.index(name) + 1] if name in ws else default

    out = {"launcher": words[0], "launch_file": None, "env": env, "sets": [],
           "config": option(tail, "--config")}
    if out["config"] is None:
        raise ValueError(f"launch line {line!r} is invalid: expected --config <file>")
    out["sets"] = [tail[i + 1] for i, w in enumerate(tail) if w == "--set"]
    if words[0] == "python":
        out.update(engine="single", num_processes=1)
    elif words[0] == "torchrun":
        out.update(engine="torchrun", num_processes=int(option(head, "--nproc_per_node", 1)))
    else:
        if head[:2] != ["accelerate", "launch"]:
            raise ValueError(f"launch line {line!r} is invalid: expected 'accelerate launch'")
        out["launch_file"] = option(head, "--config_file")
        if out["launch_file"] is None:
            raise ValueError(f"launch line {line!r} is invalid: expected --config_file <file>")
        out["num_processes"] = int(option(head, "--num_processes", 1))
    for key in ("config", "launch_file"):
        if out[key] is not None and not (Path(root) / out[key]).exists():
            raise ValueError(f"launch line {line!r} is invalid: {out[key]} does not exist")
    if out["launch_file"] is not None:
        summary = check_accelerate_config(Path(root) / out["launch_file"], out["num_processes"])
        out["engine"] = f"accelerate:{summary['distributed_type']}"
        out["mixed_precision"] = summary["mixed_precision"]
    return out


def engine_problems(cfg, launch: dict) -> list[str]:
    """Why the run config ``cfg`` (a :class:`RunConfig`) cannot run under ``launch`` (a
    :func:`parse_launch_line` result); empty when it can."""
    problems = []
    engine = launch["engine"]
    if engine.startswith("accelerate:"):
        if cfg.use_cpu:
            problems.append("use_cpu: true trains on the CPU; accelerate's GPU launch files need "
                            "use_cpu: false (CPU processes: torchrun)")
        precision = launch.get("mixed_precision") or "no"
        if (precision == "bf16") != bool(cfg.bf16):
            problems.append(f"the launch file sets mixed_precision {precision} but the config has "
                            f"bf16: {cfg.bf16}: transformers would take the launch file's autocast "
                            "while the run's provenance records the config's")
    if engine in ("accelerate:FSDP", "accelerate:DEEPSPEED"):
        if cfg.gap_callback:
            problems.append("gap_callback: true is refused under sharded parameters (FSDP)")
        if cfg.eval_problems and cfg.task == "math":
            problems.append("eval_problems > 0 with task 'math' is refused under FSDP")
    if engine == "single" and launch["num_processes"] != 1:
        problems.append("python -m runs one process")
    return problems


def check_launch_line(line: str, root=".", config_path=None) -> dict:
    """Parse a launch line, load its config with its ``--set`` overrides, validate it for the
    line's number of processes (with the line's environment, e.g. ``RLVR_ALLOW_HUB=1``) and check
    the engine suits it; ``ValueError`` naming what is wrong. ``config_path``: the file whose
    header holds the line (the line must name it: as ``--config`` or as ``--config_file``)."""
    from .config import load_config

    launch = parse_launch_line(line, root)
    named = {(Path(root) / f).resolve() for f in (launch["config"], launch["launch_file"]) if f}
    if config_path is not None and Path(config_path).resolve() not in named:
        raise ValueError(f"launch line {line!r} is invalid in {config_path}: it names neither "
                         "that file as --config nor as --config_file")
    cfg, _ = load_config(Path(root) / launch["config"], launch["sets"])
    env = {**launch["env"]}
    if launch["engine"] == "accelerate:FSDP":
        env["ACCELERATE_USE_FSDP"] = "true"
    with mock.patch.dict(os.environ, env):
        cfg.validate(launch["num_processes"])
    problems = engine_problems(cfg, launch)
    if problems:
        raise ValueError(f"launch line {line!r} is invalid: " + "; ".join(problems))
    return {**launch, "run_config": cfg}


def main(argv=None) -> int:
    argv = list(argv if argv is not None else sys.argv[1:])
    if argv[:1] == ["--launch-lines"]:
        for f in argv[1:] or sorted(str(p) for p in Path("configs").glob("*.yaml")):
            for line in launch_lines(f):
                out = check_launch_line(line, config_path=f)
                print(f"{f}: {out['engine']} x{out['num_processes']}: ok")
        return 0
    files = argv or sorted(str(p) for p in Path("configs/accelerate").glob("*.yaml"))
    for f in files:
        print(check_accelerate_config(f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
