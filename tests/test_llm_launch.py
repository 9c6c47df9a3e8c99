"""Every config header's launch lines (configs/*.yaml and configs/accelerate/*.yaml): the files
they name exist, the launch file is accepted by accelerate, the config validates for the line's
number of processes with the line's --set overrides and environment, and the engine suits it.
Negative controls: lines that name a missing file, run the callback under FSDP, or mix the
launch file's bf16 autocast with a bf16: false config are refused."""
from pathlib import Path

import pytest

from rlvr_core.llm.engines import check_launch_line, launch_lines

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
FSDP = ("RLVR_ALLOW_HUB=1 accelerate launch --config_file configs/accelerate/fsdp.yaml "
        "--num_processes 8 -m rlvr_core.llm.train --config configs/qwen2.5-math-7b.yaml")


@pytest.mark.parametrize("path", CONFIGS + sorted((ROOT / "configs/accelerate").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_header_launch_line_is_correct(path, monkeypatch):
    monkeypatch.delenv("RLVR_ALLOW_HUB", raising=False)       # the line must carry what it needs
    monkeypatch.chdir(ROOT)
    lines = launch_lines(path)
    assert lines, f"{path.name} has no launch line in its header"
    engines = [check_launch_line(line, ROOT, config_path=path)["engine"] for line in lines]
    if path.parent.name == "configs" and path.name.startswith("qwen"):
        assert set(engines) == {"accelerate:FSDP"}, engines      # 7B: sharded only
    if path.name in ("tiny.yaml", "smollm2-135m.yaml"):
        assert {"single", "torchrun"} <= set(engines), engines


def test_every_run_config_has_a_header_line_for_itself(monkeypatch):
    monkeypatch.delenv("RLVR_ALLOW_HUB", raising=False)
    for path in CONFIGS:
        named = {check_launch_line(line, ROOT, config_path=path)["config"] for line in launch_lines(path)}
        assert f"configs/{path.name}" in named, path.name


def test_continued_lines_are_joined(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("# intro\n#   python -m rlvr_core.llm.train \\\n#       --config configs/tiny.yaml\n"
                 "# prose naming python -m without a command\nmodel: tiny\n#   python -m rlvr_core.llm.train\n")
    assert launch_lines(f) == ["python -m rlvr_core.llm.train --config configs/tiny.yaml"]


@pytest.mark.parametrize("line, match", [
    (FSDP.replace("fsdp.yaml", "zero3.yaml"), "zero3.yaml does not exist"),
    (FSDP.replace("qwen2.5-math-7b.yaml", "qwen-missing.yaml"), "does not exist"),
    (FSDP + " --set gap_callback=true", "gap_callback: true is refused"),
    (FSDP.replace("RLVR_ALLOW_HUB=1 ", ""), "RLVR_ALLOW_HUB=1"),
    ("accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 8 -m rlvr_core.llm.train "
     "--config configs/smollm2-135m.yaml --set use_cpu=false", "mixed_precision bf16"),
    ("accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 8 -m rlvr_core.llm.train "
     "--config configs/smollm2-135m.yaml --set bf16=true", "use_cpu: true"),
    ("torchrun --nproc_per_node 3 -m rlvr_core.llm.train --config configs/tiny.yaml "
     "--set per_device_train_batch_size=4", "divisible by num_generations"),
    (FSDP + " --set eval_problems=8", "invalid under FSDP"),
    ("python rlvr_core/llm/train.py --config configs/tiny.yaml", "expected -m"),
])
def test_wrong_launch_lines_are_refused(line, match, monkeypatch):
    monkeypatch.delenv("RLVR_ALLOW_HUB", raising=False)
    monkeypatch.chdir(ROOT)
    with pytest.raises(ValueError, match=match):
        check_launch_line(line, ROOT)


def test_a_line_in_the_wrong_header_is_refused():
    with pytest.raises(ValueError, match="names neither"):
        check_launch_line("python -m rlvr_core.llm.train --config configs/tiny.yaml", ROOT,
                          config_path=ROOT / "configs/smollm2-135m.yaml")
