"""The phonon demo sections (jaxem/cli/sections/phonon_ni.py, phonon_sic.py) run at their small size
into a temporary folder; the figures, tables and text they promise are checked against what they
plot: TACAW peaks on the phonopy branches drawn in the same figure, the Hann time–energy
resolution, energy flowing from the excited optic mode into the acoustic branches, tables that
agree with the images. Each section runs once per module (≈ 10 s of CPU each on 2 cores)."""
import math
import re
from pathlib import Path

import numpy as np
import pytest

from jaxem.cli.gallery import SectionContext

from .conftest import needs_lammps

H_MEV_FS = 4135.667696  # h [meV·fs] (CODATA 2018)


class Recorder(SectionContext):
    """A section context that keeps what each figure shows (lines, images, mesh centres, labels)."""

    def __init__(self, out: Path, key: str):
        super().__init__(out, key, "small")
        self.figs, self.tables, self.texts = {}, [], []

    def figure(self, name, fig, caption=""):
        axes = []
        for ax in fig.axes:
            meshes = [c for c in ax.collections if hasattr(c, "get_coordinates")]
            axes.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                         "lines": {ln.get_label(): (np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float))
                                   for ln in ax.get_lines()},
                         "images": [np.asarray(im.get_array(), float) for im in ax.images]
                         + [np.asarray(m.get_array(), float) for m in meshes],
                         "mesh_vertices": [np.asarray(m.get_coordinates()) for m in meshes]})
        self.figs[name] = {"axes": axes, "caption": caption}
        return super().figure(name, fig, caption)

    def table(self, header, rows, caption=""):
        self.tables.append((list(header), [list(r) for r in rows]))
        super().table(header, rows, caption)

    def text(self, content):
        self.texts.append(content)
        super().text(content)


def _run(tmp_path_factory, key):
    """Run a section as ``jaxem demo`` does, in a program with JAX's 64-bit mode off (the test
    session has it on): the section must get its float64 from ``accel.float64_mode`` and leave the
    mode off for the sections after it."""
    import importlib

    import jax

    from jaxem import accel

    ctx = Recorder(tmp_path_factory.mktemp(key), key)
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)  # globally, as in `jaxem demo` (a context would mask a leak)
    try:
        importlib.import_module(f"jaxem.cli.sections.{key}").run(ctx)
        ctx.x64_after = accel.x64_enabled()
    finally:
        jax.config.update("jax_enable_x64", before)
    return ctx


@pytest.fixture(scope="module")
def ni(tmp_path_factory):
    return _run(tmp_path_factory, "phonon_ni")


@pytest.fixture(scope="module")
def sic(tmp_path_factory):
    return _run(tmp_path_factory, "phonon_sic")


def _check_figures(ctx, names):
    """Every promised figure is written (a real PNG), every plot has labelled axes, every image a
    labelled colour bar, and nothing plotted is NaN."""
    assert sorted(ctx.figs) == sorted(names)
    assert not ctx.x64_after, "the section left JAX's 64-bit mode switched on"
    for name, fig in ctx.figs.items():
        png = ctx.out / "figures" / f"{ctx.key}_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name
        plots = [a for a in fig["axes"] if a["xlabel"]]
        bars = [a for a in fig["axes"] if not a["xlabel"]]
        assert plots and all(a["ylabel"] for a in plots), name
        n_images = sum(len(a["images"]) for a in plots)
        assert len(bars) == n_images and all(a["ylabel"] for a in bars), f"{name}: a colour bar without a label"
        for a in plots:
            assert all(np.isfinite(i).all() for i in a["images"]), name
            assert all(np.isfinite(y).all() for _, y in a["lines"].values()), name
        assert fig["caption"]


@needs_lammps
def test_ni_section_figures(ni):
    _check_figures(ni, ["dispersion", "spectrum_image", "tds_maps", "ellipses", "satellites", "stft"])
    maps = [a for a in ni.figs["tds_maps"]["axes"] if a["xlabel"]]
    times = [float(re.fullmatch(r"t = (\d+) fs", a["title"]).group(1)) for a in maps]
    assert len(maps) == 4 and times[0] == 0 and np.all(np.diff(times) > 0)


@needs_lammps
def test_ni_dispersion_peaks_lie_on_the_phonopy_branches(ni):
    """At the X-equivalent columns of the plot (Q_x = 0, 2 [1/a]: (1,−1,0) and (1,−1,2)) and half-way
    to Γ (Q_x = 0.5, 1.5), the strongest TACAW line above 5 meV sits within one energy bin of a
    phonopy branch drawn (dashed) at that Q_x."""
    ax = ni.figs["dispersion"]["axes"][0]
    logs, vertices = ax["images"][0].reshape(ax["mesh_vertices"][0].shape[0] - 1, -1), ax["mesh_vertices"][0]
    x = 0.5 * (vertices[0, 1:, 0] + vertices[0, :-1, 0])
    e = 0.5 * (vertices[1:, 0, 1] + vertices[:-1, 0, 1])
    d_e = float(np.median(np.diff(e)))
    branches = list(ax["lines"].values())
    for q in (0.0, 0.5, 1.5, 2.0):
        col = int(np.argmin(np.abs(x - q)))
        assert abs(x[col] - q) < 1e-6
        sel = e > 5.0
        peak = float(e[sel][np.argmax(logs[sel, col])])
        drawn = [float(np.interp(q, bx[np.argsort(bx)], by[np.argsort(bx)])) for bx, by in branches
                 if bx.min() - 1e-9 <= q <= bx.max() + 1e-9]
        assert min(abs(peak - d) for d in drawn) <= d_e, (q, peak, sorted(drawn))


@needs_lammps
def test_ni_short_time_tacaw_resolution_is_the_hann_width(ni):
    """Each window's energy FWHM in the table is 1.4406 h/T (Hann main lobe), and the legend agrees."""
    [(header, rows)] = ni.tables
    assert header == ["window [fs]", "energy FWHM [meV]", "windows"] and len(rows) == 3
    legend = list(ni.figs["stft"]["axes"][0]["lines"])
    for (t, fwhm, n), label in zip(rows, legend):
        assert float(fwhm) == pytest.approx(1.4406 * H_MEV_FS / float(t), rel=0.01)
        assert label == f"window {t} fs (FWHM {fwhm} meV)" and n >= 1


@needs_lammps
def test_ni_excitation_and_satellites(ni):
    """The excited TA(X) mode starts far above equipartition and the text reports τ with its σ; the
    frozen-wave pattern keeps ≤ 1 of the beam with the unscattered beam the strongest pixel."""
    a2 = ni.figs["ellipses"]["axes"][1]
    mode = a2["lines"]["TA(X) mode energy"][1]
    equi = a2["lines"]["equipartition"][1][0]
    assert 0 < equi < 3 and mode[0] > 5 * equi
    [text] = ni.texts
    tau, sig = map(float, re.search(r"τ = (\d+) ± (\d+) fs", text).groups())
    assert tau > 0 and sig > 0
    pat = 10 ** ni.figs["satellites"]["axes"][0]["images"][0]
    assert np.unravel_index(np.argmax(pat), pat.shape) == (16, 16) and pat.sum() <= 1.0 + 1e-6


@needs_lammps
def test_sic_section_figures_and_energy_bins(sic):
    _check_figures(sic, ["energy_resolved", "energy_flow", "mode_resolved"])
    titles = [a["title"] for a in sic.figs["energy_resolved"]["axes"] if a["xlabel"]]
    bins = [tuple(map(float, re.fullmatch(r"(\d+)–(\d+) THz \((\d+)–(\d+) meV\)", t).groups())) for t in titles]
    assert [b[:2] for b in bins][:2] == [(0, 12), (12, 20)] and bins[2][0] == 20 and 25 < bins[2][1] < 35
    for lo, hi, lo_mev, hi_mev in bins:  # h·ν: 1 THz = 4.1357 meV
        assert abs(lo_mev - lo * H_MEV_FS / 1000) <= 0.5 and abs(hi_mev - hi * H_MEV_FS / 1000) <= 1.0


@needs_lammps
def test_sic_energy_flows_from_the_optic_into_the_acoustic_branches(sic):
    lines = sic.figs["energy_flow"]["axes"][0]["lines"]
    t, acoustic = lines["acoustic branches"]
    optic = lines["optic branches"][1]
    assert acoustic[0] == 0 and optic[0] == 0 and t[-1] > 300
    assert optic[-1] < -2 and acoustic[-1] > 2  # [k_BT] after 20 k_BT in the Γ optic mode


@needs_lammps
def test_sic_table_is_the_sum_of_the_mode_resolved_images(sic):
    [(header, rows)] = sic.tables
    assert header == ["branch group", "delay [fs]", "Σ one-phonon TDS"] and len(rows) == 6
    panels = {a["title"]: a["images"][0] for a in sic.figs["mode_resolved"]["axes"] if a["xlabel"]}
    for name, delay, total in rows:
        img = 10 ** panels[f"{name}, t = {delay} fs"] - 1e-12
        assert total > 0 and np.sum(img) == pytest.approx(total, rel=1e-6)


@needs_lammps
def test_ni_spectrum_image_panel(ni):
    """The vibrational map varies over the cell, and every plotted spectrum has more loss than gain
    (the quantum factor at 300 K: S(E)/S(−E) = e^{E/k_BT} for a harmonic trajectory)."""
    m, sp = [a for a in ni.figs["spectrum_image"]["axes"] if a["xlabel"]]
    img = m["images"][0]
    assert img.shape == (4, 6) and np.ptp(img) > 0.02 * img.mean() > 0
    for e, y in sp["lines"].values():
        loss, gain = y[(e > 5) & (e < 40)].sum(), y[(e < -5) & (e > -40)].sum()
        assert loss > gain > 0
