"""The math-dataset path: reference answers (GSM8K ``####``, MATH ``\\boxed{}``), the
``math-verify`` checker on equivalent forms, the shipped sample, the reward on hand-made
completions, and a tiny-model GRPO run on the sample with every connection refused."""
import json
import socket

import pytest

import rlvr_core.llm  # noqa: F401  (offline first)
from rlvr_core.llm.runner import RunConfig, run_grpo
from rlvr_core.llm.task import SAMPLE_DATA, MathDataset, VerifierReward
from rlvr_core.llm.verify import gold_answer, is_equivalent, last_boxed


@pytest.mark.parametrize("completion", ["0.5", "1/2", "\\frac{1}{2}", "The answer is $\\frac12$.",
                                        "so the result is \\boxed{0.5}", "#### 0.5",
                                        "\\boxed{\\dfrac{1}{2}}"])
def test_equivalent_forms_of_one_half_are_accepted(completion):
    assert is_equivalent(completion, "\\frac{1}{2}")
    assert is_equivalent(completion, "0.5")


@pytest.mark.parametrize("completion", ["2", "1/3", "\\boxed{0.25}", "", "no idea", "#### 12"])
def test_wrong_or_missing_answers_are_rejected(completion):
    assert not is_equivalent(completion, "\\frac{1}{2}")


def test_reference_answers_of_both_styles():
    assert gold_answer("She pays 3 * 4 = 12 dollars.\n#### 12") == "12"
    assert gold_answer("Total 1,234 items\n#### 1,234") == "1234"
    sol = "So $x = \\frac{\\sqrt{3}}{2}$ and the area is $\\boxed{\\frac{\\sqrt{3}}{2}}$."
    assert gold_answer(sol) == last_boxed(sol) == "\\frac{\\sqrt{3}}{2}"
    assert last_boxed("\\boxed{unclosed") is None and last_boxed("nothing") is None
    assert is_equivalent("the area is \\boxed{\\sqrt{3}/2}", gold_answer(sol))
    assert is_equivalent("#### 1234", "1234") and is_equivalent("It comes to 1,234.", "1234")


def test_shipped_sample_loads_and_every_reference_verifies():
    rows = [json.loads(line) for line in SAMPLE_DATA.read_text().splitlines()]
    assert len(rows) == 24 and all(set(r) == {"question", "answer"} for r in rows)
    ds = MathDataset(path="sample", chat=False).dataset()
    assert len(ds) == 24 and set(ds.column_names) == {"prompt", "gold"}
    for row, ref in zip(ds, rows):
        assert row["prompt"].startswith("Question: ") and is_equivalent(ref["answer"], row["gold"])
    chat = MathDataset(path="sample", chat=True).dataset()
    assert chat[0]["prompt"][0]["role"] == "user" and "\\boxed{}" in chat[0]["prompt"][0]["content"]


def test_math_style_records_from_local_files(tmp_path):
    import pandas as pd

    recs = [{"problem": "Compute 1/4 + 1/4.", "solution": "We add: $\\boxed{\\frac{1}{2}}$."},
            {"problem": "What is 6 times 7?", "solution": "It is $\\boxed{42}$."}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    pd.DataFrame(recs).to_parquet(tmp_path / "m.parquet")
    for name in ("m.jsonl", "m.parquet"):
        ds = MathDataset(path=str(tmp_path / name), chat=True).dataset()
        assert ds["gold"] == ["\\frac{1}{2}", "42"]
    (tmp_path / "bad.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValueError, match="question/answer"):
        MathDataset(path=str(tmp_path / "bad.jsonl")).dataset()


def test_reward_on_hand_made_completions():
    reward = VerifierReward(MathDataset(path="sample", chat=False))
    out = reward(prompts=["q"] * 5, completions=["12", "so \\boxed{12}", "11", "#### 12.0", ""],
                 gold=["12"] * 5)
    assert out == [1.0, 1.0, 0.0, 1.0, 0.0] and reward.last_rewards == out
    chat = VerifierReward(MathDataset(path="sample", chat=True))
    assert chat(prompts=[[{"role": "user", "content": "q"}]],
                completions=[[{"role": "assistant", "content": "\\boxed{2.5}"}]], gold=["2.5"]) == [1.0]


def test_dataset_configs_fail_before_loading(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="exactly one"):
        RunConfig(task="math").validate()
    with pytest.raises(ValueError, match="dataset_path"):
        RunConfig(task="math", dataset_path=str(tmp_path / "none.jsonl")).validate()
    monkeypatch.delenv("RLVR_ALLOW_HUB", raising=False)
    with pytest.raises(ValueError, match="RLVR_ALLOW_HUB"):
        RunConfig(task="math", dataset_name="openai/gsm8k", allow_hub=True).validate()
    RunConfig(task="math", dataset_path="sample").validate()


def test_tiny_grpo_on_the_sample_without_network(monkeypatch):
    from rlvr_core.llm.models import warm_start_tiny

    warm_start_tiny(2)
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:2] or args[:1])
        raise OSError("network access attempted during an offline run")

    MathDataset(path="sample").load_records()            # datasets' local builder, before the guard
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    res = run_grpo(RunConfig(scratch_len=2, task="math", dataset_path="sample", learning_rate=0.01,
                             max_steps=2, per_device_train_batch_size=8, num_generations=4,
                             max_completion_length=6, gap_callback=True), progress=False)
    assert attempts == []
    assert len(res["metrics"]) == 2
    for m in res["metrics"]:
        assert 0.0 <= m["reward"] <= 1.0       # the tiny model knows no words: success may be 0
    json.dumps(res)


def test_device_follows_the_gpu(monkeypatch):
    # (the device stays out of the key: tests/test_provenance.py)
    import torch
    from rlvr_core.llm.device import on_cpu
    from rlvr_core.llm.grpo_config import grpo_config_fields
    auto, cpu = RunConfig(), RunConfig(use_cpu=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert on_cpu(auto) and grpo_config_fields(auto, "o")["use_cpu"] is True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not on_cpu(auto) and grpo_config_fields(auto, "o")["use_cpu"] is False
    assert on_cpu(cpu)  # an explicit choice wins
    with pytest.raises(ValueError, match="use_cpu"):
        RunConfig(use_cpu="gpu").validate()
