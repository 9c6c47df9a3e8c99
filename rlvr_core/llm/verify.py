"""Answer checking for math word problems with ``math-verify`` (symbolic equivalence through
sympy: ``1/2``, ``0.5`` and ``\\frac{1}{2}`` are the same answer; ``\\boxed{...}`` is found in a
long solution), rather than hand-written regular expressions.

References come in two styles:

* GSM8K: a worked solution ending in ``#### 42`` — the final answer is the text after the last
  ``####`` (thousands separators dropped);
* MATH: a solution holding ``\\boxed{...}`` — the final answer is the content of the last box
  (braces matched by a scanner, so nested ``\\frac{a}{b}`` survives).

A completion is checked the same way: if it contains ``####`` only what follows the last one is
read; otherwise ``math-verify`` extracts a boxed answer first, then a LaTeX or plain expression.
"""
from __future__ import annotations

import threading

INSTALL_HINT = ("math answer checking needs the math-verify package: "
                "pip install math-verify==0.9.0 (pinned in requirements.txt; part of the 'llm' extra)")


def _math_verify():
    try:
        import math_verify
    except ImportError as e:          # pragma: no cover - exercised only without the package
        raise ImportError(INSTALL_HINT) from e
    return math_verify


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) of ``text``; None if there is none
    or its braces never close."""
    best = None
    for tag in ("\\boxed", "\\fbox"):
        i = text.rfind(tag)
        if i >= 0 and (best is None or i > best[0]):
            best = (i, tag)
    if best is None:
        return None
    j = best[0] + len(best[1])
    while j < len(text) and text[j] == " ":
        j += 1
    if j >= len(text) or text[j] != "{":
        return None
    depth, start = 0, j + 1
    for k in range(j, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return text[start:k].strip()
    return None


def gold_answer(reference: str) -> str:
    """Final answer of a GSM8K (``#### 42``) or MATH (``\\boxed{...}``) reference solution; a
    reference with neither is taken as the answer itself."""
    if not isinstance(reference, str):
        reference = str(reference)
    if "####" in reference:
        return reference.rsplit("####", 1)[1].strip().replace(",", "")
    boxed = last_boxed(reference)
    return boxed if boxed is not None else reference.strip()


def _timeout():
    # math-verify's timeouts use SIGALRM, which exists only in the main thread
    return 5 if threading.current_thread() is threading.main_thread() else None


def parse_answer(text: str, *, gold: bool = False):
    """``math-verify``'s parse of an answer (a list; empty when nothing was extracted). A gold
    answer is wrapped in ``\\boxed{}`` so a bare ``\\frac{1}{2}`` or ``42`` is read as a whole."""
    mv = _math_verify()
    if gold:
        text = f"\\boxed{{{text}}}"
    elif "####" in text:
        text = text.rsplit("####", 1)[1].strip()
    return mv.parse(text, parsing_timeout=_timeout())


def is_equivalent(completion: str, gold: str) -> bool:
    """Whether ``completion`` states the answer ``gold`` (a final answer, see :func:`gold_answer`)."""
    mv = _math_verify()
    g = parse_answer(gold, gold=True)
    p = parse_answer(completion)
    if not g or not p:
        return False
    try:
        return bool(mv.verify(g, p, timeout_seconds=_timeout()))
    except Exception:                 # a pathological expression: not a match
        return False
