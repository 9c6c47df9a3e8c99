"""The book (book/build.py) as a reader sees it: headless Chromium (Debian's package) driven by
Playwright, over a local http.server on 127.0.0.1.

The site is built once for the module (incremental: Sphinx reuses build/.doctrees). Every page
loads with no console error and no request leaving 127.0.0.1; its visible text has no raw
markdown (table rules, ``**``, ``$$``); every image loads; every internal link and #anchor
resolves; statements are anchored boxes; math is typeset by the local MathJax 3; the offline
search finds the expected pages. Screenshots go to build/screenshots/.
"""
import functools
import http.server
import os
import re
import shutil
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

# Builds the book and drives headless Chromium: make test only, not make unit.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "site"
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: .ci/run installs Debian's chromium package")
    pytest.skip("chromium not installed here (apt-get install chromium)", allow_module_level=True)

pytest.importorskip("myst_nb", reason="the book's requirements are not installed (make setup)")

NOTEBOOKS = [p.stem for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from rlvr_book import GUIDE_PAGES  # noqa: E402  (docs/*.md and CONTRIBUTING.md, in the book too)

PAGES = [*NOTEBOOKS, "claims", "gallery", "course", "references", *GUIDE_PAGES]
RAW_MARKDOWN = re.compile(r"\|\s*-{3,}\s*\||\*\*|\$\$")


@pytest.fixture(scope="module")
def site_url():
    sys.path.insert(0, str(ROOT / "book"))
    import build as book_build

    book_build.build(SITE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, base, path):
    """A page at base/path with console errors and outside/failed requests recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: outside.append(f"failed: {r.url}"))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
               else (outside.append(route.request.url), route.abort()))
    page.goto(f"{base}/{path}", wait_until="load")
    return page, errors, outside


def wait_for_math(page):
    """Wait until MathJax has typeset the page (Sphinx loads it only on pages with math)."""
    if not page.query_selector('script[src*="mathjax"]'):
        return
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("MathJax.startup.promise")


@pytest.mark.parametrize("name", ["index", *PAGES])
def test_page_as_a_reader_sees_it(site_url, browser, name):
    page, errors, outside = open_page(browser, site_url, f"{name}.html")
    if name == "index":  # the redirect to the landing notebook
        page.wait_for_url(re.compile(r"/00_overview\.html"), timeout=10_000)
    wait_for_math(page)
    page.wait_for_timeout(200)
    # the prose a reader sees: code (which may say `**`) and typeset math left out
    text = page.evaluate("""() => { const m = document.querySelector('main').cloneNode(true);
        m.querySelectorAll('pre, code, .highlight, mjx-container, script, style').forEach(e => e.remove());
        return m.innerText; }""")
    images = page.eval_on_selector_all("main img", "els => els.map(e => [e.src, e.complete && e.naturalWidth > 0])")
    math_errors = page.eval_on_selector_all("mjx-merror, .MathJax_Error", "els => els.length")
    tables = page.eval_on_selector_all("main table", "els => els.length")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name.replace('/', '_')}.png"))
    nav = page.eval_on_selector_all("nav.bd-links a", "els => els.length")
    page.close()
    assert not errors, errors
    assert not outside, f"requests that failed or left 127.0.0.1: {outside}"
    raw = sorted({m.group(0) for m in RAW_MARKDOWN.finditer(text)})
    assert not raw, f"unrendered markdown in the visible text: {raw}: " + \
        "; ".join(text[max(0, m.start() - 60):m.end() + 60] for m in RAW_MARKDOWN.finditer(text))[:600]
    assert all(ok for _, ok in images), [src[:80] for src, ok in images if not ok]
    assert math_errors == 0
    assert nav >= len(PAGES), "the sidebar does not list the book's pages"
    if name in ("claims", "00_overview"):
        assert tables > 0, "the claim map is not a rendered table"
    if name == "gallery":
        assert len(images) >= 10


MANIFEST = ROOT / "figures" / "manifest.json"


def _anchor(name: str) -> str:
    """The id Sphinx gives the chapter figure labelled ``nbfig-<name>`` (docutils' make_id)."""
    return re.sub(r"[^a-z0-9]+", "-", f"nbfig-{name}".lower()).strip("-")


def _plain(text: str) -> str:
    """Rendered text with Sphinx's typographic quotes undone and whitespace collapsed."""
    return " ".join(text.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")).split())


def missing_chapter_figures(page, stem: str) -> list[str]:
    """The manifest's figures of notebook ``stem`` that the open chapter page does not show:
    no anchored <figure>, an image that did not load (natural width 0) once every fold is open, or a
    caption without the manifest's caption text."""
    import json

    manifest = json.loads(MANIFEST.read_text())
    # A figure of a folded "Checks and limits" part sits in a closed <details>; unfold every fold,
    # as a reader clicking "Show code cell content" does, and wait for its images to load.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=10_000)
    shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('main figure[id]')]
        .map(f => { const img = f.querySelector('img');
                    return [f.id, {loaded: !!img && img.complete && img.naturalWidth > 0,
                                   caption: (f.querySelector('figcaption') || {}).innerText || ''}]; }))""")
    missing = []
    for name, entry in manifest.items():
        if entry["notebook"] != stem:
            continue
        fig = shown.get(_anchor(name))
        caption = " ".join(entry.get("caption", "").split())[:40]
        if not fig or not fig["loaded"] or caption not in _plain(fig["caption"]):
            missing.append(name)
    return missing


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_chapter_shows_every_figure_of_its_notebook(site_url, browser, stem):
    page, errors, outside = open_page(browser, site_url, f"{stem}.html")
    page.wait_for_load_state("load")
    missing = missing_chapter_figures(page, stem)
    page.close()
    assert not missing, f"{stem}.html lacks these manifest figures (or their image or caption): {missing}"


def test_chapter_figure_check_fails_when_a_figure_is_removed(site_url, browser):
    """Negative control: a copy of chapter 01 with its first figure deleted fails the check."""
    html = (SITE / "01_gradient_gap.html").read_text(encoding="utf-8")
    first = re.search(r'<figure class="[^"]*" id="(nbfig-[^"]+)">.*?</figure>', html, re.S)
    assert first, "chapter 01 has no anchored figure"
    (SITE / "_control_01.html").write_text(html.replace(first.group(0), ""), encoding="utf-8")
    try:
        page, _, _ = open_page(browser, site_url, "_control_01.html")
        missing = missing_chapter_figures(page, "01_gradient_gap")
        page.close()
    finally:
        (SITE / "_control_01.html").unlink()
    assert [_anchor(m) for m in missing] == [first.group(1)]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            self.hrefs.append(a["src"])
        if tag == "link" and a.get("href"):
            self.hrefs.append(a["href"])


def test_every_internal_link_and_anchor_resolves(site_url):
    parsed, missing, checked = {}, [], 0

    def parse(path: Path) -> _Links:
        if path not in parsed:
            p = _Links()
            p.feed(path.read_text(encoding="utf-8"))
            parsed[path] = p
        return parsed[path]

    for page in sorted(SITE.glob("*.html")):
        for href in parse(page).hrefs:
            url = urlparse(href)
            if url.scheme in ("http", "https", "mailto", "javascript", "data") or href.startswith("//"):
                continue
            target_path, frag = urldefrag(unquote(href))
            target = (page.parent / target_path.split("?")[0]).resolve() if target_path else page
            checked += 1
            if not target.is_file():
                missing.append(f"{page.name}: {href} (no file)")
            elif frag and target.suffix == ".html" and frag not in parse(target).ids:
                missing.append(f"{page.name}: {href} (no #{frag})")
    assert checked > 500
    assert not missing, missing[:20]


def test_statements_are_anchored_boxes(site_url):
    html = (SITE / "02_convergence.html").read_text(encoding="utf-8")
    assert re.search(r'<div class="proof theorem statement-paper admonition" id="paper-theorem-1">', html)
    claims = (SITE / "claims.html").read_text(encoding="utf-8")
    assert 'href="02_convergence.html#paper-theorem-1"' in claims


def test_math_is_typeset_by_local_mathjax3(site_url, browser):
    page, errors, outside = open_page(browser, site_url, "01_gradient_gap.html")
    wait_for_math(page)
    version = page.evaluate("MathJax.version")
    n = page.eval_on_selector_all("mjx-container", "els => els.length")
    page.close()
    assert version.startswith("3."), version
    assert n > 20, n
    assert not errors and not outside


@pytest.mark.parametrize("query, expected", [("Gradient Gap", "01_gradient_gap"),
                                             ("threshold", "03_collapse_threshold")])
def test_search_finds_the_pages(site_url, browser, query, expected):
    page, errors, outside = open_page(browser, site_url, f"search.html?q={query.replace(' ', '+')}")
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    page.wait_for_function("document.querySelector('#search-results p.search-summary') && "
                           "!/Searching|Preparing/.test(document.querySelector('#search-results h2')"
                           "?.textContent || '')", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a",
                                     "els => els.map(e => e.getAttribute('href'))")
    page.screenshot(path=str(SHOTS / f"search_{query.split()[0].lower()}.png"))
    page.close()
    assert not errors and not outside, (errors, outside)
    assert any(h.split("#")[0].split("?")[0] == f"{expected}.html" for h in hits), hits[:10]


def test_notebook_pages_have_launch_and_download_buttons(site_url):
    for stem in NOTEBOOKS:
        html = (SITE / f"{stem}.html").read_text(encoding="utf-8")
        assert f"colab.research.google.com/github/rlvr-companion/rlvr-gradient-gap/blob/main/notebooks/{stem}.ipynb" in html
        assert "mybinder.org/v2/gh/rlvr-companion/rlvr-gradient-gap/main" in html
        assert f"_sources/{stem}.ipynb" in html and f"notebooks/{stem}.py" in html
        assert (SITE / "_sources" / f"{stem}.ipynb").is_file() and (SITE / "notebooks" / f"{stem}.py").is_file()


def test_no_external_script_font_or_style(site_url):
    pattern = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](?:https?:)?//""")
    for page in SITE.glob("*.html"):
        hits = pattern.findall(page.read_text(encoding="utf-8"))
        assert not hits, (page.name, hits[:3])
