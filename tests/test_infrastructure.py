"""validation, atomic writes, cache and figures."""
import json
import math

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlvr_core.infra import cache

from rlvr_core.notebook import figures
from rlvr_core.infra import arguments as V
from rlvr_core.stats.fit import loglog_slope
from rlvr_core.stats.thresholds import leading_passes


@pytest.mark.parametrize("call, name", [
    (lambda: V.check_positive("eta", 0), "eta"),
    (lambda: V.check_positive("eta", -1.0), "eta"),
    (lambda: V.check_positive("eta", math.inf), "eta"),
    (lambda: V.check_positive("eta", "1"), "eta"),
    (lambda: V.check_positive("eta", True), "eta"),
    (lambda: V.check_int("T", 0, minimum=1), "T"),
    (lambda: V.check_int("T", 2.5, minimum=1), "T"),
    (lambda: V.check_int("T", 9, minimum=1, maximum=8), "T"),
    (lambda: V.check_probability("p", 1.0), "p"),
    (lambda: V.check_probability("p", -0.1, open_interval=False), "p"),
    (lambda: V.check_choice("algorithm", "ppo", ["grpo"]), "algorithm"),
    (lambda: V.check_profile("fast"), "PROFILE"),
    (lambda: V.check_seed("SEED", -3), "SEED"),
    (lambda: V.check_grid("ETAS", []), "ETAS"),
    (lambda: V.check_grid("ETAS", [1.0, -2.0]), r"ETAS\[1\]"),
])
def test_validation_names_parameter_and_range(call, name):
    with pytest.raises(ValueError, match=name) as err:
        call()
    assert "expected" in str(err.value)


def test_validation_accepts_good_values():
    assert V.check_positive("eta", 2) == 2.0
    assert V.check_int("T", 3, minimum=1) == 3
    assert V.check_probability("p", 0.5) == 0.5
    assert V.check_grid("ETAS", [1, 2]) == [1.0, 2.0]


def test_cache_roundtrip_and_recompute_on_corruption(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "RESULTS_DIR", tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(4.0), "score": 1.5}

    a = cache.cached("demo", {"n": 4}, compute)
    b = cache.cached("demo", {"n": 4}, compute)
    assert len(calls) == 1 and np.array_equal(a["x"], b["x"]) and b["score"] == 1.5
    (path,) = tmp_path.glob("demo-*.npz")
    path.write_bytes(path.read_bytes()[:20])  # truncate
    c = cache.cached("demo", {"n": 4}, compute)
    assert len(calls) == 2 and np.array_equal(c["x"], np.arange(4.0))
    cache.cached("demo", {"n": 5}, compute)
    assert len(calls) == 3
    assert not list(tmp_path.glob("*.tmp"))


def test_cache_bytes_are_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "RESULTS_DIR", tmp_path)
    cache.cached("d", {"a": 1}, lambda: {"x": np.ones(3)})
    first = next(tmp_path.glob("d-*.npz")).read_bytes()
    cache.cached("d", {"a": 1}, lambda: {"x": np.ones(3)}, refresh=True)
    assert next(tmp_path.glob("d-*.npz")).read_bytes() == first


def test_savefig_writes_files_manifest_and_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "FIGURE_DIR", tmp_path)
    def draw():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        return fig
    figures.savefig(draw(), "demo_line", notebook="01_gradient_gap", claim="P1", params={"b": 2, "a": 1})
    png = (tmp_path / "demo_line.png").read_bytes()
    pdf = (tmp_path / "demo_line.pdf").read_bytes()
    figures.savefig(draw(), "demo_line", notebook="01_gradient_gap", claim="P1", params={"b": 2, "a": 1})
    assert (tmp_path / "demo_line.png").read_bytes() == png
    assert (tmp_path / "demo_line.pdf").read_bytes() == pdf
    entry = json.loads((tmp_path / "manifest.json").read_text())["demo_line"]
    assert entry["claim"] == "P1" and list(entry["params"]) == ["a", "b"]
    with pytest.raises(ValueError, match="claim"):
        figures.savefig(draw(), "x", notebook="n", claim="P9")
    with pytest.raises(ValueError, match="name"):
        figures.savefig(draw(), "bad name/..", notebook="n", claim="P1")
    plt.close("all")


def test_shown_figure_is_a_palette_png_at_display_resolution_that_keeps_its_colours():
    import io

    from PIL import Image

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [1, 0], color="#d62728", lw=6)
    image = Image.open(io.BytesIO(figures.display_png(fig)))
    plt.close(fig)
    assert image.format == "PNG" and image.mode == "P"
    # bbox "tight" trims the margins: at most the figure's size at DISPLAY_DPI
    assert 0.6 * 5 * figures.DISPLAY_DPI <= image.width <= 5 * figures.DISPLAY_DPI
    colours = {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert (214, 39, 40) in colours, "the palette lost the line's exact colour"


def test_show_outside_a_kernel_does_not_display_and_closes_the_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(True))
    fig, _ = plt.subplots()
    figures.show(fig)
    assert shown == [True] and not plt.fignum_exists(fig.number)


def test_rate_colours_order_rates_on_a_log_scale_and_refuse_bad_rates():
    fig, ax = plt.subplots()
    colour = figures.rate_colours(fig, ax, [0.1, 0.001, 0.01, 0.01])
    assert list(colour) == [0.001, 0.01, 0.1] and len({tuple(c) for c in colour.values()}) == 3
    # a log scale: 0.01 sits half-way between 0.001 and 0.1, i.e. mid-palette (plasma up to 0.85)
    assert np.allclose(colour[0.01], plt.get_cmap("plasma")(0.85 * 0.5), atol=0.02)
    assert not np.allclose(colour[0.01], plt.get_cmap("plasma")(0.85 * 0.09 / 0.099), atol=0.02)
    with pytest.raises(ValueError, match="rates"):
        figures.rate_colours(fig, ax, [0.0, 1.0])
    plt.close(fig)


def test_loglog_slope_recovers_power_law():
    x = np.array([1.0, 2, 4, 8, 16])
    assert math.isclose(loglog_slope(x, 3 * x**-1.5), -1.5, rel_tol=1e-12)
    with pytest.raises(ValueError, match="x, y"):
        loglog_slope([1.0], [1.0])


def test_leading_passes_stops_at_the_first_failure():
    ok = [[True, True, False, True],   # a later pass does not count
          [False, True, True, True],
          [True, True, True, True]]
    assert leading_passes(ok).tolist() == [2, 0, 4]
    assert int(leading_passes([])) == 0
