"""Sphinx configuration of the companion's book (the Jupyter Book 1 stack, driven directly).

Stack: Sphinx + MyST-NB (renders the committed, executed notebooks; ``nb_execution_mode = "off"``
so nothing is re-executed) + sphinx-book-theme + sphinxcontrib-bibtex + sphinx-proof (its CSS).
Build with ``make site`` (``python book/build.py``); the source tree is build/book_src.

Theorems and definitions
------------------------
The notebooks are read as plain Jupyter/Colab notebooks too, so their sources keep plain
markdown: a statement opens a paragraph with a bold label such as ``**[paper] Theorem 1 (in our
words).**`` or ``**[derived] Theorem (one correct response, log-linear).**``. Writing sphinx-proof
directives (``{prf:theorem}``) into the notebooks would show raw directive syntax to a Colab
reader, and the notebooks are edited by others. So the book's extension (``_ext/rlvr_book.py``)
applies a docutils transform at read time: a paragraph whose first element is a bold label
``[paper|derived] Theorem|Proposition|Definition|Lemma|Corollary ...`` becomes an admonition with
sphinx-proof's classes (``proof theorem`` ...) and styling, titled by the label, carrying the
paragraph and the lists/display math that directly follow it, with an anchor id
(``paper-theorem-1``, ``derived-theorem``) and a permalink. Every such statement is also listed,
linked, on the generated "Claim map" page.

Offline
-------
MathJax 3 is served from the site itself (``mathjax_path``); the Colab badge images of the
notebooks (an external image) are dropped from the book's copy of the markdown, since the header
has the Binder/Colab launch buttons; MyST-NB's widget loader (require.js from a CDN) is disabled;
the theme's fonts and icons are bundled with pydata-sphinx-theme.
"""
from __future__ import annotations

import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
sys.path.insert(0, str(BOOK / "_ext"))
sys.path.insert(0, str(ROOT))  # the checkout's rlvr_core, also without an install
sys.path.insert(1, str(ROOT / "scripts"))

from colab import REPO  # noqa: E402  the repository slug, one place (scripts/colab.py)

project = "RLVR Gradient Gap — a reproducible companion"
author = "RLVR companion contributors"
copyright = "RLVR companion contributors; code MIT, prose and figures CC-BY-4.0"
release = version = "0.1.0"

# sphinx-proof provides the statement styling (its proof.css). Its domain is not parallel-safe and
# its directives are not used (see above), so only the stylesheet is loaded.
import sphinx_proof  # noqa: E402

extensions = ["myst_nb", "sphinxcontrib.bibtex", "rlvr_book"]
root_doc = "00_overview"  # the landing page; index.html redirects to it (as Jupyter Book does)
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# MyST-NB: render the committed outputs, never execute.
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no require.js / widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image", "html_admonition"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# sphinxcontrib-bibtex
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# Local MathJax 3: book/build.py installs it from npm; the extension copies es5/ to _static/mathjax.
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"tex": {"tags": "ams"}, "options": {"enableMenu": True}}

html_theme = "sphinx_book_theme"
html_title = "RLVR Gradient Gap companion"
html_static_path = [str(Path(sphinx_proof.__file__).parent / "_static"), str(BOOK / "_static")]
html_css_files = ["proof.css", "book.css"]
html_last_updated_fmt = None
html_copy_source = True
html_show_sourcelink = False
html_theme_options = {
    "repository_url": f"https://github.com/{REPO}",
    "repository_branch": "main",
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": True,
    "use_source_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
    "show_navbar_depth": 1,
    "home_page_in_toc": True,
    "extra_footer": (
        '<p>Code: <a href="https://opensource.org/license/mit">MIT licence</a> (LICENSE). '
        'Prose and figures: <a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a> '
        "(LICENSE-CONTENT). Cite the paper: Suk &amp; Duan, arXiv 2510.08539; cite this companion "
        "with CITATION.cff.</p>"
    ),
}
# pydata-sphinx-theme logs a console error when no colour mode is set; the book is light by default
# (the reader can switch).
html_context = {"default_mode": "light"}
