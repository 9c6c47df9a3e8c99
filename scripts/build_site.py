"""Build the static site: one HTML page per executed notebook, an index with the claim map and a
gallery of every figure, and a course page with every notebook's exercises.

    python scripts/build_site.py [--out build/site]

It renders fully offline: MathJax and require.js come from the npm registry into build/npm (once),
and the Colab badge image is replaced by a local copy.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's rlvr_core, also without an install

from rlvr_core.claims import claims_markdown_table  # noqa: E402

NPM_DIR = ROOT / "build" / "npm"
NPM_PACKAGES = ("mathjax@2.7.9", "requirejs@2.3.7")
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="132" height="20" role="img"
aria-label="Open in Colab"><rect width="132" height="20" rx="3" fill="#555"/>
<rect x="42" width="90" height="20" rx="3" fill="#f9ab00"/>
<text x="6" y="14" fill="#fff" font-family="sans-serif" font-size="11">Colab</text>
<text x="50" y="14" fill="#000" font-family="sans-serif" font-size="11">Open in Colab</text></svg>
"""
NAV = "[Index](index.html) · [Course page: all exercises](course.html) · [Figure gallery](index.html#gallery)"


def npm_assets() -> Path:
    """node_modules with MathJax 2 and require.js, installed from the npm registry on first use."""
    modules = NPM_DIR / "node_modules"
    if not (modules / "mathjax" / "MathJax.js").exists() or not (modules / "requirejs" / "require.js").exists():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund",
                        "--silent", *NPM_PACKAGES], check=True)
    return modules


def exporter() -> HTMLExporter:
    exp = HTMLExporter(template_name="lab")
    exp.mathjax_url = "_static/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    exp.require_js_url = "_static/require.js"
    return exp


def export(nb, title: str) -> str:
    nb.metadata["title"] = title
    body, _ = exporter().from_notebook_node(nb)
    return body.replace(COLAB_BADGE, "_static/colab-badge.svg")


def notebook_title(nb, fallback: str) -> str:
    for cell in nb.cells:
        m = re.search(r"^# (.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if m:
            return m.group(1).strip()
    return fallback


def exercises(nb) -> str:
    """The markdown from the '## Exercises' heading to the next code cell."""
    out, inside = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "## Exercises" in cell.source:
            inside = True
            out.append(cell.source.split("## Exercises", 1)[1])
        elif inside and cell.cell_type == "markdown":
            out.append(cell.source)
        elif inside:
            break
    return "\n\n".join(out).strip()


def index_notebook(pages: list[tuple[str, str]], manifest: dict):
    md = ["# RLVR Gradient Gap — companion notebooks",
          "A reproducible companion to *On the optimization dynamics of RLVR: Gradient gap and step "
          "size thresholds* (Suk & Duan, arXiv 2510.08539). Every statement is labelled **[paper]**, "
          "**[derived]** or **[measured]**. The Gradient Gap is $g = \\mu^+ - \\mu^-$ and "
          "$\\nabla J = J(1-J)\\,g$.", NAV, "## Notebooks"]
    md += [f"- [{title}]({stem}.html)" for stem, title in pages]
    # The claim map comes from the claims registry, like README's; the gallery below shows
    # whatever figures the manifest holds.
    md += ["## Claim → notebook → figures",
           claims_markdown_table(link_prefix="", notebook_suffix=".html", figure_prefix="figures/")]
    gallery = ['<h2 id="gallery">Gallery</h2>', '<div class="gallery">']
    for name, e in sorted(manifest.items(), key=lambda kv: (kv[1]["notebook"], kv[0])):
        gallery.append(f'<figure><a href="{e["notebook"]}.html"><img src="figures/{name}.png" alt="{name}" '
                       f'width="360"></a><figcaption><b>{name}</b> ({e["claim"]}): '
                       f'{html.escape(e.get("caption", ""))}</figcaption></figure>')
    gallery.append("</div>")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("\n\n".join(md)), nbformat.v4.new_markdown_cell("\n".join(gallery))]
    return nb


def course_notebook(pages: list[tuple[str, str, str]]):
    cells = [nbformat.v4.new_markdown_cell(
        "# Course page: exercises\n\nEvery notebook ends with exercises that use its parameters; "
        "solutions are folded away. Open the notebook, change the knobs, and answer.\n\n" + NAV)]
    for stem, title, text in pages:
        if text:
            cells.append(nbformat.v4.new_markdown_cell(f"## [{title}]({stem}.html)\n\n{text}"))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def build(out: Path) -> list[Path]:
    modules = npm_assets()
    if out.exists():
        shutil.rmtree(out)
    static = out / "_static"
    shutil.copytree(modules / "mathjax", static / "mathjax")
    shutil.copy(modules / "requirejs" / "require.js", static / "require.js")
    (static / "colab-badge.svg").write_text(BADGE_SVG)
    shutil.copytree(ROOT / "figures", out / "figures", ignore=shutil.ignore_patterns("*.pdf"))
    manifest = json.loads((ROOT / "figures" / "manifest.json").read_text())
    written, listing, course = [], [], []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        title = notebook_title(nb, path.stem)
        course.append((path.stem, title, exercises(nb)))
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(NAV))
        listing.append((path.stem, title))
        page = out / f"{path.stem}.html"
        page.write_text(export(nb, title))
        written.append(page)
    (out / "index.html").write_text(export(index_notebook(listing, manifest), "RLVR Gradient Gap companion")
                                    .replace("</head>", "<style>.gallery{display:flex;flex-wrap:wrap;gap:12px}"
                                             "figure{margin:0;max-width:370px}</style></head>"))
    (out / "course.html").write_text(export(course_notebook(course), "Course page: exercises"))
    return [out / "index.html", out / "course.html", *written]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args()
    pages = build(args.out)
    print(f"[site] {len(pages)} pages in {args.out}")


if __name__ == "__main__":
    main()
