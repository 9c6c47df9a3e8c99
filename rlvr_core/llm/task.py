"""Synthetic verifiable tasks with a strict verifier.

``ScratchpadSum`` (tiny model): the prompt is ``"a+b="`` (``digits``-digit operands); a correct
response is a scratchpad of exactly ``scratch_len`` free characters from ``{'.', ','}``, then
``'|'``, then the decimal sum, then ``<eos>``. The scratchpad carries no information about the
answer — it is the "answer-last" model of notebooks 04–06 in a real transformer: the response length
is a knob while the difficulty of the answer stays the same, and the free characters add terms to
the score of a response without adding anything to its reward. The verifier is strict: any other
character, a scratchpad of another length, a wrong sum or anything after the answer scores 0.

``ChatSum`` (SmolLM2): "What is a + b? Answer with the number only." through the model's chat
template; reward 1 iff the last integer in the reply equals ``a + b``.

``MathDataset`` (paper scale): GSM8K- or MATH-style records (``question``/``answer`` or
``problem``/``solution``) from a local json/jsonl/parquet file through ``datasets`` — or a hub
dataset with the explicit opt-in — checked with ``math-verify`` (:mod:`rlvr_core.llm.verify`).
``dataset_path: sample`` is the 24 grade-school problems shipped in ``rlvr_core/llm/data``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlvr_core.infra.arguments import check_int, check_seed

SCRATCH_CHARS = ".,"
SEPARATOR = "|"


def _problems(digits: int, num_problems: int | None, seed: int):
    hi = 10 ** digits
    pairs = [(a, b) for a in range(hi) for b in range(hi)]
    if num_problems is not None and num_problems < len(pairs):
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(len(pairs), size=num_problems, replace=False))
        pairs = [pairs[i] for i in idx]
    return pairs


@dataclass(frozen=True)
class ScratchpadSum:
    """``a+b=`` → ``<scratch_len free chars>|<a+b><eos>``, strictly verified."""
    scratch_len: int = 4
    digits: int = 1
    num_problems: int = 16      # a fixed subset of the (10**digits)**2 sums (the training prompts)

    def __post_init__(self):
        check_int("scratch_len", self.scratch_len, minimum=0, maximum=256)
        check_int("digits", self.digits, minimum=1, maximum=3)
        check_int("num_problems", self.num_problems, minimum=1, maximum=(10 ** self.digits) ** 2)

    @property
    def name(self) -> str:
        return f"scratchpad_sum_L{self.scratch_len}_d{self.digits}_n{self.num_problems}"

    def problems(self):
        """The training prompts: a fixed (seed 0) subset of ``num_problems`` sums."""
        return _problems(self.digits, self.num_problems, 0)

    @staticmethod
    def prompt(a: int, b: int) -> str:
        return f"{a}+{b}="

    def response_length(self, a: int, b: int) -> int:
        """Tokens of a correct response, ``<eos>`` included."""
        return self.scratch_len + 1 + len(str(a + b)) + 1

    @property
    def max_response_length(self) -> int:
        return self.scratch_len + 1 + len(str(2 * (10 ** self.digits - 1))) + 1

    def sample_response(self, a: int, b: int, rng: np.random.Generator) -> str:
        """A correct response (without ``<eos>``) with a uniformly random scratchpad."""
        pad = "".join(rng.choice(list(SCRATCH_CHARS), size=self.scratch_len)) if self.scratch_len else ""
        return f"{pad}{SEPARATOR}{a + b}"

    def verify(self, prompt: str, completion: str) -> float:
        """1.0 iff ``completion`` is exactly a correct response (text after decoding, no specials)."""
        m = re.fullmatch(r"(\d+)\+(\d+)=", prompt)
        if m is None:
            raise ValueError(f"prompt={prompt!r} is invalid: expected 'a+b='")
        target = int(m.group(1)) + int(m.group(2))
        pattern = rf"[{re.escape(SCRATCH_CHARS)}]{{{self.scratch_len}}}{re.escape(SEPARATOR)}(\d+)"
        r = re.fullmatch(pattern, completion)
        return float(r is not None and int(r.group(1)) == target and r.group(1) == str(target))

    def dataset(self, size: int, seed: int = 0):
        """A ``datasets.Dataset`` of ``size`` prompts drawn uniformly (with replacement)."""
        from datasets import Dataset

        check_int("size", size, minimum=1)
        rng = np.random.default_rng(check_seed("seed", seed))
        pairs = self.problems()
        idx = rng.integers(len(pairs), size=size)
        return Dataset.from_dict({"prompt": [self.prompt(*pairs[i]) for i in idx],
                                  "answer": [pairs[i][0] + pairs[i][1] for i in idx]})


_LAST_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class ChatSum:
    """Single-digit (``digits=1``) sums asked in words, for an instruction-tuned model."""
    digits: int = 1

    def __post_init__(self):
        check_int("digits", self.digits, minimum=1, maximum=3)

    @property
    def name(self) -> str:
        return f"chat_sum_d{self.digits}"

    def problems(self, num_problems: int | None = None, seed: int = 0):
        return _problems(self.digits, num_problems, check_seed("seed", seed))

    @staticmethod
    def question(a: int, b: int) -> str:
        return f"What is {a} + {b}? Answer with the number only."

    def verify(self, prompt, completion) -> float:
        text = prompt if isinstance(prompt, str) else " ".join(m["content"] for m in prompt)
        m = re.search(r"What is (\d+) \+ (\d+)\?", text)
        if m is None:
            raise ValueError("prompt is invalid: expected 'What is a + b?'")
        if not isinstance(completion, str):
            completion = " ".join(c["content"] for c in completion)
        nums = _LAST_INT.findall(completion)
        return float(bool(nums) and int(nums[-1]) == int(m.group(1)) + int(m.group(2)))

    def dataset(self, size: int, seed: int = 0):
        from datasets import Dataset

        check_int("size", size, minimum=1)
        rng = np.random.default_rng(check_seed("seed", seed))
        pairs = self.problems()
        idx = rng.integers(len(pairs), size=size)
        return Dataset.from_dict({
            "prompt": [[{"role": "user", "content": self.question(*pairs[i])}] for i in idx],
            "answer": [pairs[i][0] + pairs[i][1] for i in idx]})


SAMPLE_DATA = Path(__file__).resolve().parent / "data" / "gsm_sample.jsonl"
MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
DATA_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def resolve_dataset_path(path: str) -> Path:
    """``sample`` → the shipped sample; otherwise the local file itself."""
    return SAMPLE_DATA if path == "sample" else Path(path).expanduser()


@dataclass(frozen=True)
class MathDataset:
    """Math word problems with reference answers, verified by symbolic equivalence.

    ``path``: a local ``.json``/``.jsonl``/``.parquet`` file (or ``sample``); ``hub_name``: a hub
    dataset id (only when the caller allowed the hub); ``chat``: prompts as one user message
    (models with a chat template) or as plain text (the tiny character model)."""
    path: str | None = "sample"
    hub_name: str | None = None
    hub_config: str | None = None
    split: str = "train"
    chat: bool = True
    levels: tuple | list | None = None   # MATH: keep records whose ``level`` ("Level 3") is listed

    @property
    def name(self) -> str:
        return f"math_{Path(self.path).stem if self.path else self.hub_name}"

    def load_records(self):
        """The raw ``datasets.Dataset`` (local file, or the hub with the opt-in)."""
        from datasets import load_dataset

        if self.hub_name:
            return load_dataset(self.hub_name, self.hub_config, split=self.split)
        path = resolve_dataset_path(self.path)
        fmt = DATA_FORMATS.get(path.suffix)
        if fmt is None or not path.exists():
            raise ValueError(f"dataset_path={self.path!r} is invalid: expected an existing "
                             f"{'/'.join(DATA_FORMATS)} file")
        return load_dataset(fmt, data_files=str(path), split="train")

    def filtered_records(self):
        """:meth:`load_records`, restricted to ``levels`` (MATH's ``level`` column, "Level 3" or 3)."""
        raw = self.load_records()
        if self.levels is None:
            return raw
        if "level" not in raw.column_names:
            raise ValueError(f"dataset_levels={list(self.levels)!r} is invalid for this dataset: it has "
                             f"no 'level' column (columns {sorted(raw.column_names)})")
        keep = {int(v) for v in self.levels}
        return raw.filter(lambda r: _level(r["level"]) in keep)

    def prompt(self, question: str):
        if self.chat:
            return [{"role": "user", "content": f"{question}\n{MATH_INSTRUCTION}"}]
        return f"Question: {question}\nAnswer:"

    def dataset(self, size: int | None = None, seed: int = 0):
        """``prompt`` and ``gold`` (final answer text) columns; every record, in file order (the
        trainer shuffles). ``size`` and ``seed`` are accepted for the common interface."""
        from .verify import gold_answer

        raw = self.filtered_records()
        cols = set(raw.column_names)
        qcol = next((c for c in ("question", "problem") if c in cols), None)
        acol = next((c for c in ("answer", "solution") if c in cols), None)
        if qcol is None or acol is None:
            raise ValueError(f"dataset columns {sorted(cols)} are invalid: expected question/answer "
                             "(GSM8K) or problem/solution (MATH)")
        return raw.map(lambda r: {"prompt": self.prompt(r[qcol]), "gold": gold_answer(r[acol])},
                       remove_columns=raw.column_names)

    @staticmethod
    def verify_gold(completion, gold: str) -> float:
        from .verify import is_equivalent

        if not isinstance(completion, str):
            completion = " ".join(c["content"] for c in completion)
        return float(is_equivalent(completion, gold))


def _level(value) -> int | None:
    """MATH's difficulty level as an integer: ``"Level 3"`` or ``3`` -> 3 (``"Level ?"`` -> None)."""
    m = re.search(r"\d+", str(value))
    return int(m.group()) if m else None


class VerifierReward:
    """TRL reward function around a task's verifier; keeps the last batch of rewards so the
    Gradient-Gap callback can split completions into correct and incorrect."""

    def __init__(self, task):
        self.task = task
        self.__name__ = "verifier"
        self.last_rewards: list[float] = []

    def __call__(self, prompts, completions, **kwargs):
        if hasattr(self.task, "verify_gold"):        # reference answers come as a dataset column
            rewards = [self.task.verify_gold(c, g) for c, g in zip(completions, kwargs["gold"])]
        else:
            rewards = [self.task.verify(p, c) for p, c in zip(prompts, completions)]
        self.last_rewards = rewards
        return rewards
