"""Rewrite README's short claim map from the claims registry (rlvr_core/claims.yaml).

    python scripts/render_claims.py          # rewrite the block between the markers
    python scripts/render_claims.py --check  # exit 1 if README's block is out of date

Only the text between ``<!-- claims:start -->`` and ``<!-- claims:end -->`` is touched: one row per
claim (id, notebook, verdict in a few words); the long verdicts are in notebook 00 and the book.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's rlvr_core, also without an install

from rlvr_core.notebook.claims import claims_summary_table  # noqa: E402

README = ROOT / "README.md"
START, END = "<!-- claims:start -->", "<!-- claims:end -->"


def split_readme(text: str) -> tuple[str, str, str]:
    """(before and including the start marker, the block, the end marker and after)."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README must contain {START} once, followed by {END} once")
    head, rest = text.split(START, 1)
    block, tail = rest.split(END, 1)
    return head + START, block, END + tail


def rendered_readme(text: str) -> str:
    head, _, tail = split_readme(text)
    return f"{head}\n{claims_summary_table()}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether README is current")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = rendered_readme(text)
    if args.check:
        if new != text:
            print("README's claim map is out of date: run python scripts/render_claims.py")
            return 1
        print("README's claim map is current")
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README's claim map rewritten from rlvr_core/claims.yaml")
    else:
        print("README's claim map already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
