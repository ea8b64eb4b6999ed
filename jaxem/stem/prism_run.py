"""PRISM STEM scans: S-matrix under the memory budget, tiles of probe positions, thermal ensembles,
streaming, and the accuracy model that lets :func:`jaxem.stem.stem_scan` choose (``method="auto"``).

:func:`prism_scan` has the arguments and the result of :func:`jaxem.stem.stem_scan` (detectors,
thickness series, frozen phonons from Einstein configurations or MD snapshots, absorptive
potentials, ``chunk_callback`` for streaming), plus the interpolation factor f. The S-matrix
(:mod:`jaxem.stem.prism`) is built by the one slice step, plane waves in batches from
:func:`jaxem.accel.batch_size`; probe positions are reduced in tiles (several neighbouring positions
share one window, so the sum over plane waves is a matrix product), tiles in batches from the same
budget, rows in chunks (a progress bar counts them; every chunk has one shape). Every batch comes from
:mod:`jaxem.stem.prism_memory` (capped on the CPU: the shapes do not follow the free memory). A frozen-phonon
ensemble builds one S-matrix per configuration and averages the detector signals with running sums.

Accuracy (:mod:`jaxem.stem.prism_accuracy`): where the specimen repeats with the window L/f, PRISM's
patterns are the multislice patterns at every f-th pixel and its only error is the detectors'
coarser quadrature; :func:`prism_error_estimate` evaluates it on the exact exit waves of a few
probes (the specimen's beam spreading included), and :func:`choose_method` uses it. A window
smaller than the vacuum probe's extent (90 % of its intensity) is refused (:func:`check_window`).
"""
from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..potential import PotentialSlices, potential_layout
from ..propagate.ensembles import ensemble_mean, member_transmissions
from ..propagate.multislice import exit_slice_counts, fresnel_propagator, transmission_functions
from .prism import (SMatrix, band_gpts, band_states, check_interpolation, coefficients, plane_wave_indices,
                    smatrix_array, tile_signals, window_grid)
from .prism_memory import _wave_batch, member_batches, prism_batches, tile_bytes
from .prism_accuracy import (EXTENT_FRACTION, check_window, prism_error_estimate,  # noqa: F401
                             probe_extent, window_leakage)
from .scan import GridScan
from .scanning import (STEMSimulation, _cast_state, _check_structure, _split_key, _with_choice,
                       check_scan_arguments, check_thermal_arguments, scan_measurements)

__all__ = ["build_smatrix", "prism_scan", "prism_batches", "member_batches", "window_leakage", "probe_extent", "prism_error_estimate", "check_window",
           "choose_method", "MethodChoice", "METHODS", "EXTENT_FRACTION"]

#: values of ``stem_scan(method=…)``
METHODS = ("auto", "prism", "multislice")


def _max_angle(sim: STEMSimulation) -> float:
    return sim.semi_angle + 0.5 * sim.edge_width


def _costs(sim, scan, potential, f):
    """Relative costs (multislice, PRISM at f) in flops: FFT ≈ 5 N log₂N, complex multiply-add 8."""
    grid = potential.grid
    n = grid.gpts[0] * grid.gpts[1]
    per_ms = potential.n_slices * (2 * 5 * n * math.log2(n) + 12 * n)
    k = len(plane_wave_indices(grid, sim.beam, _max_angle(sim), f))
    band = band_gpts(grid, f)
    nw = (band[0] // f[0] + 2) * (band[1] // f[1] + 2)
    reduce = scan.n_positions * (k * nw * 8 * 1.5 + 5 * nw * math.log2(max(nw, 2)))
    return scan.n_positions * per_ms, k * per_ms + reduce


class MethodChoice(tuple):
    """The decision of ``method="auto"``: unpacks as ``(method, interpolation)`` — ``("multislice",
    None)`` or ``("prism", (f_y, f_x))`` — and records why.

    Attributes:
        method, interpolation: as the tuple.
        detector: the detector that decided (the worst of :func:`prism_error_estimate` at the f that
            was chosen, or, where the error estimates rejected every f fast enough to matter, at the
            one that came closest), None where no error estimate decided (f = 1 is exact; PRISM was
            not fast enough; features PRISM lacks).
        error: that detector's estimated error [1] (None as ``detector``).
        errors: {detector name: estimated error} at that f, each the largest over the exit planes
            (empty as ``detector``).
        thickness: the exit plane [Å] of ``error`` (the worst of a thickness series; the exit surface
            without one; None as ``detector``).
        tolerance: the tolerance [1] the errors were checked against.
        reason: one sentence.
    """

    def __new__(cls, method: str, interpolation=None, *, detector=None, error=None, errors=None, tolerance=None,
                reason: str = "", thickness=None):
        self = super().__new__(cls, (method, None if interpolation is None else tuple(interpolation)))
        self.detector, self.error, self.errors = detector, error, dict(errors or {})
        self.thickness = thickness
        self.tolerance, self.reason = tolerance, reason
        return self

    method = property(lambda self: self[0])
    interpolation = property(lambda self: self[1])

    def to_dict(self) -> dict:
        """JSON-ready record (the ``method_choice`` metadata of a ``method="auto"`` scan)."""
        def num(v):  # JSON has no infinity (an error against an empty reference)
            return v if v is None or math.isfinite(v) else str(v)

        return {"method": self[0], "interpolation": None if self[1] is None else list(self[1]),
                "decided_by": self.detector, "error": num(self.error),
                "errors": {k: num(v) for k, v in self.errors.items()}, "thickness": self.thickness,
                "tolerance": self.tolerance, "reason": self.reason}

    def __repr__(self) -> str:
        return f"MethodChoice({self[0]!r}, {self[1]!r}, detector={self.detector!r}, error={self.error!r})"


def _at_plane(est) -> str:
    """' at the exit plane t = … Å (of n)' where a thickness series was judged, else ''."""
    n = len(est["exit_planes"])
    return f" at the exit plane t = {est['thickness']:.4g} Å (worst of {n})" if n > 1 else ""


@validate.typed
def choose_method(sim: STEMSimulation, scan: GridScan, potential: PotentialSlices, tolerance=None,
                  interpolation=None, features_ok: bool = True, exit_planes=None) -> MethodChoice:
    """:class:`MethodChoice` ("multislice", None) or ("prism", (f_y, f_x)): the cheaper of multislice and
    PRISM at the f whose error estimate is ≤ ``tolerance`` (default 1e-3) for *every* detector of
    ``sim`` (:func:`prism_error_estimate`: the worst of its per-detector errors, each with the one
    error definition of :mod:`jaxem.stem.prism_accuracy`) and whose window holds the probe, PRISM only
    when it is estimated ≥ 1.5× faster (and ``features_ok``). The choice names the detector that
    decided. Costs: FFT ≈ 5 N log₂N flops per slice and wave, the reduction 8 flops per plane wave and
    window pixel. The error model (at most 4 of the scan's positions) runs only for an f > 1 fast
    enough to matter. With a pixelated detector and no ``interpolation`` given, only f = 1 is a
    candidate: at f > 1 the patterns come on PRISM's coarser n/f detector grid, a different measurement.
    With ``exit_planes`` (a thickness series, as :func:`jaxem.stem.stem_scan`) every exit plane is judged
    and the worst decides; the choice names its thickness."""
    validate.instance(sim, "sim", STEMSimulation)
    tol = validate.scalar(1e-3 if tolerance is None else tolerance, "tolerance", nonnegative=True,
                          allow_traced=False)
    if not features_ok:
        return MethodChoice("multislice", tolerance=tol, reason="PRISM lacks a feature this scan needs")
    grid = potential.grid
    from .detectors import PixelatedDetector

    # PRISM at f > 1 samples pixelated patterns on its n/f window grid: a coarser detector (and a smaller
    # real-space field of view) than the one the simulation asks for, however exact at those pixels; "auto"
    # substitutes a method, never a different measurement, so only f = 1 is a candidate then (an explicit
    # ``interpolation`` is the user's choice)
    pixelated = any(isinstance(d, PixelatedDetector) for d in sim.detectors)
    cands = ([check_interpolation(interpolation, grid)] if interpolation is not None else [(1, 1)] if pixelated
             else [(d, d) for d in range(1, 33) if all(n % d == 0 for n in grid.gpts)])
    ms_cost = _costs(sim, scan, potential, (1, 1))[0]
    best, rejected = None, None
    pos = scan.positions().reshape(-1, 2)
    pos = pos[np.linspace(0, len(pos) - 1, min(4, len(pos))).round().astype(int)]
    for f in sorted(cands, key=lambda f: _costs(sim, scan, potential, f)[1]):
        cost = _costs(sim, scan, potential, f)[1]
        if cost * 1.5 > ms_cost or (best is not None and cost >= best[0]):
            continue
        est = None
        if f != (1, 1):
            try:
                check_window(sim, grid, potential.thickness, f)
            except validate.InputError:
                continue
            est = prism_error_estimate(sim, potential, f, positions=pos, exit_planes=exit_planes)
            if est["error"] > tol:
                if rejected is None or est["error"] < rejected[1]["error"]:  # the closest PRISM came
                    rejected = (f, est)
                continue
        best = (cost, f, est)
    if best is not None:
        f, est = best[1], best[2]
        if est is None:
            return MethodChoice("prism", f, tolerance=tol, reason="PRISM at f = 1 (exact) is ≥ 1.5× faster")
        return MethodChoice("prism", f, detector=est["detector"], error=est["error"], errors=est["detectors"],
                            tolerance=tol, thickness=est["thickness"], reason=f"PRISM at f = {list(f)} is ≥ 1.5× "
                            f"faster and every detector's estimated error is ≤ {tol:.3g} (worst: "
                            f"{est['detector']!r}, {est['error']:.3g}{_at_plane(est)})")
    if rejected is not None:
        f, est = rejected
        return MethodChoice("multislice", detector=est["detector"], error=est["error"], errors=est["detectors"],
                            tolerance=tol, thickness=est["thickness"], reason=f"PRISM at f = {list(f)} would be "
                            f"faster but detector {est['detector']!r} has an estimated error of "
                            f"{est['error']:.3g}{_at_plane(est)} > {tol:.3g}")
    return MethodChoice("multislice", tolerance=tol, reason="no PRISM interpolation is ≥ 1.5× faster with a window "
                        "that holds the probe")


# ---- S-matrix -----------------------------------------------------------------------------------
@validate.typed
def build_smatrix(potential: PotentialSlices, beam, max_angle, interpolation=1, exit_planes=None, precision=None,
                  memory_budget=None, progress: bool = False) -> SMatrix:
    """The :class:`~jaxem.stem.prism.SMatrix` of ``potential`` for plane waves up to ``max_angle``
    [mrad] (the probe's semi-angle plus half its edge) at ``interpolation`` f, plane waves in batches
    from the memory budget (a progress bar counts them)."""
    from ..beam import as_beam

    beam = as_beam(beam)
    if not isinstance(potential, PotentialSlices):
        raise validate.InputTypeError(f"potential must be PotentialSlices, got {type(potential).__name__}")
    grid = potential.grid
    f = check_interpolation(interpolation, grid)
    amax = beam.check_angle(max_angle, grid, "max_angle")
    beam.check_tilt(grid)
    _, cdtype = accel.dtypes(precision)
    exits = exit_slice_counts(exit_planes, potential.n_slices)
    trans = transmission_functions(potential.array, beam, grid, cdtype)
    prop = fresnel_propagator(grid, beam, float(potential.slice_thickness), cdtype)
    seq = jnp.asarray(potential.sequence, jnp.int32)
    indices = plane_wave_indices(grid, beam, amax, f)
    band = band_gpts(grid, f)
    arr = _build(indices, trans, seq, prop, grid, band, exits, cdtype, memory_budget, progress)
    return SMatrix(arr, jnp.asarray(indices, jnp.int32), grid, band, f, beam, amax, exits,
                   float(potential.slice_thickness))


def _build(indices, trans, seq, prop, grid, band, exits, cdtype, budget, progress):
    from tqdm.auto import tqdm

    k = len(indices)
    batch = int(_wave_batch(grid, band, exits, cdtype, k, budget))
    chunk = min(k, batch * max(1, -(-k // (8 * batch))))  # ≤ ~8 progress steps, one shape for all
    parts = []
    bar = tqdm(total=k, desc="PRISM S-matrix (plane waves)", disable=not progress, unit="wave")
    for s in range(0, k, chunk):
        idx = indices[s:s + chunk]
        n = len(idx)
        if n < chunk:
            idx = np.concatenate([idx, np.repeat(idx[-1:], chunk - n, axis=0)])
        out = _smatrix_part(jnp.asarray(idx, jnp.int32), trans, seq, prop, grid.gpts, band, exits, batch)
        parts.append(out[:n] if n < chunk else out)
        bar.update(n)
    bar.close()
    return parts[0] if len(parts) == 1 else jnp.concatenate(parts)


def _smatrix_part(idx, trans, seq, prop, gpts, band, exits, batch):
    """Exit waves of the plane waves ``idx``: on a CPU split into several devices
    (``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>``), the plane waves are shared out over
    them (:func:`jaxem.parallel.shard_batch`), since XLA runs one device's FFTs on one core; elsewhere (one
    device, or accelerators, where the S-matrix should stay on one device) one device computes them all.
    The per-wave arithmetic is the same either way."""
    devices = jax.local_devices()
    if len(devices) > 1 and devices[0].platform == "cpu" and len(idx) >= len(devices):
        from ..parallel import shard_batch

        out = shard_batch(lambda i, t, q, p: smatrix_array(i, t, q, p, gpts=gpts, band=band, exits=exits,
                                                           batch=batch), idx, (trans, seq, prop))
        return jax.device_put(out, devices[0])  # one array on one device, as the reduction expects it
    return smatrix_array(idx, trans, seq, prop, gpts=gpts, band=band, exits=exits, batch=batch)


# ---- tiles of probe positions -------------------------------------------------------------------
#: a tile's shared window is enlarged by at most this fraction of the window's side per axis
TILE_GROWTH = 1 / 8


def _tiling(scan: GridScan, band_sampling, window):
    """(t_y, t_x) scan positions per tile and the (e_y, e_x) extra window pixels they need: as many
    positions as a window enlarged by ≤ :data:`TILE_GROWTH` of its side holds (the shared matrix
    product stays BLAS-3 while each position pays ≤ (1 + growth)² in window pixels), then evened out
    over the scan so that the last tile is not mostly padding (64 positions at ≤ 31 per tile: 3 tiles
    of 22, not 31 + 31 + 2 padded to 93)."""
    out_t, out_e = [], []
    for n, step, d, w in zip(scan.gpts, scan.sampling, band_sampling, window):
        t = 1
        while t < n and ((t * step) / d + 2) <= max(2.0, w * TILE_GROWTH):
            t += 1
        t = -(-n // -(-n // t))  # the same number of tiles, as few padded positions as possible
        out_t.append(t)
        out_e.append(int(math.ceil((t - 1) * step / d)) + 2)
    return tuple(out_t), tuple(out_e)


def _tiles(positions, t):
    """(rows of tiles, tiles per row, t_y·t_x, 2) from (n_y, n_x, 2) positions, edges repeated."""
    ny, nx = positions.shape[:2]
    ty, tx = t
    py, px = -(-ny // ty) * ty, -(-nx // tx) * tx
    p = np.pad(positions, ((0, py - ny), (0, px - nx), (0, 0)), mode="edge")
    p = p.reshape(py // ty, ty, px // tx, tx, 2).transpose(0, 2, 1, 3, 4)
    return p.reshape(py // ty, px // tx, ty * tx, 2)


def _untile(sig, t, ny, nx):
    """(tile rows, tiles per row, t_y·t_x, …) → (n_y', n_x, …) scan layout (rows of these tiles)."""
    ty, tx = t
    r, c = sig.shape[:2]
    s = sig.reshape((r, c, ty, tx) + sig.shape[3:]).swapaxes(1, 2)
    return s.reshape((r * ty, c * tx) + sig.shape[3:])[:, :nx]


_STATIC = ("detectors", "grid", "band", "window", "extra", "wgrid_gpts", "exits", "batch")


@partial(jax.jit, static_argnames=_STATIC)
def _reduce(tiles, S, indices, coeffs, bstates, *, detectors, grid, band, window, extra, wgrid_gpts, exits, batch):
    lead = tiles.shape[:2]
    flat = tiles.reshape((-1,) + tiles.shape[2:])
    fn = partial(tile_signals, S, indices, coeffs=coeffs, bstates=bstates, detectors=detectors, grid=grid,
                 band=band, window=window, extra=extra, wgrid_gpts=wgrid_gpts, exits=exits)
    out = jax.lax.map(lambda tl: fn(tl), flat, batch_size=batch)
    return tuple(o.reshape(lead + o.shape[1:]) for o in out)


@partial(jax.jit, static_argnames=_STATIC + ("einstein", "beam", "wave_batch", "member_batch"))
def _thermal(members, structure, layout, prop, tiles, indices, coeffs, bstates, *, einstein, beam, detectors, grid,
             band, window, extra, wgrid_gpts, exits, batch, wave_batch, member_batch):
    seq = jnp.asarray(layout.sequence, jnp.int32)

    def member(m):
        t = member_transmissions(m, structure, layout, beam, coeffs.dtype, einstein)
        S = smatrix_array(indices, t, seq, prop, gpts=grid.gpts, band=band, exits=exits, batch=wave_batch)
        return _reduce(tiles, S, indices, coeffs, bstates, detectors=detectors, grid=grid, band=band, window=window,
                       extra=extra, wgrid_gpts=wgrid_gpts, exits=exits, batch=batch)

    return ensemble_mean(member, members, member_batch)


@partial(jax.jit, static_argnames=("einstein", "beam", "dtype", "grid", "band", "exits", "wave_batch"))
def _member_smatrix(member, structure, layout, prop, indices, *, einstein, beam, dtype, grid, band, exits, wave_batch):
    """The S-matrix of one frozen-phonon configuration (as inside :func:`_thermal`)."""
    t = member_transmissions(member, structure, layout, beam, dtype, einstein)
    return smatrix_array(indices, t, jnp.asarray(layout.sequence, jnp.int32), prop, gpts=grid.gpts, band=band,
                         exits=exits, batch=wave_batch)


def n_members_of(thermal, n_configs, snapshots) -> int:
    """Configurations of a thermal model (1 for a static specimen)."""
    if thermal is None:
        return 1
    if thermal == "snapshots":
        return int(np.shape(snapshots)[0]) if snapshots is not None else 0
    return int(8 if n_configs is None else n_configs)


# ---- the scan -----------------------------------------------------------------------------------
@validate.typed
def prism_scan(sim: STEMSimulation, scan: GridScan, potential: PotentialSlices, *, interpolation=1,
               structure=None, thermal=None, n_configs=None, key=None, snapshots=None, parametrization=None,
               exit_planes=None, precision=None, memory_budget=None, progress: bool = True,
               chunk_callback=None, smatrix_cache: dict | None = None) -> dict:
    """A STEM scan by PRISM; returns {output name: :class:`~jaxem.measurement.Measurement`} exactly as
    :func:`jaxem.stem.stem_scan` (same arguments, same axes and metadata, plus ``method``,
    ``interpolation`` and ``n_plane_waves`` in the metadata).

    Args:
        interpolation: f, an int or (f_y, f_x), dividing the grid's points; f = 1 equals multislice.
            The window L/f must hold the probe's extent (:func:`check_window`).
        others: as :func:`jaxem.stem.stem_scan` (``tds_potentials`` is multislice-only: the TDS signal
            needs the wave inside the specimen, which the S-matrix does not keep).
        smatrix_cache: None, or a dict owned by the caller in which the S-matrix (static specimen) or
            the ensemble's S-matrices (frozen phonons, when all of them fit in half the memory budget)
            are kept and reused by later calls with the same arguments but another scan (the rows of a
            streamed scan, :class:`PrismRows`); a cache filled under other arguments is an error.

    Raises:
        InputError / InputTypeError naming the argument (as :func:`~jaxem.stem.stem_scan`), an f that
        does not divide the grid, a window too small for the probe.
    """
    thermal, beam, grid = check_scan_arguments(sim, scan, potential, thermal, chunk_callback)
    beam.check_angle(_max_angle(sim), grid, "sim.semi_angle + edge_width/2")
    f = check_interpolation(interpolation, grid)
    check_window(sim, grid, potential.thickness, f)
    check_thermal_arguments(thermal, structure=structure, n_configs=n_configs, key=key, snapshots=snapshots,
                            parametrization=parametrization)
    rdtype, cdtype = accel.dtypes(precision)
    budget = accel.memory_budget(memory_budget)

    # ---- plane waves, windows, detectors ---------------------------------------------------------
    amax = _max_angle(sim)
    indices = plane_wave_indices(grid, beam, amax, f)
    band = band_gpts(grid, f)
    window = tuple(m // fi for m, fi in zip(band, f))
    wgrid = window_grid(grid, f)
    detectors = sim.detectors
    states = tuple(_cast_state(d.prepare(beam, wgrid), rdtype) for d in detectors)
    bstates = band_states(detectors, states, wgrid, window)
    coeffs = coefficients(indices, grid, beam, window, sim.semi_angle, sim.aberrations, sim.edge_width, cdtype)
    band_sampling = tuple(L / m for L, m in zip(grid.extent, band))
    t, extra = _tiling(scan, band_sampling, window)
    tiles = _tiles(scan.positions(), t)
    k = len(indices)

    if thermal is None:
        n_slices, dz = potential.n_slices, potential.slice_thickness
    else:
        if structure is None:
            raise validate.InputError(f"thermal={thermal!r} needs structure= (the static jaxem Structure)")
        _check_structure(structure, grid, thermal)
        flat = structure.replace(z_repeats=1)
        if thermal == "einstein":
            n_configs = validate.integer(8 if n_configs is None else n_configs, "n_configs", lo=1)
            if float(jnp.max(flat.u2, initial=0.0)) <= 0:
                raise validate.InputError("structure has B = 0 everywhere: frozen phonons need Debye–Waller "
                                          "factors (B or u2 [Å²])")
            members = _split_key(key, n_configs)
        else:
            if snapshots is None:
                raise validate.InputError("thermal='snapshots' needs snapshots= (n, N, 3) positions [Å]")
            validate.array(snapshots, "snapshots", ndim=3, shape=(len(flat), 3), kind="real", units="Å")
            members = jnp.asarray(snapshots, rdtype)
        layout = potential_layout(flat, gpts=grid.gpts, slice_thickness=potential.slice_thickness,
                                  parametrization=parametrization or "lobato", precision=precision)
        n_slices, dz = len(layout.sequence), layout.slice_thickness
        st = flat.replace(positions=flat.positions.astype(rdtype), u2=flat.u2.astype(rdtype))
    exits = exit_slice_counts(exit_planes, n_slices)
    n_exit = 1 if exits is None else len(exits)

    # ---- memory: tiles per batch, rows per chunk -------------------------------------------------
    item = np.dtype(cdtype).itemsize
    sig_shapes = jax.eval_shape(lambda s_, dp: tuple(d.apply(s, dp) for d, s in zip(detectors, s_)), states,
                                jax.ShapeDtypeStruct(wgrid.gpts, rdtype))
    signal_bytes = n_exit * sum(math.prod(s.shape) * s.dtype.itemsize for s in sig_shapes)
    per_tile = tile_bytes(k, window, extra, t, wgrid.gpts, n_exit, item, signal_bytes)
    s_bytes = item * k * n_exit * band[0] * band[1]
    tile_batch, rows_per_chunk = prism_batches(per_tile, tiles.shape[:2], 4 * scan.gpts[1] * t[0] * signal_bytes,
                                               s_bytes, memory_budget)
    static = dict(detectors=detectors, grid=grid, band=band, window=window, extra=extra, wgrid_gpts=wgrid.gpts,
                  exits=exits)
    prop = fresnel_propagator(grid, beam, float(dz), cdtype)
    from tqdm.auto import tqdm

    ny, nx = scan.gpts
    keep = [chunk_callback is None or len(s.shape) < 2 for s in sig_shapes]
    results = {d.name: [] for d, kp in zip(detectors, keep) if kp}

    def emit(rows, chunk):
        if chunk_callback is not None:
            chunk_callback(rows, chunk)
        for name in results:
            results[name].append(chunk[name])

    cache_key = (f, np.dtype(cdtype).str, exits, float(amax), thermal, n_members_of(thermal, n_configs, snapshots))
    if smatrix_cache is not None:
        if not isinstance(smatrix_cache, dict):
            raise validate.InputTypeError(f"smatrix_cache must be a dict or None, got {type(smatrix_cache).__name__}")
        if smatrix_cache and smatrix_cache.get("key") != cache_key:
            raise validate.InputError(f"smatrix_cache holds S-matrices of {smatrix_cache.get('key')}, not of this call "
                                      f"{cache_key} (interpolation, dtype, exit planes, angle, thermal model, members)")
    if thermal is None:
        if smatrix_cache is not None and "S" in smatrix_cache:
            S = smatrix_cache["S"]
        else:
            trans = transmission_functions(potential.array, beam, grid, cdtype)
            S = _build(indices, trans, jnp.asarray(potential.sequence, jnp.int32), prop, grid, band, exits, cdtype,
                       memory_budget, progress)
            if smatrix_cache is not None:
                smatrix_cache.update(key=cache_key, S=S)
        bar = tqdm(total=ny, desc="PRISM scan (rows)", disable=not progress, unit="row")
        jidx = jnp.asarray(indices, jnp.int32)
        for r0 in range(0, tiles.shape[0], rows_per_chunk):
            part = tiles[r0:r0 + rows_per_chunk]
            n = part.shape[0]
            if n < rows_per_chunk:  # one shape for every chunk: no recompilation
                part = np.concatenate([part, np.repeat(part[-1:], rows_per_chunk - n, axis=0)])
            sig = _reduce(jnp.asarray(part, rdtype), S, jidx, coeffs, bstates,
                          batch=int(min(tile_batch, rows_per_chunk * tiles.shape[1])), **static)
            rows = slice(r0 * t[0], min(ny, (r0 + n) * t[0]))
            nrow = rows.stop - rows.start
            chunk = {d.name: np.asarray(_untile(np.asarray(s[:n]), t, ny, nx))[:nrow]
                     for d, s in zip(detectors, sig)}
            emit(rows, chunk)
            bar.update(nrow)
        bar.close()
        n_members = 1
    else:
        n_members = int(jax.tree.leaves(members)[0].shape[0])
        wave_batch, member_batch = member_batches(grid, band, exits, cdtype, k, n_slices, n_members,
                                                  s_bytes + tile_batch * per_tile, memory_budget)
        chunk_m = member_batch * max(1, -(-n_members // (8 * member_batch)))
        total = None
        bar = tqdm(total=n_members, desc="PRISM frozen phonons (configurations)", disable=not progress, unit="config")
        jtiles, jidx = jnp.asarray(tiles, rdtype), jnp.asarray(indices, jnp.int32)
        red = dict(batch=int(min(tile_batch, tiles.shape[0] * tiles.shape[1])), **static)
        if smatrix_cache is not None and "members" not in smatrix_cache and n_members * s_bytes <= budget // 2:
            smatrix_cache.update(key=cache_key, members=[
                _member_smatrix(jax.tree.map(lambda a: a[i], members), st, layout, prop, jidx, einstein=thermal ==
                                "einstein", beam=beam, dtype=cdtype, grid=grid, band=band, exits=exits,
                                wave_batch=wave_batch) for i in range(n_members)])
        if smatrix_cache is not None and "members" in smatrix_cache:
            for S in smatrix_cache["members"]:  # each configuration's S-matrix built once per run
                sig = tuple(np.asarray(s, np.float64) for s in _reduce(jtiles, S, jidx, coeffs, bstates, **red))
                total = sig if total is None else tuple(a + b for a, b in zip(total, sig))
                bar.update(1)
        for m0 in range(0, n_members if total is None else 0, chunk_m):
            part = jax.tree.map(lambda a: a[m0:m0 + chunk_m], members)
            n = int(jax.tree.leaves(part)[0].shape[0])
            mean = _thermal(part, st, layout, prop, jtiles, jidx, coeffs, bstates, einstein=thermal == "einstein",
                            beam=beam, wave_batch=wave_batch, member_batch=min(member_batch, n), **red)
            part_sum = tuple(np.asarray(s, np.float64) * n for s in mean)
            total = part_sum if total is None else tuple(a + b for a, b in zip(total, part_sum))
            bar.update(n)
        bar.close()
        full = {d.name: _untile(s / n_members, t, ny, nx)[:ny].astype(rdtype) for d, s in zip(detectors, total)}
        step = max(1, t[0])
        for r0 in range(0, ny, step):
            rows = slice(r0, min(ny, r0 + step))
            emit(rows, {name: a[rows] for name, a in full.items()})

    # ---- measurements ----------------------------------------------------------------------------
    out, _, _ = scan_measurements(sim, scan, results, exits, dz, wgrid,
                                  {"method": "prism", "thermal": thermal or "static", "n_configurations": n_members,
                                   "interpolation": list(f), "n_plane_waves": k,
                                   "window": {"value": [L / fi for L, fi in zip(grid.extent, f)], "units": "Å"}})
    return out


# ---- streamed scans: one S-matrix per run ----------------------------------------------------------
class PrismRows:
    """The row compute of a streamed PRISM scan (:func:`jaxem.stem.stem_scan_to_zarr`): ``f(sub_scan)``
    runs :func:`prism_scan` on those rows with the S-matrix (or each frozen-phonon configuration's)
    built on the first call and reused for every later block, so a run builds it once however many
    blocks it has. Every block is the same computation on the same S-matrix, so a resumed run equals
    an uninterrupted one bit for bit. Pickled (to a cluster worker) without the S-matrix: each process
    builds its own once."""

    def __init__(self, sim, potential, interpolation, choice=None, **kwargs):
        self.sim, self.potential, self.interpolation, self.kwargs = sim, potential, interpolation, kwargs
        self.choice = choice  # method="auto": the scan's MethodChoice (its record goes into the metadata)
        self.cache = {}

    def __call__(self, sub_scan):
        out = prism_scan(self.sim, sub_scan, self.potential, interpolation=self.interpolation, progress=False,
                         smatrix_cache=self.cache, **self.kwargs)
        return _with_choice(out, None if self.choice is None else self.choice.to_dict())

    def __getstate__(self):
        return {**self.__dict__, "cache": {}}


class MultisliceRows:
    """The row compute of a streamed scan that ``method="auto"`` gave to multislice (decided once for the
    whole scan): every block by multislice — a block's own decision, on its own positions and cost,
    could differ and mix methods in one dataset — with the decision in the metadata."""

    def __init__(self, sim, potential, choice, **kwargs):
        self.sim, self.potential, self.choice, self.kwargs = sim, potential, choice, kwargs

    def __call__(self, sub_scan):
        from .scanning import stem_scan

        out = stem_scan(self.sim, sub_scan, self.potential, method="multislice", progress=False, **self.kwargs)
        return _with_choice(out, self.choice.to_dict())


def prism_rows(sim, scan, potential, method="auto", interpolation=None, tolerance=None, tds_potentials=None,
               **kwargs):
    """The row compute of a streamed scan of ``scan`` (:func:`jaxem.stem.stem_scan_to_zarr`) for ``method``
    (as :func:`jaxem.stem.stem_scan`): a :class:`PrismRows` where it is PRISM, a :class:`MultisliceRows`
    where ``"auto"`` (decided once for the whole scan, :func:`choose_method`) chose multislice, None for
    an explicit multislice (``stem_scan`` per block)."""
    method = validate.choice(method, "method", METHODS)
    if method == "multislice" or tds_potentials is not None or not (isinstance(sim, STEMSimulation) and
                                                                     isinstance(potential, PotentialSlices)):
        return None  # stem_scan per block (it refuses TDS potentials with PRISM; stand-ins go their own way)
    kwargs.pop("progress", None)
    if method == "auto":
        choice = choose_method(sim, scan, potential, tolerance, interpolation, features_ok=True,
                               exit_planes=kwargs.get("exit_planes"))
        if choice.method != "prism":
            return MultisliceRows(sim, potential, choice, **kwargs)
        return PrismRows(sim, potential, choice.interpolation, choice=choice, **kwargs)
    return PrismRows(sim, potential, interpolation or 1, **kwargs)
