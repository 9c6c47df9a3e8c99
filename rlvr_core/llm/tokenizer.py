"""A character-level tokenizer built locally (no hub), saved and reloaded as a
``PreTrainedTokenizerFast``.

Reload with :func:`load_char_tokenizer` (``PreTrainedTokenizerFast``), not ``AutoTokenizer``:
the latter was seen to drop spaces with this kind of tokenizer.
"""
from __future__ import annotations

from pathlib import Path

PAD, EOS = "<pad>", "<eos>"
# Every character the synthetic task uses; the order fixes the token ids.
CHARS = tuple("0123456789+=:.,| ")


def build_char_tokenizer(chars=CHARS):
    """A ``PreTrainedTokenizerFast`` with one token per character plus ``<pad>`` and ``<eos>``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = tuple(chars)
    if not chars or len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
        raise ValueError(f"chars={chars!r} is invalid: expected distinct single characters")
    vocab = {PAD: 0, EOS: 1}
    for c in chars:
        vocab[c] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=PAD))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS,
                                   bos_token=None, unk_token=PAD, padding_side="left",
                                   clean_up_tokenization_spaces=False)
    return fast


def save_char_tokenizer(tokenizer, path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    return path


def load_char_tokenizer(path):
    """Reload a saved character tokenizer (``PreTrainedTokenizerFast``, never ``AutoTokenizer``)."""
    from transformers import PreTrainedTokenizerFast

    path = Path(path)
    if not (path / "tokenizer.json").exists():
        raise ValueError(f"path={str(path)!r} is invalid: expected a folder with tokenizer.json")
    return PreTrainedTokenizerFast.from_pretrained(str(path), padding_side="left",
                                                   clean_up_tokenization_spaces=False)
