"""Paper-scale pieces checked on CPU: pass@k against enumeration, the held-out evaluation of
task 'math' (its counts, its config checks, a run that does not crash), MATH levels, the final
save in HF format (reloads with the same logits), trackers the user selects reach GRPOConfig, and
the MATH-level config."""
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.config import RunConfig, load_config
from rlvr_core.llm.evaluation import MathEvalCallback, pass_at_k
from rlvr_core.llm.task import SAMPLE_DATA, MathDataset

ROOT = Path(__file__).resolve().parents[1]


# ---- pass@k ---------------------------------------------------------------------------------

def brute_pass_at_k(n, c, k):
    """Fraction of the k-subsets of n samples (c correct) that hold a correct one."""
    samples = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


def test_pass_at_k_equals_enumeration():
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k), abs=1e-12)
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)                       # pass@1 = c/n
    # negative control: the plug-in 1-(1-c/n)^k (sampling with replacement) is biased
    assert abs((1 - (1 - 3 / 8) ** 4) - brute_pass_at_k(8, 3, 4)) > 0.05
    with pytest.raises(ValueError, match="k"):
        pass_at_k(4, 1, 5)


# ---- held-out evaluation of task 'math' ------------------------------------------------------

def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


class FakeTok:
    """Prompt 'Question: p<i>...' -> [i]; token j decodes to str(j)."""
    pad_token_id, padding_side = 0, "right"

    def __call__(self, texts, **kwargs):
        import re
        ids = torch.tensor([[int(re.search(r"p(\d+)", t).group(1))] for t in texts])

        class Enc(dict):
            def to(self, device):
                return self
        return Enc(input_ids=ids, attention_mask=torch.ones_like(ids))

    def batch_decode(self, ids, skip_special_tokens=True):
        return [str(int(row[0])) for row in ids]


class FakeModel(torch.nn.Module):
    """Problem i (gold answer 10 + i) gets ``correct[i]`` right replies out of the samples."""

    def __init__(self, correct):
        super().__init__()
        self.w, self.correct = torch.nn.Parameter(torch.zeros(1)), correct

    def generate(self, input_ids, attention_mask, num_return_sequences, **kwargs):
        rows = []
        for i in input_ids[:, 0].tolist():
            for s in range(num_return_sequences):
                rows.append([i, 10 + i if s < self.correct[i] else 999])
        return torch.tensor(rows)


def test_math_evaluation_counts_each_problems_correct_replies(tmp_path):
    correct = [0, 3, 1, 4, 2]
    data = write_jsonl(tmp_path / "held.jsonl",
                       [{"question": f"p{i}", "answer": f"#### {10 + i}"} for i in range(5)])
    cb = MathEvalCallback(MathDataset(path=data, chat=False), FakeTok(), 5, 4, [1, 2, 4], 8,
                          batch_size=2)
    assert cb.correct_counts(FakeModel(correct), 0) == correct
    cb._evaluate(FakeModel(correct), 0)
    rec = cb.records[0]
    for k in (1, 2, 4):
        assert rec[f"pass@{k}"] == pytest.approx(sum(pass_at_k(4, c, k) for c in correct) / 5)
    assert rec["success"] == pytest.approx(sum(correct) / 20)
    assert rec["pass@4"] == pytest.approx(0.8) and rec["pass@1"] < rec["pass@2"] < rec["pass@4"]


def test_math_evaluation_config_checks(tmp_path, monkeypatch):
    held = write_jsonl(tmp_path / "held.jsonl", [{"question": "1+1?", "answer": "#### 2"}])
    base = dict(task="math", dataset_path="sample", scratch_len=2, eval_problems=4, eval_samples=4)
    RunConfig(**base, eval_dataset_path=held).validate()
    RunConfig(**base, eval_dataset_path=held, eval_pass_k=[1, 4]).validate()
    for extra, match in [({}, "no held-out set"),
                         ({"eval_dataset_path": str(SAMPLE_DATA)}, "training file"),
                         ({"eval_dataset_path": held, "eval_pass_k": [8]}, r"k <= n"),
                         ({"eval_dataset_path": held, "eval_gap": True}, "eval_gap=True is invalid"),
                         ({"eval_dataset_path": str(tmp_path / "no.jsonl")}, "eval_dataset_path")]:
        with pytest.raises(ValueError, match=match):
            RunConfig(**base, **extra).validate()
    monkeypatch.setenv("RLVR_ALLOW_HUB", "1")
    hub = dict(base, dataset_path=None, dataset_name="openai/gsm8k", allow_hub=True)
    RunConfig(**hub).validate()                                     # test split by default
    with pytest.raises(ValueError, match="training split"):
        RunConfig(**hub, eval_dataset_split="train").validate()
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.raises(ValueError, match="invalid under FSDP"):
        RunConfig(**hub).validate()
    with pytest.raises(ValueError, match="held-out evaluation of task 'math'"):
        RunConfig(scratch_len=2, eval_dataset_path=held).validate()


def test_math_run_with_the_held_out_evaluation(tmp_path):
    """The tiny model on task 'math' with the held-out evaluation: it runs and reports pass@1 and
    pass@k at the start, the middle and the end (the tiny model knows no words: values may be 0)."""
    from rlvr_core.llm.runner import run_grpo

    held = write_jsonl(tmp_path / "held.jsonl", [{"question": f"What is {i} + 1?", "answer": f"#### {i + 1}"}
                                                 for i in range(3)])
    res = run_grpo(RunConfig(scratch_len=2, task="math", dataset_path="sample", learning_rate=0.01,
                             max_steps=2, per_device_train_batch_size=8, num_generations=4,
                             max_completion_length=6, eval_problems=3, eval_samples=2,
                             eval_dataset_path=held), progress=False)
    assert [r["step"] for r in res["eval"]] == [0, 1, 2]
    for r in res["eval"]:
        assert r["problems"] == 3 and r["samples"] == 2 and 0 <= r["pass@1"] <= r["pass@2"] <= 1
    json.dumps(res)


def test_final_save_reloads_with_the_same_logits(tmp_path):
    """save_pretrained of model + tokenizer in output_dir at the end of training: reloaded with
    from_pretrained it gives the trained model's logits, not the starting model's (negative
    control: training moved the weights, so the comparison can fail)."""
    from transformers import AutoModelForCausalLM, TrainerCallback

    from rlvr_core.llm.runner import run_grpo
    from rlvr_core.llm.tokenizer import load_char_tokenizer

    class Keep(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kw):
            self.start = {k: v.detach().clone() for k, v in model.state_dict().items()}

        def on_train_end(self, args, state, control, model=None, **kw):
            self.model = model

    keep, out = Keep(), tmp_path / "run"
    res = run_grpo(RunConfig(scratch_len=2, learning_rate=0.05, max_steps=2, per_device_train_batch_size=16,
                             max_completion_length=12, gap_callback=False, output_dir=str(out)),
                   progress=False, callbacks=[keep])
    assert res["provenance"]["final_model"] == str(out)
    reloaded = AutoModelForCausalLM.from_pretrained(str(out))
    tok = load_char_tokenizer(out)
    ids = tok(["1+3=", "4+5=..|"], return_tensors="pt", padding=True)
    with torch.no_grad():
        want = keep.model(**ids).logits
        got = reloaded(**ids).logits
        keep.model.load_state_dict(keep.start)
        start = keep.model(**ids).logits
    assert torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(start, want, atol=1e-4)
    none = run_grpo(RunConfig(scratch_len=2, learning_rate=0.05, max_steps=1, per_device_train_batch_size=16,
                              max_completion_length=12, gap_callback=False, output_dir=str(tmp_path / "n"),
                              save_final_model=False), progress=False)
    assert none["provenance"]["final_model"] is None and not (tmp_path / "n" / "config.json").exists()


def test_math_levels_filter(tmp_path):
    rows = [{"problem": f"q{i}", "solution": f"\\boxed{{{i}}}", "level": lv}
            for i, lv in enumerate(["Level 1", "Level 3", "Level 5", "Level 4", "Level ?", 3])]
    path = write_jsonl(tmp_path / "math.jsonl", rows[:5])
    kept = MathDataset(path=path, chat=False, levels=[3, 4, 5]).dataset()
    assert kept["gold"] == ["1", "2", "3"]
    assert len(MathDataset(path=path, chat=False).dataset()) == 5            # no filter: all
    no_level = write_jsonl(tmp_path / "gsm.jsonl", [{"question": "x", "answer": "#### 1"}])
    with pytest.raises(ValueError, match="no 'level' column"):
        MathDataset(path=no_level, levels=[3]).dataset()
    for bad in ([0], [6], "3", []):
        with pytest.raises(ValueError, match="dataset_levels"):
            RunConfig(task="math", dataset_path=path, dataset_levels=bad, scratch_len=2).validate()
    with pytest.raises(ValueError, match="dataset_levels"):
        RunConfig(scratch_len=2, dataset_levels=[3]).validate()


def test_math_level_config(monkeypatch):
    monkeypatch.setenv("RLVR_ALLOW_HUB", "1")
    cfg, _ = load_config(ROOT / "configs/qwen2.5-math-7b-math-l3-5.yaml")
    cfg.validate(8)
    gsm, _ = load_config(ROOT / "configs/qwen2.5-math-7b.yaml")
    assert cfg.task == "math" and cfg.dataset_levels == [3, 4, 5] and cfg.dataset_split == "train"
    assert cfg.dataset_name != gsm.dataset_name and cfg.key() != gsm.key()
    assert cfg.output_dir != gsm.output_dir
    header = (ROOT / "configs/qwen2.5-math-7b-math-l3-5.yaml").read_text().split("\nmodel:")[0]
    assert "GSM8K" in header and "already solves" in header
    # with a local MATH-500 file the held-out evaluation validates (outside FSDP)
    cfg.eval_problems, cfg.eval_dataset_path = 64, str(SAMPLE_DATA)
    cfg.validate(8)


# ---- trackers ----------------------------------------------------------------------------------

def test_selected_trackers_reach_grpo_config_unchanged(tmp_path):
    import importlib.util

    from trl import GRPOConfig

    from rlvr_core.llm.grpo_config import grpo_config_fields

    assert importlib.util.find_spec("wandb") is None        # not installed, and not needed here
    cfg = RunConfig(scratch_len=2, report_to=["wandb"]).validate()
    fields = grpo_config_fields(cfg, str(tmp_path))
    assert fields["report_to"] == ["wandb"]
    assert GRPOConfig(**fields).report_to == ["wandb"]
    default = GRPOConfig(**grpo_config_fields(RunConfig(scratch_len=2), str(tmp_path)))
    assert default.report_to in ([], "none", ["none"])       # nothing by default
    with pytest.raises(ValueError, match="report_to"):
        RunConfig(scratch_len=2, report_to=[1]).validate()


def test_importing_the_package_silences_no_tracker():
    env = {k: v for k, v in os.environ.items() if k != "WANDB_DISABLED"}
    out = subprocess.run([sys.executable, "-c", "import os, rlvr_core.llm; "
                          "print(os.environ.get('WANDB_DISABLED'), os.environ.get('HF_HUB_OFFLINE'))"],
                         env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.split() == ["None", "1"], out.stderr[-2000:]
