"""Batched probe scanning with detectors, for all thermal models, with an optional thickness series.

For each probe position r0 the incident wave is ψ0 = F⁻¹[P(k)·exp(−2πik·r0)], with P the probe
transfer A(k)·exp(−iχ(k)) normalised so Σ|ψ0|² = 1 (:func:`jaxem.optics.probe_transfer`, the shift
by :func:`jaxem.optics.phase_ramp`); it goes through the one slice step of jaxem,
:func:`jaxem.propagate.multislice_array`, and its diffraction pattern DP = |F[ψ]|²/N (fraction of
the probe per reciprocal pixel, unshifted) goes to the detectors through their one interface
(``prepare(beam, grid)`` once, ``apply(state, dp)`` per position; :mod:`jaxem.stem.detectors`).

Everything recorded inside the specimen is an observer of that slice step
(:mod:`jaxem.propagate.observers`): with ``exit_planes`` the detector signals are taken after the
given slice counts (:class:`DetectorSignals`), adding a thickness axis; with ``tds_potentials`` the
single-inelastic TDS signal Σ_n 2σ Σ_r |ψ_n|² v′_det,n of an absorptive model is accumulated
(:class:`~jaxem.propagate.observers.AbsorbedIntensity`).

Thermal models:

* ``thermal=None``: the given potential (real, or complex V + iV′ for an absorptive model).
* ``thermal="einstein"``: frozen phonons, ``n_configs`` random Einstein configurations of
  ``structure`` (⟨u²⟩ from its Debye–Waller factors); detector signals averaged over configurations.
* ``thermal="snapshots"``: frozen phonons from given positions (n, N, 3) [Å], e.g. MD snapshots.

Memory: each probe position declares its working set (``_WAVE_COPIES`` complex (ny, nx) arrays plus
its recorded signals) and :func:`jaxem.accel.batch_size` turns the one ``memory_budget`` into the
number of positions run at once (``lax.map`` over ``vmap`` batches; on the CPU, without an explicit
budget, capped at :func:`jaxem.accel.cpu_working_set`: batched FFTs are cache-bound there);
configurations are averaged with running sums (:func:`jaxem.propagate.ensemble_mean`), as many at
once as the budget leaves (:func:`scan_batches`).
The scan is cut into chunks of rows (a progress bar counts them; every chunk has the same shape, so
nothing recompiles); chunks can be streamed (``chunk_callback``, used by
:func:`jaxem.stem.store.stem_scan_to_zarr`).
"""
from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import Beam, as_beam
from ..measurement import Measurement
from ..optics import Aberrations, phase_ramp
from ..optics.probes import probe_transfer
from ..potential import PotentialSlices, potential_layout
from ..propagate import multislice_array
from ..propagate.detect import diffraction_patterns_array
from ..propagate.ensembles import ensemble_mean, member_transmissions
from ..propagate.multislice import exit_plane_axis, exit_slice_counts, fresnel_propagator, transmission_functions
from ..propagate.observers import AbsorbedIntensity, Observers
from ..structure import Structure
from .detectors import Detector, scan_signal_ndim
from .scan import GridScan

__all__ = ["STEMSimulation", "DetectorSignals", "stem_scan", "THERMAL_MODELS"]

#: the thermal models of :func:`stem_scan`
THERMAL_MODELS = (None, "einstein", "snapshots")
#: complex (ny, nx) arrays alive per probe position in the slice step (ψ, t·ψ, two FFT work buffers,
#: P·F[tψ]) and the detector stage (F[ψ], |F[ψ]|², temporaries)
_WAVE_COPIES = 10


@pytree.dataclass
class STEMSimulation:
    """Everything but the specimen: beam, probe and detectors (static, hashable configuration).

    Attributes:
        beam: a :class:`~jaxem.beam.Beam`, or an energy [eV] / ``"300 kV"`` (turned into a Beam).
        semi_angle: probe convergence semi-angle [mrad], > 0 (checked against the grid's anti-alias
            limit when the scan runs).
        detectors: one detector or a non-empty tuple of them (:mod:`jaxem.stem.detectors`), with
            distinct names.
        aberrations: probe aberrations (:class:`~jaxem.optics.Aberrations`; None: aberration-free).
        edge_width: raised-cosine edge of the probe aperture [mrad], ≥ 0 (0: hard edge).
    """

    beam: Beam = pytree.field(static=True)
    semi_angle: float = pytree.field(static=True, units="mrad")
    detectors: tuple = pytree.field(static=True)
    aberrations: Aberrations | None = pytree.field(static=True, default=None)
    edge_width: float = pytree.field(static=True, units="mrad", default=0.0)

    def __post_init__(self):
        object.__setattr__(self, "beam", as_beam(self.beam, "beam"))
        object.__setattr__(self, "semi_angle", validate.scalar(self.semi_angle, "semi_angle", "mrad", positive=True,
                                                               allow_traced=False))
        object.__setattr__(self, "edge_width", validate.scalar(self.edge_width, "edge_width", "mrad",
                                                               nonnegative=True, allow_traced=False))
        dets = self.detectors
        if isinstance(dets, Detector):
            dets = (dets,)
        if not isinstance(dets, (tuple, list)):
            raise validate.InputTypeError(f"detectors must be a detector or a tuple of detectors, got "
                                          f"{type(dets).__name__}")
        dets = tuple(dets)
        if not dets:
            raise validate.InputError("detectors is empty: give at least one detector (e.g. "
                                      "AnnularDetector(70, 200, 'HAADF'))")
        seen = {}
        for i, d in enumerate(dets):
            if not isinstance(d, Detector):
                raise validate.InputTypeError(f"detectors[{i}] must be a jaxem.stem detector (a subclass of "
                                              f"jaxem.stem.Detector), got {type(d).__name__}")
            for name in (d.name,) + tuple(d.channel_names()):
                if seen.get(name, i) != i:
                    raise validate.InputError(f"detectors[{i}] and detectors[{seen[name]}] both produce the output "
                                              f"{name!r}; give each detector its own name=")
                seen[name] = i
        object.__setattr__(self, "detectors", dets)
        ab = Aberrations() if self.aberrations is None else self.aberrations
        if not isinstance(ab, Aberrations):
            raise validate.InputTypeError(f"aberrations must be jaxem.optics.Aberrations or None, got "
                                          f"{type(ab).__name__}")
        # static configuration: coefficients as Python floats (hashable, never traced)
        values = {k: validate.scalar(v, f"aberrations.{k}", allow_traced=False) for k, v in _coefficients(ab).items()}
        object.__setattr__(self, "aberrations", dataclasses.replace(ab, **values))

    @property
    def energy(self) -> float:
        """Beam energy [eV]."""
        return self.beam.energy

    def to_dict(self) -> dict:
        """JSON-ready description with units (file metadata)."""
        ab = (self.aberrations or Aberrations()).to_metadata()
        return {"beam": self.beam.to_dict(), "semi_angle": {"value": self.semi_angle, "units": "mrad"},
                "edge_width": {"value": self.edge_width, "units": "mrad"},
                "aberrations": ab,
                "detectors": [d.to_dict() for d in self.detectors]}


def _coefficients(aberrations) -> dict:
    return {f.name: getattr(aberrations, f.name) for f in dataclasses.fields(aberrations)}


def _diffraction(psi):
    """|F[ψ]|²/N: fraction of a normalised probe per reciprocal pixel (unshifted)."""
    return diffraction_patterns_array(psi, 1.0)


def _signals(detectors, states, dp):
    return tuple(d.apply(s, dp) for d, s in zip(detectors, states))


@pytree.dataclass
class DetectorSignals:
    """Observer of the slice step: every detector's signal of the diffraction pattern |F[ψ]|²/N after
    each of ``slices`` (slice counts). ``states`` are the prepared detector states (traced leaves).
    State: a tuple, per detector, of (len(slices), *signal) arrays."""

    states: tuple
    detectors: tuple = pytree.field(static=True)
    slices: tuple = pytree.field(static=True)

    def init(self, psi):
        dp = jax.ShapeDtypeStruct(psi.shape, jnp.real(psi).dtype)
        shapes = jax.eval_shape(lambda st, d: _signals(self.detectors, st, d), self.states, dp)
        return tuple(jnp.zeros((len(self.slices),) + s.shape, s.dtype) for s in shapes)

    def update(self, bufs, psi, slice_index):
        hits = jnp.asarray(self.slices, jnp.int32) == slice_index + 1
        slot = jnp.argmax(hits)

        def write(bufs):
            sig = _signals(self.detectors, self.states, _diffraction(psi))
            return tuple(b.at[slot].set(s.astype(b.dtype)) for b, s in zip(bufs, sig))

        return jax.lax.cond(jnp.any(hits), write, lambda b: b, bufs)


def _one_position(r0, probe_k, freqs, trans, seq, prop, states, absorptive, detectors, beam, exits):
    """Detector signals (and TDS) of one probe position r0 (y, x) [Å] through one potential (pure)."""
    psi = jnp.fft.ifft2(probe_k * phase_ramp(freqs[0], freqs[1], r0).astype(probe_k.dtype))
    observers = []
    if exits is not None:
        observers.append(DetectorSignals(states, detectors, exits))
    if absorptive is not None:
        observers.append(AbsorbedIntensity(absorptive, seq, beam, exits))
    if not observers:
        psi = multislice_array(psi, trans, seq, prop)
        return _signals(detectors, states, _diffraction(psi)), None
    psi, obs = multislice_array(psi, trans, seq, prop, observer=Observers(tuple(observers)))
    signals = obs[0] if exits is not None else _signals(detectors, states, _diffraction(psi))
    tds = None
    if absorptive is not None:
        tds = obs[-1] if exits is None else obs[-1][1]
    return signals, tds


def _positions_kernel(positions, probe_k, freqs, trans, seq, prop, states, absorptive, detectors, beam, exits, batch):
    fn = partial(_one_position, probe_k=probe_k, freqs=freqs, trans=trans, seq=seq, prop=prop, states=states,
                 absorptive=absorptive, detectors=detectors, beam=beam, exits=exits)
    return jax.lax.map(fn, positions, batch_size=batch)


def scan_batches(per_position: int, signal_bytes: int, scan: GridScan, memory_budget=None) -> tuple[int, int]:
    """(probe positions per ``vmap`` batch, scan rows per chunk) of a multislice scan.

    A position holds ``per_position`` bytes in the slice step; a row of the output chunk holds
    ``4 × scan columns × signal_bytes`` (device result and host copies). On the CPU without an explicit
    ``memory_budget`` both are capped by :func:`jaxem.accel.cpu_working_set` (cache-bound FFTs), which
    also keeps the chunk shape independent of the free memory (no recompilation between calls).
    """
    cap = accel.cpu_working_set()
    pos_batch = accel.batch_size(per_position, scan.n_positions, memory_budget, cpu_cap=cap)
    rows = accel.batch_size(4 * scan.gpts[1] * max(1, int(signal_bytes)), scan.gpts[0], memory_budget, cpu_cap=cap)
    return int(min(pos_batch, rows * scan.gpts[1])), int(rows)


_STATIC = ("detectors", "beam", "exits", "batch")


@partial(jax.jit, static_argnames=_STATIC)
def _scan_static(positions, probe_k, freqs, trans, seq, prop, states, absorptive, *, detectors, beam, exits, batch):
    return _positions_kernel(positions, probe_k, freqs, trans, seq, prop, states, absorptive, detectors, beam, exits,
                             batch)


@partial(jax.jit, static_argnames=_STATIC + ("einstein", "member_batch"))
def _scan_thermal(positions, members, structure, layout, probe_k, freqs, prop, states, *, einstein, detectors, beam,
                  exits, batch, member_batch):
    seq = jnp.asarray(layout.sequence, jnp.int32)

    def member(m):
        t = member_transmissions(m, structure, layout, beam, probe_k.dtype, einstein)
        return _positions_kernel(positions, probe_k, freqs, t, seq, prop, states, None, detectors, beam, exits,
                                 batch)[0]

    return ensemble_mean(member, members, member_batch), None


def _cast_state(state, rdtype):
    """Floating leaves of a detector state to the simulation's real dtype (indices stay integers)."""
    return jax.tree.map(lambda a: jnp.asarray(a, rdtype) if np.issubdtype(np.asarray(a).dtype, np.floating)
                        else jnp.asarray(a), state)


def _check_structure(structure, grid, what):
    if not isinstance(structure, Structure):
        raise validate.InputTypeError(f"structure must be a jaxem Structure for thermal={what!r}, got "
                                      f"{type(structure).__name__}")
    lx, ly = structure.lengths[0], structure.lengths[1]
    if not np.allclose((ly, lx), grid.extent, rtol=1e-6):
        raise validate.InputError(f"structure has a lateral cell (y, x) = ({ly:.6g}, {lx:.6g}) Å but the "
                                  f"potential's grid covers {tuple(round(e, 6) for e in grid.extent)} Å: build the "
                                  "potential from the same structure")


def _split_key(key, n: int):
    """``n`` keys from a ``jax.random`` key (default ``jax.random.key(0)``), or an error naming ``key``."""
    if key is None:
        key = jax.random.key(0)
    try:
        return jax.random.split(key, n)
    except (TypeError, ValueError):
        raise validate.InputTypeError(f"key must be a jax.random key (e.g. jax.random.key(0)), got "
                                      f"{type(key).__name__} {key!r}") from None


def check_scan_arguments(sim, scan, potential, thermal, chunk_callback):
    """The checks every STEM scan method shares (multislice and PRISM): argument types, the thermal
    model, the potential's energy against the beam, the scan inside the cell, tilt and aperture
    against the grid. Returns (thermal, beam, grid)."""
    if not isinstance(sim, STEMSimulation):
        raise validate.InputTypeError(f"sim must be a jaxem.stem.STEMSimulation, got {type(sim).__name__}")
    if not isinstance(scan, GridScan):
        raise validate.InputTypeError(f"scan must be a jaxem.stem.GridScan, got {type(scan).__name__}")
    if not isinstance(potential, PotentialSlices):
        raise validate.InputTypeError("potential must be PotentialSlices (for frozen phonons: the static structure's "
                                      f"potential, which fixes the grid and the slicing), got "
                                      f"{type(potential).__name__}")
    thermal = validate.choice(thermal, "thermal", THERMAL_MODELS)
    if chunk_callback is not None and not callable(chunk_callback):
        raise validate.InputTypeError(f"chunk_callback must be callable, got {type(chunk_callback).__name__}")
    beam, grid = sim.beam, potential.grid
    built_for = getattr(potential.energy, "energy", potential.energy)  # an energy [eV] or a Beam
    if built_for is not None and not np.isclose(built_for, beam.energy, rtol=1e-9):
        raise validate.InputError(f"potential was built for {built_for:g} eV (its absorptive part depends on the "
                                  f"energy) but sim.beam has {beam.energy:g} eV")
    validate.array(potential.array, "potential.array", ndim=3, shape=grid.gpts, units="V·Å")
    scan.check_inside(grid.extent)
    beam.check_tilt(grid)
    beam.check_angle(sim.semi_angle, grid, "sim.semi_angle")
    return thermal, beam, grid


def check_thermal_arguments(thermal, **values) -> None:
    """Raise naming an argument given to a thermal model that does not use it."""
    used_by = {"structure": ("einstein", "snapshots"), "n_configs": ("einstein",), "key": ("einstein",),
               "snapshots": ("snapshots",), "parametrization": ("einstein", "snapshots")}
    for name, value in values.items():
        if value is not None and thermal not in used_by[name]:
            raise validate.InputError(f"{name} is not used with thermal={thermal!r}; it applies to thermal="
                                      f"{' or '.join(map(repr, used_by[name]))} (remove it or choose that model)")


def scan_measurements(sim, scan, results, exits, dz, grid, extra_meta) -> tuple:
    """({name: Measurement}, leading axes, metadata) of a scan's detector signals ``results``
    {name: [row chunks]} with axes (scan_y, scan_x, [thickness,] *signal) (shared by multislice and PRISM)."""
    leading = scan.axes()
    meta = {**sim.to_dict(), **extra_meta, "scan": scan.to_dict()}
    if exits is not None:
        leading = leading + (exit_plane_axis(exits, dz),)
        meta["thickness"] = {"value": [e * dz for e in exits], "units": "Å"}
        meta["exit_slices"] = list(exits)
    meta.pop("detectors")
    out = {}
    for d in sim.detectors:
        if d.name in results:
            out.update(d.measurements(np.concatenate(results[d.name]), leading, meta, sim.beam, grid))
    return out, leading, meta


@validate.typed
def stem_scan(sim: STEMSimulation, scan: GridScan, potential: PotentialSlices, *, structure=None, thermal=None,
              n_configs=None, key=None, snapshots=None, parametrization=None, exit_planes=None,
              tds_potentials=None, precision=None, memory_budget=None, progress: bool = True,
              chunk_callback=None, method: str = "auto", interpolation=None, tolerance=None) -> dict:
    """Simulate a STEM scan; returns {output name: :class:`~jaxem.measurement.Measurement`}.

    Every detector contributes its measurements (``detector.measurements``; one per channel name) with
    axes (scan_y, scan_x [Å], [thickness,] *signal axes) and metadata with units (beam, semi-angle,
    aberrations, detector, thermal model, number of configurations).

    Args:
        sim: beam, probe and detectors.
        scan: probe positions (must lie inside the potential's cell).
        potential: :class:`~jaxem.potential.PotentialSlices` on the simulation grid. With
            ``thermal=None`` it is the specimen (real, or absorptive complex built for the beam's
            energy); for frozen phonons it fixes the grid and the slice thickness.
        structure: the static :class:`~jaxem.structure.Structure`, for frozen phonons only.
        thermal: None, ``'einstein'`` or ``'snapshots'``.
        n_configs: Einstein configurations (default 8; Einstein model only).
        key: ``jax.random`` key of the Einstein configurations (default ``jax.random.key(0)``).
        snapshots: (n, N, 3) positions [Å] of the N atoms of ``structure`` (``thermal='snapshots'``).
        parametrization: potential parametrization for frozen phonons (default ``'lobato'``).
        exit_planes: None (exit surface only), an int step N (every N slices, plus the last), or a
            sequence of slice counts: adds a thickness axis after the scan axes.
        tds_potentials: with an absorptive ``potential`` (thermal=None): {detector name: that
            detector's absorptive potential} (``jaxem.potential.absorptive_potential(...,
            detector=(inner, outer))`` on the same structure and slicing); adds ``<name>_tds``, the
            single-inelastic TDS the detector collects (fraction of the probe) that the absorptive
            model removes from the elastic wave (Allen et al., Ultramicroscopy 96 (2003) 47).
        precision: any alias of :data:`jaxem.accel.PRECISION_ALIASES` (default float32).
        memory_budget: bytes or e.g. ``"2G"`` (default from :mod:`jaxem.accel`).
        progress: show a progress bar over scan rows.
        chunk_callback: called as ``f(rows, {detector name: array (n_rows, scan_x, [n_exit,] *signal)})``
            after each chunk of rows (a ``slice`` of scan rows); signals with two or more dimensions per
            position (diffraction patterns) then go only to the callback and are not returned.
        method: ``'multislice'`` (probe by probe), ``'prism'`` (:func:`jaxem.stem.prism_scan`, S-matrix
            with ``interpolation`` f, default 1 = exact) or ``'auto'`` (default): PRISM where it is
            estimated ≥ 1.5× faster and its error estimate (:func:`jaxem.stem.prism_error_estimate`) is
            ≤ ``tolerance`` (relative, default 1e-3) for every detector of ``sim`` at every exit plane,
            else multislice (:func:`jaxem.stem.choose_method`); the decision and the detector that made it are in every
            measurement's ``method_choice`` metadata.
        interpolation: PRISM interpolation factor f (int or (f_y, f_x)); with 'auto' the only one tried.
        tolerance: relative error accepted by 'auto' [1].

    Raises:
        InputError / InputTypeError naming the argument: wrong types, a scan outside the cell, a
        semi-angle or detector angle beyond what the grid holds, a potential built for another
        energy, a structure that does not match the potential, arguments that the chosen thermal
        model does not use.
    """
    thermal, beam, grid = check_scan_arguments(sim, scan, potential, thermal, chunk_callback)
    check_thermal_arguments(thermal, structure=structure, n_configs=n_configs, key=key, snapshots=snapshots,
                            parametrization=parametrization)
    method = validate.choice(method, "method", ("auto", "prism", "multislice"))
    if method == "multislice" and (interpolation is not None or tolerance is not None):
        raise validate.InputError("interpolation and tolerance belong to method='prism' or 'auto', got "
                                  "method='multislice'")
    choice = None  # method="auto": the decision, recorded in the metadata ("method_choice")
    if method != "multislice":
        from . import prism_run as _prism

        chosen = ("prism", interpolation or 1) if method == "prism" else _prism.choose_method(
            sim, scan, potential, tolerance, interpolation, features_ok=tds_potentials is None,
            exit_planes=exit_planes)
        choice = None if method == "prism" else chosen.to_dict()
        if chosen[0] == "prism":
            if tds_potentials is not None:
                raise validate.InputError("tds_potentials need the wave inside the specimen, which PRISM does not "
                                          "keep: use method='multislice'")
            return _with_choice(_prism.prism_scan(
                sim, scan, potential, interpolation=chosen[1], structure=structure, thermal=thermal,
                n_configs=n_configs, key=key, snapshots=snapshots, parametrization=parametrization,
                exit_planes=exit_planes, precision=precision, memory_budget=memory_budget, progress=progress,
                chunk_callback=chunk_callback), choice)
    rdtype, cdtype = accel.dtypes(precision)
    accel.memory_budget(memory_budget)  # an unreadable budget is named before any work

    # ---- probe, detectors, propagator --------------------------------------------------------
    pk = probe_transfer(grid, beam, sim.semi_angle, sim.aberrations, sim.edge_width, precision=precision)
    npix = grid.gpts[0] * grid.gpts[1]
    pk = (pk * jnp.sqrt(npix / jnp.sum(jnp.abs(pk) ** 2))).astype(cdtype)
    detectors = sim.detectors
    states = tuple(_cast_state(d.prepare(beam, grid), rdtype) for d in detectors)
    freqs = grid.frequencies(rdtype)

    # ---- thermal model -------------------------------------------------------------------------
    tds_names, absorptive = (), None
    if tds_potentials is not None:
        if thermal is not None:
            raise validate.InputError("tds_potentials belong to the absorptive model (thermal=None), got "
                                      f"thermal={thermal!r}")
        if not isinstance(tds_potentials, dict) or not tds_potentials:
            raise validate.InputTypeError("tds_potentials must be a non-empty dict {detector name: PotentialSlices}")
        names = [d.name for d in detectors]
        for name, tp in tds_potentials.items():
            validate.choice(name, "tds_potentials key (a detector name)", names)
            if not isinstance(tp, PotentialSlices) or tp.sequence != potential.sequence or tp.grid != grid:
                raise validate.InputError(f"tds_potentials[{name!r}] must be PotentialSlices on the same grid and "
                                          "slicing as potential")
        tds_names = tuple(tds_potentials)
        absorptive = jnp.stack([jnp.imag(tp.array) if jnp.iscomplexobj(tp.array) else tp.array
                                for tp in tds_potentials.values()]).astype(rdtype)

    if thermal is None:
        n_slices, seq_dz = potential.n_slices, potential.slice_thickness
        exits = exit_slice_counts(exit_planes, n_slices)
        n_members = 1
    else:
        if structure is None:
            raise validate.InputError(f"thermal={thermal!r} needs structure= (the static jaxem Structure)")
        if thermal == "einstein":
            n_configs = validate.integer(8 if n_configs is None else n_configs, "n_configs", lo=1)
            members = _split_key(key, n_configs)
        elif snapshots is None:
            raise validate.InputError("thermal='snapshots' needs snapshots= (n, N, 3) positions [Å]")
        _check_structure(structure, grid, thermal)
        flat = structure.replace(z_repeats=1)  # displacements break the periodicity along z
        if thermal == "einstein" and float(jnp.max(flat.u2, initial=0.0)) <= 0:
            raise validate.InputError("structure has B = 0 everywhere: frozen phonons need Debye–Waller factors "
                                      "(B or u2 [Å²])")
        if thermal == "snapshots":
            validate.array(snapshots, "snapshots", ndim=3, shape=(len(flat), 3), kind="real", units="Å")
            members = jnp.asarray(snapshots, rdtype)
        layout = potential_layout(flat, gpts=grid.gpts, slice_thickness=potential.slice_thickness,
                                  parametrization=parametrization or "lobato", precision=precision)
        n_slices, seq_dz = len(layout.sequence), layout.slice_thickness
        exits = exit_slice_counts(exit_planes, n_slices)
        n_members = int(jax.tree.leaves(members)[0].shape[0])
        st = flat.replace(positions=flat.positions.astype(rdtype), u2=flat.u2.astype(rdtype))

    prop = fresnel_propagator(grid, beam, float(seq_dz), cdtype)

    # ---- memory: positions per batch, rows per chunk ------------------------------------------
    probe_sd = jax.ShapeDtypeStruct(grid.gpts, rdtype)
    sig_shapes = jax.eval_shape(lambda st_, dp: _signals(detectors, st_, dp), states, probe_sd)
    n_exit = 1 if exits is None else len(exits)
    signal_bytes = n_exit * (sum(math.prod(s.shape) * s.dtype.itemsize for s in sig_shapes)
                             + len(tds_names) * np.dtype(rdtype).itemsize)
    per_position = _WAVE_COPIES * npix * np.dtype(cdtype).itemsize + signal_bytes
    pos_batch, rows_per_chunk = scan_batches(per_position, signal_bytes, scan, memory_budget)
    static = dict(detectors=detectors, beam=beam, exits=exits, batch=pos_batch)
    if thermal is None:
        trans = transmission_functions(potential.array, beam, grid, cdtype)
        seq = jnp.asarray(potential.sequence, jnp.int32)
        run_chunk = partial(_scan_static, probe_k=pk, freqs=freqs, trans=trans, seq=seq, prop=prop, states=states,
                            absorptive=absorptive, **static)
    else:
        # one configuration holds its transmission functions (and the potential build) besides its positions
        per_member = 3 * n_slices * npix * np.dtype(cdtype).itemsize + static["batch"] * per_position
        member_batch = accel.batch_size(per_member, n_members, memory_budget, cpu_cap=accel.cpu_working_set())
        run_chunk = partial(_scan_thermal, members=members, structure=st, layout=layout, probe_k=pk, freqs=freqs,
                            prop=prop, states=states, einstein=thermal == "einstein", member_batch=int(member_batch),
                            **static)

    from tqdm.auto import tqdm

    positions = scan.positions()
    per_chunk = rows_per_chunk * scan.gpts[1]
    keep = [chunk_callback is None or len(s.shape) < 2 for s in sig_shapes]
    results = {d.name: [] for d, k in zip(detectors, keep) if k}
    tds_parts = []
    bar = tqdm(total=scan.gpts[0], desc="STEM scan (rows)", disable=not progress, unit="row")
    for r0 in range(0, scan.gpts[0], rows_per_chunk):
        rows = slice(r0, min(scan.gpts[0], r0 + rows_per_chunk))
        nrow = rows.stop - rows.start
        pos = positions[rows].reshape(-1, 2)
        if len(pos) < per_chunk:  # same shape for every chunk: no recompilation for the last one
            pos = np.concatenate([pos, np.repeat(pos[-1:], per_chunk - len(pos), axis=0)])
        signals, tds = run_chunk(jnp.asarray(pos, rdtype))
        n = nrow * scan.gpts[1]
        chunk = {d.name: np.asarray(s[:n]).reshape((nrow, scan.gpts[1]) + s.shape[1:])
                 for d, s in zip(detectors, signals)}
        if chunk_callback is not None:
            chunk_callback(rows, chunk)
        for name in results:
            results[name].append(chunk[name])
        if tds is not None:
            tds_parts.append(np.asarray(tds[:n]).reshape((nrow, scan.gpts[1]) + tds.shape[1:]))
        bar.update(nrow)
    bar.close()

    # ---- measurements --------------------------------------------------------------------------
    out, leading, meta = scan_measurements(sim, scan, results, exits, seq_dz, grid,
                                           {"method": "multislice", "thermal": thermal or "static",
                                            "n_configurations": n_members})
    if tds_parts:
        tds = np.concatenate(tds_parts)
        for i, name in enumerate(tds_names):
            det = detectors[[d.name for d in detectors].index(name)]
            out[f"{name}_tds"] = Measurement(
                tds[..., i], leading, {**meta, "detector": det.to_dict(), "quantity":
                                       "single-inelastic TDS into the detector, fraction of probe intensity"},
                scan_signal_ndim(leading, ()))
    return _with_choice(out, choice)


def _with_choice(out: dict, choice) -> dict:
    """``out`` with ``choice`` (a ``method="auto"`` decision, :meth:`MethodChoice.to_dict`) as every
    measurement's ``method_choice`` metadata (unchanged for an explicit method)."""
    if choice is None:
        return out
    return {k: dataclasses.replace(m, metadata={**m.metadata, "method_choice": choice}) for k, m in out.items()}
