"""Build the book (Sphinx + MyST-NB + sphinx-book-theme) into build/site, offline.

    python book/build.py            # incremental: Sphinx reuses build/.doctrees
    python book/build.py --fresh    # drop the doctrees and the output first

The source tree is assembled under build/book_src: links to the committed, executed notebooks
(never re-executed: ``nb_execution_mode = "off"``), to figures/ and to the book's own files. The
claim map, figure gallery and course page are written there at build time by the extension
``book/_ext/rlvr_book.py`` from rlvr_core/claims.yaml, figures/manifest.json and the notebooks.
MathJax 3 comes from the npm registry into build/npm (once) and is copied into the site.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
SRC = ROOT / "build" / "book_src"
OUT = ROOT / "build" / "site"
DOCTREES = ROOT / "build" / ".doctrees"
NPM_DIR = ROOT / "build" / "npm"
MATHJAX = "mathjax@3.2.2"
# Files of book/ that are pages or data of the book (conf.py and _ext stay in book/: sphinx -c).
BOOK_FILES = ("references.md", "references.bib")
sys.path.insert(0, str(BOOK / "_ext"))
from rlvr_book import GUIDE_PAGES  # noqa: E402  (the repository's pages the book shows)


def mathjax_dir() -> Path:
    """node_modules/mathjax (MathJax 3), installed from the npm registry on first use."""
    mj = NPM_DIR / "node_modules" / "mathjax"
    if not (mj / "es5" / "tex-chtml.js").exists():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund",
                        "--silent", MATHJAX], check=True)
    return mj


def _link(target: Path, link: Path) -> None:
    rel = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == rel:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(rel)


def _copy(source: Path, target: Path) -> None:
    """Copy a page into the source tree, rewriting it only when its text changed (incremental)."""
    text = source.read_text(encoding="utf-8")
    if target.is_symlink():
        target.unlink()
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def assemble() -> list[str]:
    """Link the notebooks, figures and book pages into build/book_src, copy the guide pages there;
    return the notebook names."""
    SRC.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    wanted = {p.name for p in notebooks} | set(BOOK_FILES) | {"figures"}
    for p in notebooks:
        _link(p, SRC / p.name)
    for name in BOOK_FILES:
        _link(BOOK / name, SRC / name)
    # The repository's guide pages, at their repository paths so that their relative links resolve;
    # copied, not linked: MyST resolves a link from the file's real path.
    for page in GUIDE_PAGES:
        _copy(ROOT / f"{page}.md", SRC / f"{page}.md")
    _link(ROOT / "figures", SRC / "figures")
    for p in SRC.iterdir():  # a notebook that was removed or renamed
        if p.is_symlink() and p.name not in wanted:
            p.unlink()
    return [p.stem for p in notebooks]


def build(out: Path = OUT, fresh: bool = False, quiet: bool = True) -> float:
    """Build the site; returns the seconds it took. Warnings are printed; a failed build raises."""
    from sphinx.cmd.build import build_main

    t0 = time.perf_counter()
    if fresh:
        shutil.rmtree(DOCTREES, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    mathjax_dir()
    assemble()
    args = ["-b", "html", "-c", str(BOOK), "-d", str(DOCTREES), "--keep-going", "-j", "auto"]
    if quiet:
        args.append("-q")
    rc = build_main([*args, str(SRC), str(out)])
    if rc:
        raise RuntimeError(f"sphinx-build failed (exit {rc}); see the warnings above")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--fresh", action="store_true", help="drop build/.doctrees and the output first")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    seconds = build(args.out, fresh=args.fresh, quiet=not args.verbose)
    pages = len(list(args.out.glob("*.html")))
    print(f"[book] {pages} pages in {args.out} ({seconds:.1f} s); open {args.out / 'index.html'} "
          f"or run: python -m http.server -d {args.out}")


if __name__ == "__main__":
    sys.exit(main())
