"""The rendered site in a real browser: headless Chromium (Debian's package) driven by Playwright.

Every page must load without console errors or failed requests, every image must load, and the
math must be typeset by the local MathJax. Screenshots go to build/screenshots/.
"""
import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def site_url():
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_site

    pages = build_site.build(SITE)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", [p.name for p in pages]
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def page_names():
    names = ["index.html", "course.html"]
    names += [p.with_suffix(".html").name for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    return names


@pytest.mark.parametrize("name", page_names())
def test_page_renders(site_url, browser, name):
    base, built = site_url
    assert name in built
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, failed = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
               else (failed.append(route.request.url), route.abort()))
    page.goto(f"{base}/{name}", wait_until="load")
    page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                           "&& !MathJax.Hub.queue.running", timeout=60_000)
    page.wait_for_timeout(300)
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete && e.naturalWidth > 0])")
    math = page.eval_on_selector_all(".MathJax_CHTML, .MathJax", "els => els.length")
    math_errors = page.eval_on_selector_all(".MathJax_Error, merror", "els => els.length")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(name).stem}.png"))
    page.close()
    assert not errors, errors
    assert not failed, f"requests that failed or left the machine: {failed}"
    assert images or name == "course.html", "no image on the page"
    assert all(ok for _, ok in images), [src[:80] for src, ok in images if not ok]
    assert math > 0, "no typeset math"
    assert math_errors == 0
