"""PRISM's accuracy: what the interpolation factor f does to detector signals, the one definition of
the HAADF and 4D-STEM errors against multislice, and the accuracy model.

What PRISM at f computes. The plane waves on every f-th reciprocal-lattice point build a probe array
of period L/f, the periodisation Σ_m p(r − r₀ − mL/f) of the exact probe (Poisson summation), and
multislice is linear, so PRISM's exit wave is Σ_m ψ(r; r₀ + mL/f), the exit waves of the whole
array. Where the specimen repeats with the window (L/f a multiple of the lattice period, every
slice), ψ(r; r₀ + s) = ψ(r − s; r₀) and PRISM's window holds one period of the periodised exact
exit wave: its diffraction pattern is then *exactly* the multislice pattern at every f-th pixel,
rescaled by Σ_fine|P|²/Σ_coarse|P|² (each method normalises the probe on its own lattice), however
far the probe spreads. What differs is the detector integral: an annular detector sums the pattern
over f times coarser pixels, a quadrature of a pattern whose fine structure has the scale
1/(extent of the exit wave), and the exit wave of a thick specimen is wide: electrons scattered to
θ at depth z travel θ·(t − z) sideways (50–80 mrad through 20 nm: 10–16 Å, far beyond the vacuum
probe's cone). For a specimen that does not repeat with the window (defects, amorphous, frozen
phonons) the neighbouring copies' exit waves inside the window differ from the probe's own tails and
the patterns themselves change, by the amplitude of what the exit wave puts outside the window.

What sets the HAADF floor at f = 2 (``benchmarks/prism_pixelation.py``; SrTiO3 [001], 300 kV, 20 mrad,
HAADF 55–83 mrad, 16 positions over a unit cell; PRISM vs multislice, max|ΔI|/max I [%] with
centre-inclusion / area-fraction detector weights, :class:`~jaxem.stem.AnnularDetector` ``weighting``;
"leak": the vacuum probe's intensity outside the L/2 window, :func:`window_leakage`)::

    aperture      cells  t [nm]   f = 2           f = 4          leak f = 2 [%]
    hard          8      0.4      0.83 / 0.82     1.02 / 1.73    1.01
    hard          8      5.1      1.62 / 1.39     2.87 / 3.15    1.03
    hard          8      10.2     0.89 / 1.36     2.47 / 3.11    1.08
    hard          8      20.3     3.36 / 2.86     17.9 / 13.0    1.34
    hard          12     5.1      0.59 / 0.26     2.61 / 2.95    0.69
    2 mrad edge   8      0.4      0.050 / 0.023   1.86 / 0.16    0.038
    2 mrad edge   8      5.1      0.16 / 0.12     3.50 / 0.89    0.048
    2 mrad edge   8      10.2     0.13 / 0.31     1.76 / 0.76    0.081
    2 mrad edge   8      20.3     2.81 / 2.44     21.2 / 16.3    0.28
    2 mrad edge   12     5.1      0.50 / 0.070    0.16 / 0.46    0.002

The thin-specimen floor is not the annulus's pixelation: exact area weights leave it at 0.82 %, while a
raised-cosine aperture edge of 2 mrad (1.6 window pixels at f = 2) lowers it to 0.05 %. It is the hard
aperture's Airy tails (intensity ∝ r⁻³): 1 % of the vacuum probe lies outside the 15.6 Å window and
interferes with the neighbouring copies (in k: every disk edge is a discontinuity the coarser lattice
samples differently); the soft edge leaves 0.04 % outside. Where the pattern is smooth on PRISM's pixels
(soft edge, thin) the area weights remove what is left of the detector's quadrature (8 cells, f = 4:
1.86 → 0.16 %); elsewhere they move the error either way. Against a continuum reference (multislice in a
supercell twice as large per axis, area weights), multislice with area weights is as close or closer in
11 of 14 cases (e.g. 20.3 nm: 0.20 vs 0.49 %), PRISM in 13 of 28 only (mostly worse with a hard
aperture), so both keep centre inclusion (abTEM's and Prismatic's form) by default. Through 20 nm the
error is the beam spreading beyond the 15.6 Å window. (4 × 4 cells, a 7.8 Å window: 0.75–12 %, larger
with either weighting or edge.) At lower angles the annulus's pixelation is the other half: ADF 40–60 mrad,
8 × 8 cells, 0.4 nm, 36 pixels per cell, f = 2: 1.45 % (hard aperture, centre), 0.73 % (hard, fraction),
0.73 % (2 mrad edge, centre), 0.007 % (edge, fraction) — ``tests/stem/test_prism_pixelation.py``. For
PRISM at f > 1, a soft-edged aperture and ``weighting="fraction"`` together remove the thin-specimen floor.

Error definitions (one helper, :func:`prism_errors`, used by the tests, ``benchmarks/prism.py`` and
the demo):

* integrated detectors (HAADF, BF, …): max over the scan of |I − I_ref| / max(I_ref) (the image's
  largest deviation relative to its maximum), :func:`image_error`;
* 4D-STEM patterns, on PRISM's (f times coarser) pixels, max over scan positions of the relative L2
  norm ‖P − R‖/‖R‖ of one pattern (:func:`pattern_error`), with R the multislice pattern brought to
  PRISM's pixels in one of two ways: ``"sampled"`` (the headline: the multislice pattern at the same
  angles, i.e. every f-th pixel, rescaled by Σ_fine|P|²/Σ_coarse|P|²: like for like, PRISM's own
  approximation; zero to round-off where the specimen repeats with the window) or ``"binned"`` (the
  multislice intensity summed over each PRISM pixel, f × f fine pixels with half weights on shared
  edges for even f: what a detector with PRISM's pixels records; dominated by the pixelation of the
  hard aperture's disk edge, which any simulation at that sampling has).

Before this module, the test compared PRISM's patterns with the exact exit wave *cut* to the window
(tails dropped instead of wrapped): that measured the difference of two truncations (≈ 16 % on the
benchmark case), not PRISM's error, which is 0 there by the argument above.

The model (:func:`prism_error_estimate`) is PRISM's construction at a few probe positions: multislice of
the probe built from every f-th plane wave (one run per position, the periodised probe) read in the
L/f window, against multislice of the exact probe; it includes the specimen's beam spreading and
its lack of periodicity, costs 2P probe runs (≪ a scan), and equals :func:`jaxem.stem.prism_scan` at
those positions. Measured on SrTiO3 [001] (``benchmarks/prism_accuracy.py``, HAADF 55–83 mrad, 8 × 8
cells, 20.3 nm): f = 2 3.36 %, f = 4 17.9 % at 16 positions over a unit cell, which is what
``benchmarks/prism.py`` measured with ``prism_scan`` over its 64 error positions (3.4 %, 17.9 %).
The error is not monotonic in the thickness: 2 × 2 SrTiO3 cells, 80² pixels, f = 2, HAADF 45–66 mrad, 12
slices: 0.30 at 43.0 Å but 0.08–0.09 at the 46.9 Å exit surface (``tests/stem/test_prism_exit_planes.py``),
so for a thickness series the model judges every exit plane (``exit_planes``) and reports the worst.
"""
from __future__ import annotations

import hashlib
import json
import math
from functools import partial

import jax
import numpy as np

from .. import accel, validate
from ..optics.probes import probe, probe_transfer
from ..potential import PotentialSlices
from ..propagate.multislice import exit_slice_counts
from .detectors import AnnularDetector, PixelatedDetector, SegmentedDetector
from .prism import check_interpolation, window_grid

__all__ = ["image_error", "pattern_error", "detector_error", "prism_errors", "aperture_ratio", "prism_error_estimate", "window_leakage",
           "probe_extent", "check_window", "EXTENT_FRACTION"]

#: the probe's extent holds this fraction of its intensity (the window must hold it)
EXTENT_FRACTION = 0.9
#: the default probe positions of the model: a 3 × 3 raster of this step [Å] from the cell's centre
MODEL_STEP = 1.0


def _max_angle(sim) -> float:
    return sim.semi_angle + 0.5 * sim.edge_width


# ---- the one error definition --------------------------------------------------------------------
def image_error(image, reference) -> float:
    """max|I − I_ref| / max(I_ref) over all positions (and thicknesses) of an integrated signal."""
    a, r = np.asarray(image, np.float64), np.asarray(reference, np.float64)
    if a.shape != r.shape:
        raise validate.InputError(f"image has shape {a.shape}, reference {r.shape}: they must be equal")
    diff, top = float(np.max(np.abs(a - r))), float(np.max(np.abs(r)))
    if top == 0.0:  # an empty reference (e.g. CoM on a mirror line): exact only if the image is empty too
        return 0.0 if diff == 0.0 else math.inf
    return diff / top


def _bin_weights(f: int) -> tuple:
    off = np.arange(-(f // 2), f // 2 + 1)
    w = np.ones(len(off))
    if f % 2 == 0:
        w[0] = w[-1] = 0.5
    return off, w


def pattern_error(patterns, reference, interpolation, compare: str = "sampled", ratio: float = 1.0) -> float:
    """max over positions of ‖P − R‖₂/‖R‖₂ per pattern (see the module docstring).

    Args:
        patterns: (…, h_y, h_x) PRISM patterns, centred (:class:`PixelatedDetector` layout, bin 1).
        reference: (…, g_y, g_x) multislice patterns of the same detector on the fine grid, centred.
        interpolation: f (int or (f_y, f_x)).
        compare: ``"sampled"`` (reference at PRISM's angles × ``ratio``) or ``"binned"`` (summed over
            PRISM's pixels; only pixels whose f × f bin lies inside the reference are compared).
        ratio: Σ_fine|P|²/Σ_coarse|P|² (:func:`aperture_ratio`), for ``"sampled"``.
    """
    compare = validate.choice(compare, "compare", ("sampled", "binned"))
    f = validate.pair(interpolation, "interpolation", kind=int, lo=1)
    p, r = np.asarray(patterns, np.float64), np.asarray(reference, np.float64)
    if p.shape[:-2] != r.shape[:-2]:
        raise validate.InputError(f"patterns {p.shape} and reference {r.shape} must have the same scan shape")
    idx, ok = [], []
    for hp, hr, fi in zip(p.shape[-2:], r.shape[-2:], f):
        i = hr // 2 + fi * (np.arange(hp) - hp // 2)
        lo, hi = (0, 0) if compare == "sampled" else (fi // 2, fi // 2)
        good = (i - lo >= 0) & (i + hi < hr)
        if not good.any():
            raise validate.InputError(f"reference patterns of {r.shape[-2:]} pixels do not reach PRISM's "
                                      f"{p.shape[-2:]} pixels at f = {f}: use the same detector for both")
        idx.append(i)
        ok.append(good)
    if compare == "sampled":
        ref = ratio * r[..., np.clip(idx[0], 0, r.shape[-2] - 1)[:, None], np.clip(idx[1], 0, r.shape[-1] - 1)[None]]
    else:
        ref = np.zeros(p.shape)
        (oy, wy), (ox, wx) = _bin_weights(f[0]), _bin_weights(f[1])
        for a, wa in zip(oy, wy):
            iy = np.clip(idx[0] + a, 0, r.shape[-2] - 1)
            for b, wb in zip(ox, wx):
                ix = np.clip(idx[1] + b, 0, r.shape[-1] - 1)
                ref = ref + wa * wb * r[..., iy[:, None], ix[None, :]]
    m = ok[0][:, None] & ok[1][None, :]
    num = np.sqrt((((p - ref) * m) ** 2).sum((-2, -1)))
    den = np.sqrt(((ref * m) ** 2).sum((-2, -1)))
    return float(np.max(num / den))


def aperture_ratio(sim, grid, interpolation) -> float:
    """Σ|P(k)|² over the grid's reciprocal lattice / Σ over every f-th point: multislice normalises the
    probe on the first, PRISM on the second, so PRISM's pattern is the multislice pattern at its
    pixels times this ratio (1 at f = 1)."""
    f = check_interpolation(interpolation, grid)
    p = np.abs(np.asarray(probe_transfer(grid, sim.beam, sim.semi_angle, sim.aberrations, sim.edge_width,
                                         precision="float64" if accel.x64_enabled() else None)).astype(np.complex128)) ** 2
    return float(p.sum() / p[::f[0], ::f[1]].sum())


def prism_errors(prism: dict, reference: dict, sim, grid, interpolation, compare: str = "sampled") -> dict:
    """{output name: error} of a PRISM scan against a multislice scan of the same ``sim`` and scan
    (dicts of :class:`~jaxem.measurement.Measurement` as returned by :func:`jaxem.stem.stem_scan`):
    :func:`image_error` for integrated detectors, :func:`pattern_error` (``compare``) for pixelated
    ones (with bin 1). ``grid`` is the simulation grid."""
    f = check_interpolation(interpolation, grid)
    out = {}
    for d in sim.detectors:
        channels = d.channel_names()
        missing = [c for c in channels if c not in prism or c not in reference]
        if missing:
            raise validate.InputError(f"prism and reference must hold every output of sim's detectors: "
                                      f"{missing} missing (detector {d.name!r})")
        a, r = (np.stack([np.asarray(res[c].array) for c in channels], -1) if isinstance(d, SegmentedDetector)
                else np.asarray(res[d.name].array) for res in (prism, reference))
        if isinstance(d, PixelatedDetector) and d.bin != 1:
            raise validate.InputError(f"detector {d.name!r} has bin = {d.bin}; compare patterns with bin = 1")
        out[d.name] = detector_error(d, a, r, f, compare, aperture_ratio(sim, grid, f))
    return out


def detector_error(detector, signal, reference, interpolation, compare: str = "sampled", ratio: float = 1.0) -> float:
    """The error of one detector's PRISM ``signal`` against multislice's ``reference`` (the raw detector
    signals, …, *signal): :func:`pattern_error` for a pixelated detector (``compare``, ``ratio``, bin 1),
    the largest :func:`image_error` over the channels of a segmented detector (each channel relative
    to its own maximum, as its own image), :func:`image_error` of the whole signal for any other
    detector (annular: the image; centre of mass: max|ΔCoM| over positions and both components
    relative to max|CoM|)."""
    a, r = np.asarray(signal, np.float64), np.asarray(reference, np.float64)
    if isinstance(detector, PixelatedDetector):
        return pattern_error(a, r, interpolation, compare, ratio)
    if isinstance(detector, SegmentedDetector):
        if a.shape != r.shape:
            raise validate.InputError(f"image has shape {a.shape}, reference {r.shape}: they must be equal")
        return max(image_error(a[..., i], r[..., i]) for i in range(a.shape[-1]))
    return image_error(a, r)


# ---- the model -----------------------------------------------------------------------------------
def _exit_waves(sim, potential, waves_k, positions, exits=None) -> np.ndarray:
    """Exit waves (P, E, n_y, n_x) complex128 of the probes with Fourier coefficients ``waves_k`` (n_y, n_x)
    (unnormalised transfer) focused at ``positions`` (P, 2) [Å], each with Σ|ψ|² = 1 per window
    (the transfer's lattice fixes the window: the whole cell, or L/f for every f-th point), at the
    E exit planes ``exits`` (slice counts; None: the exit surface only, E = 1)."""
    from ..propagate import multislice, waves_from_array

    grid = potential.grid
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    pos = np.asarray(positions, np.float64).reshape(-1, 2)
    ph = np.exp(-2j * np.pi * (pos[:, 0, None, None] * ky[None, :, None] + pos[:, 1, None, None] * kx[None, None]))
    psi = np.fft.ifft2(waves_k[None] * ph)
    psi = psi / np.sqrt(np.sum(np.abs(psi[0]) ** 2))  # Σ|ψ|² = 1 over the cell
    dtype = np.complex128 if accel.x64_enabled() else np.complex64
    w = waves_from_array(psi.astype(dtype), grid, sim.beam)
    out = np.asarray(multislice(w, potential, exit_planes=exits).array).astype(np.complex128)
    return out[:, None] if exits is None else out


def _window_patterns(exits, positions, grid, f) -> np.ndarray:
    """|F[ψ·W]|²/N_w (P, E, n_y/f_y, n_x/f_x) of the exit waves (P, E, n_y, n_x) cut to the L/f window
    centred on each probe, Σ = 1 in vacuum (the exit waves hold f_y·f_x in the cell: one per window)."""
    out = []
    for psi, p in zip(exits, positions):
        idx = []
        for axis, (n, fi, d) in enumerate(zip(grid.gpts, f, grid.sampling)):
            w = n // fi
            idx.append(np.arange(int(np.round(p[axis] / d)) - w // 2, int(np.round(p[axis] / d)) - w // 2 + w) % n)
        win = psi[:, idx[0][:, None], idx[1][None, :]] * math.sqrt(f[0] * f[1])
        out.append(np.abs(np.fft.fft2(win)) ** 2 / (win.shape[-2] * win.shape[-1]))
    return np.asarray(out)


@validate.typed
def prism_error_estimate(sim, potential: PotentialSlices, interpolation, positions=None, exit_planes=None) -> dict:
    """Expected errors of PRISM at ``interpolation`` f against multislice (definitions as
    :func:`prism_errors`), from PRISM's own construction at a few probe positions.

    PRISM's exit wave of a probe at r₀ is the multislice exit wave of the probe built from every f-th
    plane wave (the periodised probe, one copy per window), read in the L/f window around r₀. The model
    runs multislice for that probe and for the exact probe at ``positions`` (P, 2) [Å] (default: a 3 × 3
    raster of 1 Å steps from the cell's centre), reads both as PRISM and multislice do, and returns
    the errors there: this is PRISM's result at those positions (to the half band pixel by which
    PRISM's window may sit differently), the specimen's beam spreading and its lack of periodicity
    included; over a scan the largest error may lie at positions not sampled. Cost: 2P probe
    multislice runs (P for the exact probes, shared by every f). f = 1 is exact (all errors 0).

    Every detector of ``sim`` is judged with the one error definition (:func:`detector_error`: images
    max|ΔI|/max I, segmented detectors channel by channel, CoM max|ΔCoM|/max|CoM|, 4D patterns the
    relative L2 norm at PRISM's pixels, "sampled", bin 1): the signals do not share one error (at f = 2
    on SrTiO3 the BF error was 3× the HAADF error), so a decision must use the worst.

    ``exit_planes`` (as :func:`jaxem.stem.stem_scan`: None for the exit surface only, an int step or
    slice counts) judges every exit plane of a thickness series: the error need not grow with the
    thickness (a signal passing through a thickness minimum, e.g. BF, has a larger relative error
    there), so every entry below is the worst over the planes, and ``"by_plane"`` keeps each plane's.

    Returns:
        {"detectors": {detector name: error} for every detector of ``sim`` (the largest over the exit
        planes), "detector": the name of the worst, "error": its error (the one a tolerance is checked
        against), "thickness": the exit plane [Å] where it occurs, "exit_planes": the slice counts
        judged, "thicknesses": their thicknesses [Å], "by_plane": [{detector name: error}] per plane,
        "haadf": largest error of
        the sim's annular detectors (a 3α to 0.98·cut-off HAADF if it has none), "pattern":
        :func:`pattern_error` ("sampled") over the sim's pixelated detectors' angles (0.9 × the
        cut-off if none), "pattern_binned": the same, "binned", "window": (y, x) [Å], "extent": the
        vacuum probe's extent [Å], "positions": (P, 2) [Å]}.
    """
    _check_sim(sim)
    validate.instance(potential, "potential", PotentialSlices)
    grid = potential.grid
    f = check_interpolation(interpolation, grid)
    win = tuple(L / fi for L, fi in zip(grid.extent, f))
    ext = probe_extent(sim, grid, potential.thickness)
    pos = (_default_positions(grid) if positions is None else
           np.asarray(validate.array(positions, "positions", finite=True, units="Å"), np.float64).reshape(-1, 2))
    exits = exit_slice_counts(exit_planes, potential.n_slices)
    planes = (potential.n_slices,) if exits is None else exits
    thick = tuple(float(n * potential.slice_thickness) for n in planes)
    zero = {d.name: 0.0 for d in sim.detectors}
    out = {"detectors": dict(zero), "detector": sim.detectors[0].name, "error": 0.0, "thickness": thick[-1],
           "exit_planes": planes, "thicknesses": thick, "by_plane": [dict(zero) for _ in planes],
           "haadf": 0.0, "pattern": 0.0, "pattern_binned": 0.0, "window": win, "extent": ext, "positions": pos}
    if f == (1, 1):
        return out
    key = (json.dumps(sim.to_dict(), sort_keys=True, default=repr), potential.sequence, potential.slice_thickness,
           grid, hashlib.sha1(np.ascontiguousarray(np.asarray(potential.array))).hexdigest(), pos.tobytes(), exits)
    if _EXACT_CACHE.get("key") != key:
        pk = np.asarray(probe_transfer(grid, sim.beam, sim.semi_angle, sim.aberrations, sim.edge_width,
                                       precision="float64" if accel.x64_enabled() else None)).astype(np.complex128)
        _EXACT_CACHE.update(key=key, pk=pk, exact=_window_patterns(_exit_waves(sim, potential, pk, pos, exits), pos,
                                                                   grid, (1, 1)))
    pk, exact = _EXACT_CACHE["pk"], _EXACT_CACHE["exact"]
    mask = np.zeros(grid.gpts, bool)
    mask[::f[0], ::f[1]] = True
    coarse_k = np.where(mask, pk, 0)
    prism = _window_patterns(_exit_waves(sim, potential, coarse_k, pos, exits), pos, grid, f)
    beam, wg = sim.beam, window_grid(grid, f)
    ratio = float(np.sum(np.abs(pk) ** 2) / np.sum(np.abs(coarse_k) ** 2))
    own = tuple(PixelatedDetector(d.max_angle, name=d.name) if isinstance(d, PixelatedDetector) else d
                for d in sim.detectors)  # patterns are compared at PRISM's pixels: bin 1
    ann = [i for i, d in enumerate(own) if isinstance(d, AnnularDetector)]
    pix = [i for i, d in enumerate(own) if isinstance(d, PixelatedDetector)]
    extra = ()  # the defaults of "haadf" and "pattern" where the sim has no such detector
    if not ann:
        ann, extra = [len(own)], extra + (AnnularDetector(3 * sim.semi_angle, 0.98 * beam.cutoff_angle(grid), "HAADF"),)
    if not pix:
        pix, extra = [len(own) + len(extra)], extra + (PixelatedDetector(0.9 * beam.cutoff_angle(grid), name="4D"),)
    dets = own + extra
    a_sig = _apply_detectors(dets, tuple(d.prepare(beam, wg) for d in dets), prism)
    r_sig = _apply_detectors(dets, tuple(d.prepare(beam, grid) for d in dets), exact)
    # signals (P, E, …): axis 1 is the exit plane; each plane is judged as its own scan
    errs = np.array([[detector_error(d, np.asarray(a)[:, e], np.asarray(r)[:, e], f, "sampled", ratio)
                      for e in range(len(planes))] for d, a, r in zip(dets, a_sig, r_sig)])  # (detector, plane)
    out["by_plane"] = [{d.name: float(errs[i, e]) for i, d in enumerate(own)} for e in range(len(planes))]
    out["detectors"] = {d.name: float(errs[i].max()) for i, d in enumerate(own)}  # every detector of sim
    i, e = np.unravel_index(np.argmax(errs[:len(own)]), errs[:len(own)].shape)
    out["detector"], out["error"], out["thickness"] = own[i].name, float(errs[i, e]), thick[e]
    out["haadf"] = float(errs[ann].max())
    out["pattern"] = float(errs[pix].max())
    out["pattern_binned"] = max(pattern_error(np.asarray(a_sig[i]), np.asarray(r_sig[i]), f, "binned") for i in pix)
    return out


@partial(jax.jit, static_argnums=0)
def _apply_detectors(detectors, states, patterns):
    """The detectors' signals of ``patterns`` (…, n_y, n_x), one compiled function per detector set and
    grid (eager, every detector op would compile on its own for every window size)."""
    return tuple(d.apply(s, patterns) for d, s in zip(detectors, states))


#: the exact probes' patterns of the last call (one multislice run serves every f of a table)
_EXACT_CACHE: dict = {}


def _default_positions(grid) -> np.ndarray:
    c = np.asarray(grid.extent) / 2
    s = min(MODEL_STEP, min(grid.extent) / 8)
    return np.asarray([c + (dy, dx) for dy in (0.0, s, 2 * s) for dx in (0.0, s, 2 * s)])


# ---- the vacuum probe: its extent (the window must hold it) ---------------------------------------
def _check_sim(sim) -> None:
    from .scanning import STEMSimulation  # the run layer imports this module
    validate.instance(sim, "sim", STEMSimulation)


def _vacuum_probes(sim, grid, thickness: float):
    """|ψ|² (2, n_y, n_x) float64 of the probe centred in the cell at the entrance and the exit
    surface (free-space propagation through ``thickness`` [Å])."""
    _check_sim(sim)
    thickness = validate.scalar(thickness, "thickness", "Å", nonnegative=True)
    key = (json.dumps({k: v for k, v in sim.to_dict().items() if k != "detectors"}, sort_keys=True, default=repr),
           grid, float(thickness))
    if _VACUUM_CACHE.get("key") != key:  # choose_method asks for the same probe once per f
        _VACUUM_CACHE.update(key=key, probes=_vacuum_probes_of(sim, grid, float(thickness)))
    return _VACUUM_CACHE["probes"]


#: the vacuum probes of the last call (the extent does not depend on f)
_VACUUM_CACHE: dict = {}


def _vacuum_probes_of(sim, grid, thickness: float) -> np.ndarray:
    p = np.asarray(probe_transfer(grid, sim.beam, sim.semi_angle, sim.aberrations, sim.edge_width)).astype(
        np.complex128)  # float32 transfer (precision enough for a leakage estimate), float64 from here
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    centre = np.exp(-2j * np.pi * (ky[:, None] * grid.extent[0] / 2 + kx[None, :] * grid.extent[1] / 2))
    out = []
    for t in (0.0, float(thickness)):
        psi = np.fft.ifft2(p * centre * np.exp(-1j * np.pi * sim.beam.wavelength * t * k2))
        i = np.abs(psi) ** 2
        out.append(i / i.sum())
    return np.stack(out)


def window_leakage(sim, grid, thickness: float, interpolation) -> float:
    """Fraction of the vacuum probe's intensity outside the PRISM window of (L_y/f_y, L_x/f_x) [Å]
    centred on it, the larger of the entrance and the exit surface (``thickness`` [Å])."""
    f = check_interpolation(interpolation, grid)
    probes = _vacuum_probes(sim, grid, thickness)
    inside = np.ones(grid.gpts, bool)
    for axis, (n, fi) in enumerate(zip(grid.gpts, f)):
        w = n // fi
        idx = np.arange(n)
        lo = n // 2 - w // 2
        sel = (idx >= lo) & (idx < lo + w)
        inside &= sel[:, None] if axis == 0 else sel[None, :]
    return float(max(0.0, 1.0 - min(float(p[inside].sum()) for p in probes)))


def probe_extent(sim, grid, thickness: float, fraction: float = EXTENT_FRACTION) -> float:
    """Side [Å] of the smallest centred square holding ``fraction`` of the vacuum probe's intensity at
    both the entrance and the exit surface (``thickness`` [Å])."""
    _check_sim(sim)
    fraction = validate.scalar(fraction, "fraction", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    probes = _vacuum_probes(sim, grid, thickness)
    ys, xs = (np.abs((np.arange(n) - n // 2) * d) for n, d in zip(grid.gpts, grid.sampling))
    cheb = np.maximum(ys[:, None], xs[None, :])
    order = np.argsort(cheb, axis=None)
    r = cheb.ravel()[order]
    worst = 0.0
    for p in probes:
        c = np.cumsum(p.ravel()[order])
        worst = max(worst, float(r[min(len(r) - 1, int(np.searchsorted(c, fraction)))]))
    return 2 * worst + max(grid.sampling)


def check_window(sim, grid, thickness: float, interpolation, name: str = "interpolation") -> None:
    """Raise unless the PRISM window (L/f) holds the probe's extent (f = 1 is multislice's own cell and
    always accepted); the error names f, the window, the extent and the factors that would work."""
    f = check_interpolation(interpolation, grid, name)
    if f == (1, 1):
        return
    ext = probe_extent(sim, grid, thickness)
    win = tuple(L / fi for L, fi in zip(grid.extent, f))
    if min(win) >= ext:
        return
    ok = [d for d in range(1, 65) if all(n % d == 0 and L / d >= ext for n, L in zip(grid.gpts, grid.extent))]
    cells = tuple(math.ceil(ext * fi / L * 10) / 10 for fi, L in zip(f, grid.extent))
    raise validate.InputError(
        f"{name} = {f if f[0] != f[1] else f[0]} gives a PRISM window of {win[0]:.4g} × {win[1]:.4g} Å, smaller than "
        f"the probe's extent {ext:.4g} Å ({100 * EXTENT_FRACTION:g} % of its intensity at the entrance or exit "
        f"surface of the {thickness:.4g} Å specimen): use {name} = {max(ok) if ok else 1} (largest that fits)"
        f" or a cell ≥ {cells[0]:g} × {cells[1]:g} times larger (y, x)")
