"""Hostile inputs at the boundaries added last session: phonons, eels, ml, ptycho, phase, PRISM, parallel,
md (simulate, potential, engine, store) and accel.estimate.

Same rules as ``tests/test_hostile_inputs.py`` (issue 13): every bad input is a ``ValueError``/``TypeError``/
``OSError`` (jaxem's ``InputError``/``InputTypeError``/``FileFormatError``) whose message names the argument
or the file, never an ``IndexError``/``KeyError``/``AttributeError``/``ZeroDivisionError``/XLA or tracer
error, a silent NaN, a silent crop or an ignored argument. Three layers:

* **The sweep** (``test_sweep_every_public_callable_is_accounted_for``): the public callables of the
  ``__all__`` of the swept packages (recursing into exported sub-modules) are listed at import time; each
  must have a hand-written case below (``CASES``), or be in :data:`FUZZ_ONLY` (only the generic sweep for
  now, a commented to-do list) or :data:`EXEMPT` (pure data/result classes, exception classes, functions
  without arguments). A public function added later fails this test until it is placed.
* **The generic sweep** (``test_generic_hostile_values``): every public callable with required arguments is
  called with all of them set to each of None, a unit-less string, a dict, NaN, an empty array, a NaN
  array and a complex number; each call must raise a clear error naming one of its arguments (or the
  callable). A callable that still fails is listed in :data:`KNOWN` with the reason, as a strict expected
  failure (fixing it makes the test fail until the entry is removed).
* **Hand-written cases** (``test_bad_input_is_a_clear_error``): the input classes that apply to each
  callable (NaN/inf/negative/zero scalars, strings with and without units, wrong shapes, out-of-range
  angles/energies/q, unknown names, missing/empty/corrupt files and stores, mismatched lengths). Each case
  says which callable it ``covers``, and the raised error's traceback must pass through that callable
  (a case that dies before reaching it, e.g. in building its inputs, does not count).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import re
import types

import jax
import numpy as np
import pytest

from tests.test_hostile_inputs import UNCLEAR, _Fixtures as _CorpusFixtures, _mkdir, _tmp, _write

NAN, INF = float("nan"), float("inf")

# ---- the public callables swept ------------------------------------------------------------------
#: package → the modules whose names are swept (None: all of its ``__all__``)
SWEPT = {
    "phonons": None, "eels": None, "ml": None, "ptycho": None, "parallel": None, "phase": None,
    "stem": ("jaxem.stem.prism", "jaxem.stem.prism_run", "jaxem.stem.prism_partition", "jaxem.stem.prism_accuracy"),
    "md": ("jaxem.md.simulate", "jaxem.md.potentials", "jaxem.md.engine", "jaxem.md.store"),
    "accel": ("jaxem.accel.estimate",),
}
#: public functions of the swept packages that are not in an ``__all__`` (reached by module path)
EXTRA = {"phase.ooc.wdd_out_of_core": ("jaxem.phase.ooc", "wdd_out_of_core")}


def _members(mod, prefix, modules):
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, o in vars(mod).items() if not n.startswith("_") and getattr(o, "__module__", None)
                 == mod.__name__]
    out = {}
    for n in names:
        o = getattr(mod, n)
        if isinstance(o, types.ModuleType):
            out.update(_members(o, f"{prefix}.{n}", None))
        elif callable(o) and (modules is None or getattr(o, "__module__", None) in modules):
            out[f"{prefix}.{n}"] = o
    return out


def public_callables() -> dict:
    out = {}
    for pkg, modules in SWEPT.items():
        out.update(_members(importlib.import_module(f"jaxem.{pkg}"), pkg, modules))
    for name, (mod, attr) in EXTRA.items():
        out[name] = getattr(importlib.import_module(mod), attr)
    return out


CALLABLES = public_callables()

#: callables that need no hostile-input case (each with its reason)
EXEMPT = {
    # exception classes
    "md.PotentialFileError": "exception class", "md.LammpsError": "exception class",
    "accel.OutOfMemoryError": "exception class", "accel.estimate.OutOfMemoryError": "exception class",
    # no arguments at all
    "md.available_potentials": "no arguments", "md.engine_version": "no arguments",
    "md.cache_dir": "no arguments (reads JAXEM_CACHE_DIR; covered by a case on the environment below)",
    "ml.train.default_weights_path": "no arguments", "ml.train.load_default": "no arguments (reads shipped weights)",
    "md.has_module": "no arguments",
    # results and states: pytree dataclasses built (and checked) by the function named; their leaves may be
    # tracers inside jit, so the classes themselves do not inspect them
    **{n: f"result/state container built by {by}" for n, by in {
        "phonons.ModeProjector": "phonons.mode_projector", "phonons.FrameWaves": "phonons.frame_waves",
        "phonons.TacawSpectrum": "phonons.tacaw_spectrum", "eels.PeakFit": "eels.fit_peaks",
        "eels.PeakFitState": "eels.peak_fit_init/step", "eels.DispersionFit": "eels.fit_dispersion",
        "eels.FilmFit": "eels.fit_film", "eels.PacketTrack": "eels.track_packet", "eels.SpaceTime": "eels.spacetime",
        "eels.QEAnalysis": "eels.analyse", "ml.peaks.Spots": "ml.detect", "ml.Spots": "ml.detect",
        "ml.indexing.Candidates": "ml.candidates", "ml.indexing.Grain": "ml.index_spots",
        "ml.Grain": "ml.index_spots", "ml.train.TrainState": "ml.train.init/step", "ml.Bank": "ml.simulate_zone",
        "ml.ZoneTable": "ml.zone_table", "ptycho.PtychoParams": "ptycho.init_params",
        "ptycho.PtychoState": "ptycho.init/step", "ptycho.PtychoResult": "ptycho.reconstruct",
        "ptycho.PtychoData": "ptycho.prepare", "phase.AberrationFit": "phase.fit_parallax/fit_higher_orders",
        "phase.BrightFieldDisk": "phase.find_bright_field", "phase.RotationResult": "phase.rotation_from_com",
        "phase.BFStack": "phase.bright_field_stack", "phase.streaming.ParallaxState": "phase.streaming.init/step",
        "phase.ParallaxState": "phase.streaming.init/step", "phase.streaming.ParallaxConfig": "phase.parallax_config",
        "phase.ParallaxConfig": "phase.parallax_config", "phase.DPCResult": "phase.dpc",
        "stem.SMatrix": "stem.build_smatrix", "phase.BadData": "phase.Dataset4D (its masking report)", "md.MDRun": "md.simulate",
        "accel.MemoryEstimate": "the estimate functions (parallel.estimate_stem, ptycho)",
        "accel.estimate.MemoryEstimate": "the estimate functions (parallel.estimate_stem, ptycho)"}.items()},
}

#: callables covered by the generic sweep only, for now (to-do: hand-written cases once their owners' boundary
#: checks land: each is a strict expected failure of the generic sweep, see KNOWN)
FUZZ_ONLY: dict = {
}

#: values of the generic sweep that a callable accepts by design: callable → {value label: reason}
ACCEPTS = {
    "accel.out_of_memory_hint": {"str": "a text estimate is allowed (shown as it is)"},
    "accel.estimate.out_of_memory_hint": {"str": "a text estimate is allowed (shown as it is)"},
    "ml.database.create": {"str": "a new path: creates the database there (in the test's temporary folder)"},
    "ml.database.is_complete": {"str": "a predicate: a path that is no entry is not complete (False)"},
    "ml.peaks.to_g": {"empty": "no spots is a valid (0, 2) point set"},
    "ml.peaks.from_g": {"empty": "no spots is a valid (0, 2) point set"},
    "ml.peaks.match": {"empty": "no spots is a valid (0, 2) point set"},
    "ml.peaks.friedel_consistency": {"empty": "no spots is a valid (0, 2) point set (consistency 1)"},
    "ml.peaks.rot180": {"nanarr": "an index permutation (runs under jit): NaN is moved, never made"},
    "ml.split": {"empty": "no structure ids split into two empty lists"},
}

#: generic-sweep failures that are not fixed yet: callable → reason (strict expected failures). They sit in
#: files other engineers are rewriting now (parallax-corr: phase alignment/direct/
#: transfer; dpc-fast: phase com_integration; prism3: stem/prism_run); each needs the boundary check named.
KNOWN: dict = {}


# ---- tiny shared inputs (built once, on first use) ---------------------------------------------
class _Fixtures(_CorpusFixtures):
    """The corpus's fixtures (grid, beam, structure, pot, sim, scan …) and the ones of the new packages."""

    @functools.cached_property
    def ds(self):
        from jaxem import phase
        y, x = np.mgrid[:16, :16]
        disk = ((y - 8) ** 2 + (x - 8) ** 2 < 16).astype(np.float32)
        arr = np.tile(disk, (6, 6, 1, 1)) * np.random.default_rng(0).uniform(0.9, 1.1, (6, 6, 1, 1)).astype(np.float32)
        return phase.Dataset4D(arr, 0.5, beam="300 kV", semiangle=20.0, detector_sampling=0.253, center=(8.0, 8.0))

    @functools.cached_property
    def stack(self):
        from jaxem import phase
        return phase.bright_field_stack(self.ds)

    @functools.cached_property
    def qe(self):
        from jaxem import eels
        return eels.drude_map(np.linspace(0.0, 1.0, 6), np.linspace(-2.0, 30.0, 65), zlp_counts=1e4)[0]

    @functools.cached_property
    def bank(self):
        from jaxem import ml
        from jaxem.ml.render import device_bank
        return device_bank(ml.Bank(np.zeros((1, 2, 2)), np.zeros((1, 2)), np.zeros((1, 2)), np.zeros(1, np.int32),
                                   np.full(1, 50.0), np.zeros(1)))

    @functools.cached_property
    def si(self):
        import jaxem as jx
        return jx.crystals.Si()


F = _Fixtures()


# ---- the hand-written corpus --------------------------------------------------------------------
CASES: list = []


def bad(covers: str, case_id: str, match: str, call, known: str | None = None):
    """A case: ``call()`` (or ``call.fn(tmp_path)``) must raise a clear error matching ``match``, raised
    inside the public callable ``covers`` (a key of :data:`CALLABLES`). ``known``: the reason of a defect
    not fixed yet (a strict expected failure: fixing it makes the test fail until the mark is removed)."""
    marks = [pytest.mark.xfail(reason=known, strict=True)] if known else []
    CASES.append(pytest.param(covers, call, match, id=f"{covers}/{case_id}", marks=marks))


def _each(covers: str, prefix: str, match: str, build, values: dict):
    for label, v in values.items():
        bad(covers, f"{prefix}={label}", match, functools.partial(build, v))


SCALARS = {"nan": NAN, "inf": INF, "-1": -1.0, "None": None, "dict": {}, "list": [1.0, 2.0], "complex": 1 + 1j,
           "bool": True, "lots": "lots", "5furlongs": "5 furlongs"}
POSITIVE = {**SCALARS, "0": 0.0}


# ---- eels -----------------------------------------------------------------------------------------
from jaxem import eels  # noqa: E402

_E = np.linspace(1.0, 30.0, 30)
for _n, _call in {
    "drude_loss": lambda v: eels.drude_loss(v, 15.0, 1.0), "lorentz_peak": lambda v: eels.lorentz_peak(_E, v, 1.0),
    "bulk_dispersion": lambda v: eels.bulk_dispersion(v, 15.0, 0.4), "group_velocity": lambda v: eels.group_velocity(v, 0.4),
    "film_branches": lambda v: eels.film_branches(np.ones(3), 15.0, v),
    "continuum_edge": lambda v: eels.continuum_edge(v, 1.7), "kinematic_factor": lambda v: eels.kinematic_factor(0.1, v),
    "slit_kinematic_factor": lambda v: eels.slit_kinematic_factor(0.1, 0.01, v),
    "characteristic_momentum": lambda v: eels.characteristic_momentum(v, "100 kV"),
}.items():
    _each(f"eels.{_n}", "value", r"\b(energy|center|q|q_e|thickness|width|fwhm)\b", _call,
          {"nan": NAN, "None": None, "str": "lots", "complex": 1j, "nanarr": np.array([1.0, NAN]), "empty": np.zeros(0)})
_each("eels.continuum_cutoff", "plasmon_energy", "plasmon_energy", lambda v: eels.continuum_cutoff(v, 0.4, 1.7), POSITIVE)
_each("eels.free_electron_plasmon", "density", "density", eels.free_electron_plasmon, POSITIVE)
_each("eels.rpa_alpha", "fermi_energy", "fermi_energy", lambda v: eels.rpa_alpha(15.0, v), POSITIVE)
bad("eels.characteristic_momentum", "beam", "beam|energy", lambda: eels.characteristic_momentum(10.0, "lots"))
_each("eels.PeakModel", "kind", "kind", lambda v: eels.PeakModel(kind=v), {"lots": "lots", "None": None, "int": 3})
_each("eels.PeakModel", "n_peaks", "n_peaks", lambda v: eels.PeakModel(n_peaks=v), {"0": 0, "float": 1.5, "str": "x"})
bad("eels.PeakModel", "background", "background", lambda: eels.PeakModel(background="lots"))
bad("eels.qe_map", "data-1d", "data", lambda: eels.qe_map(np.ones(5), (np.arange(5.0), "1/Å"), (np.arange(5.0), "eV")))
bad("eels.qe_map", "q-length", r"q|length|shape", lambda: eels.qe_map(np.ones((4, 5)), (np.arange(3.0), "1/Å"),
                                                                      (np.arange(5.0), "eV")))
bad("eels.qe_map", "energy-units", r"energy|units|kg", lambda: eels.qe_map(np.ones((4, 5)), (np.arange(4.0), "1/Å"),
                                                                           (np.arange(5.0), "kg")))
bad("eels.qe_map", "negative", "negative", lambda: eels.qe_map(-np.ones((4, 5)), (np.arange(4.0), "1/Å"),
                                                               (np.arange(5.0), "eV")))
bad("eels.qe_map", "angles-without-beam", r"beam|mrad", lambda: eels.qe_map(np.ones((4, 5)), (np.arange(4.0), "mrad"),
                                                                            (np.arange(5.0), "eV")))
bad("eels.as_qe_map", "missing", "nothere", _tmp(lambda t: eels.as_qe_map(t / "nothere.zspy")))
bad("eels.as_qe_map", "array", r"obj.*q–E map", lambda: eels.as_qe_map(np.ones((4, 5))))
bad("eels.read", "empty-file", r"empty\.dm4|format|read", _tmp(lambda t: eels.read(_write(t / "empty.dm4", b""))))
bad("eels.read", "binary-zspy", r"bin\.zspy", _tmp(lambda t: eels.read(_write(_mkdir(t / "bin.zspy") / "zarr.json", b"\x00\x01"))))
bad("eels.from_hyperspy", "not-a-signal", r"signal|HyperSpy", lambda: eels.from_hyperspy(np.ones((4, 5))))
bad("eels.from_sqw", "no-axes", r"sqw.*q=", lambda: eels.from_sqw(np.ones((4, 5))))
bad("eels.from_sqw", "side", "side", lambda: eels.from_sqw(np.ones((4, 5)), side="lots"))
bad("eels.drude_map", "plasmon_energy", "plasmon_energy", lambda: eels.drude_map(np.linspace(0, 1, 4), _E, plasmon_energy=-1.0))
bad("eels.drude_map", "q-short", r"\bq\b", lambda: eels.drude_map(np.array([0.1]), _E))
bad("eels.film_map", "thickness", "thickness", lambda: eels.film_map(np.linspace(0, 1, 4), _E, thickness=NAN))
bad("eels.synthetic_map", "loss-shape", "loss", lambda: eels.synthetic_map(np.linspace(0, 1, 4), _E, np.ones((3, 30))))
bad("eels.synthetic_map", "counts", "counts_per_peak", lambda: eels.synthetic_map(np.linspace(0, 1, 4), _E, np.ones((4, 30)),
                                                                                  counts_per_peak=-5))
bad("eels.remove_zlp", "method", "method", lambda: eels.remove_zlp(F.qe, method="lots"))
bad("eels.remove_zlp", "precision", "precision", lambda: eels.remove_zlp(F.qe, precision="lots"))
bad("eels.deconvolve", "zlp", r"zlp|resolution", lambda: eels.deconvolve(F.qe, zlp="lots"))
bad("eels.loss_function", "slit_width", "slit_width", lambda: eels.loss_function(F.qe, beam="100 kV", slit_width=-1.0))
bad("eels.loss_function", "e_min", "e_min", lambda: eels.loss_function(F.qe, beam="100 kV", e_min=NAN))
bad("eels.fit_peaks", "window", "window", lambda: eels.fit_peaks(F.qe, (20.0, 5.0)))
bad("eels.fit_peaks", "n_iter", "n_iter", lambda: eels.fit_peaks(F.qe, (5.0, 25.0), n_iter=0))
bad("eels.fit_peaks", "kind", "kind", lambda: eels.fit_peaks(F.qe, (5.0, 25.0), kind="lots"))
bad("eels.peak_fit_init", "model", "model", lambda: eels.peak_fit_init(np.ones((2, 5)), np.arange(5.0), np.ones((2, 5)),
                                                                       "drude", np.ones((2, 4))))
bad("eels.peak_fit_init", "theta0-shape", "theta0", lambda: eels.peak_fit_init(
    np.ones((2, 5)), np.arange(5.0), np.ones((2, 5)), eels.PeakModel(), np.ones((2, 2))))
bad("eels.peak_fit_init", "energy-nan", "energy", lambda: eels.peak_fit_init(
    np.ones((2, 5)), np.full(5, NAN), np.ones((2, 5)), eels.PeakModel(), np.ones((2, 4))))
bad("eels.peak_fit_step", "state", "state", lambda: eels.peak_fit_step(None, np.ones((2, 5)), np.arange(5.0),
                                                                       np.ones((2, 5)), np.zeros(4), np.ones(4)))
bad("eels.peak_fit_result", "state", "state", lambda: eels.peak_fit_result({}, np.ones((2, 5)), np.arange(5.0),
                                                                           np.ones((2, 5)), np.zeros(4), np.ones(4)))
bad("eels.fit_dispersion", "lengths", r"q|energy|length|shape", lambda: eels.fit_dispersion(np.arange(5.0), np.arange(4.0)))
bad("eels.fit_dispersion", "q_max", "q_max", lambda: eels.fit_dispersion(np.arange(5.0), np.arange(5.0), q_max=-1.0))
bad("eels.fit_film", "thickness", "thickness", lambda: eels.fit_film(np.arange(1.0, 6.0), np.full(5, 12.0), np.full(5, 8.0),
                                                                     thickness=-3.0))
bad("eels.width_onset", "min_points", "min_points", lambda: eels.width_onset(np.arange(8.0), np.ones(8), min_points=0))
bad("eels.loss_sigma", "counts", "counts", lambda: eels.loss_sigma(np.ones((4, 5)), F.qe, 1.0))
bad("eels.resolution_factor", "n_t", "n_t", lambda: eels.resolution_factor(np.ones(3) / 3, 0.0, 0.1, 0, 0.1))
bad("eels.resolution_factor", "step-mismatch", r"resolution|step", lambda: eels.resolution_factor(np.ones(3) / 3, 0.0, 0.2, 8, 0.1))
bad("eels.resolution_kernel", "array", "zlp", lambda: eels.resolution_kernel(np.ones(5)))
bad("eels.wiener_shrink", "prior-shape", "prior", lambda: eels.wiener_shrink(np.ones(5), np.ones(5), np.ones(4)))
bad("eels.wiener_shrink", "noise-negative", "noise", lambda: eels.wiener_shrink(np.ones(5), -np.ones(5), np.ones(5)))
_each("eels.resolution", "q_max", "q_max", lambda v: eels.resolution(v, 0.1, 30.0), POSITIVE)
bad("eels.spacetime", "pad", "pad", lambda: eels.spacetime(F.qe, pad=0))
bad("eels.spacetime", "window", "window", lambda: eels.spacetime(F.qe, window="lots"))
bad("eels.spacetime", "quantity", "quantity", lambda: eels.spacetime(F.qe, quantity="lots"))
bad("eels.inverse_spacetime", "st", r"\bst\b|SpaceTime", lambda: eels.inverse_spacetime(None))
bad("eels.track_packet", "st", r"\bst\b|SpaceTime", lambda: eels.track_packet("lots"))
bad("eels.analyse", "zlp", "zlp", lambda: eels.analyse(F.qe, zlp="lots"))
bad("eels.analyse", "e_min", "e_min", lambda: eels.analyse(F.qe, e_min=-1.0))
bad("eels.analyse", "missing-file", "nothere", _tmp(lambda t: eels.analyse(t / "nothere.zspy")))


# ---- phonons --------------------------------------------------------------------------------------
from jaxem import phonons  # noqa: E402

_each("phonons.mode_amplitudes", "temperature", "temperature", lambda v: phonons.mode_amplitudes(np.ones(3), v),
      {k: v for k, v in SCALARS.items() if k != "-1"} | {"-1": -1.0})
bad("phonons.mode_amplitudes", "imaginary", r"frequenc|imaginary", lambda: phonons.mode_amplitudes(np.array([-2.0]), 300.0))
bad("phonons.mode_amplitudes", "nan", "frequencies", lambda: phonons.mode_amplitudes(np.array([NAN]), 300.0))
bad("phonons.mean_square_displacements", "temperature", "temperature", lambda: phonons.mean_square_displacements(
    np.ones((1, 3)), np.ones((1, 3, 1, 3)) / 3, np.ones(1), -5.0))
bad("phonons.harmonic_phonons", "unit_cell", r"unit_cell|structure", lambda: phonons.harmonic_phonons("lots"))
bad("phonons.harmonic_phonons", "supercell", "supercell", lambda: phonons.harmonic_phonons(F.si, supercell=(0, 1, 1)))
bad("phonons.harmonic_phonons", "displacement", "displacement", lambda: phonons.harmonic_phonons(
    F.si, supercell=(1, 1, 1), potential="lots", displacement=-0.1))
bad("phonons.Harmonic", "unit_cell", "unit_cell|phonon", lambda: phonons.Harmonic(None, F.si, (1, 1, 1), np.arange(8)))
bad("phonons.hessian_force_constants", "energy", "energy", lambda: phonons.hessian_force_constants("lots", np.zeros((2, 3))))
bad("phonons.hessian_force_constants", "positions", "positions", lambda: phonons.hessian_force_constants(
    lambda r: (r ** 2).sum(), np.zeros((2, 2))))
bad("phonons.morse_energy", "D", r"\bD\b", lambda: phonons.morse_energy(np.eye(3) * 5, -1.0, 1.0, 2.0, 4.0))
bad("phonons.morse_energy", "cutoff", "cutoff", lambda: phonons.morse_energy(np.eye(3) * 5, 1.0, 1.0, 2.0, -1.0))
bad("phonons.mode_projector", "harmonic", "harmonic", lambda: phonons.mode_projector("lots"))
bad("phonons.mode_selection", "projector", "projector", lambda: phonons.mode_selection(None))
bad("phonons.harmonic_displacements", "projector", "projector", lambda: phonons.harmonic_displacements(
    jax.random.PRNGKey(0), "lots", 300.0, 2))
bad("phonons.harmonic_snapshots", "projector", "projector", lambda: phonons.harmonic_snapshots(
    jax.random.PRNGKey(0), None, 300.0, 2))
bad("phonons.region_indices", "grid", "grid", lambda: phonons.region_indices(None, "lots"))
bad("phonons.region_indices", "mask-shape", "q_region", lambda: phonons.region_indices(np.ones((3, 3), bool), F.grid))
bad("phonons.region_indices", "off-lattice", "q_region", lambda: phonons.region_indices([(0.013, 0.0)], F.grid))
bad("phonons.region_indices", "beyond-nyquist", "q_region", lambda: phonons.region_indices([(10.0, 0.0)], F.grid))
bad("phonons.FrameKernel", "structure", "structure", lambda: phonons.FrameKernel("lots", jx_plane_wave()))
bad("phonons.FrameKernel", "waves", "waves", lambda: phonons.FrameKernel(F.structure, np.ones((4, 4))))
bad("phonons.frame_waves", "frames", r"frames|positions", lambda: phonons.frame_waves(
    F.structure, jx_plane_wave(F.pot.grid), np.zeros((2, 3, 3)), time_step=1.0))
bad("phonons.frame_waves_to_zarr", "frames", r"frames|positions", _tmp(lambda t: phonons.frame_waves_to_zarr(
    t / "w.zarr", F.structure, jx_plane_wave(F.pot.grid), np.zeros((2, 3, 3)), time_step=1.0)))
_each("phonons.energy_axis", "time_step", "time_step", lambda v: phonons.energy_axis(8, v), POSITIVE)
bad("phonons.energy_axis", "n", r"\bn\b", lambda: phonons.energy_axis(0, 1.0))
bad("phonons.energy_resolution", "window", r"window|name", lambda: phonons.energy_resolution("lots", 100.0))
bad("phonons.energy_resolution", "duration", "duration", lambda: phonons.energy_resolution("hann", -1.0))
bad("phonons.quantum_prefactor", "temperature", "temperature", lambda: phonons.quantum_prefactor(np.ones(3), -1.0))
bad("phonons.resolution_for", "energy_step", "energy_step", lambda: phonons.resolution_for(-1.0, 1.0, 10))
bad("phonons.resolution_for", "too-fine", r"energy_step|frames", lambda: phonons.resolution_for(1e-6, 1.0, 10))
bad("phonons.window", "name", "name|window", lambda: phonons.window("lots", 8))
bad("phonons.window", "n", r"\bn\b", lambda: phonons.window("hann", 0))
bad("phonons.stft", "window_length", "window_length", lambda: phonons.stft(np.ones((8, 2), complex), 1.0, 100))
bad("phonons.stft", "time_step", "time_step", lambda: phonons.stft(np.ones((8, 2), complex), NAN, 4))
bad("phonons.tacaw_spectrum", "real", "psi_t", lambda: phonons.tacaw_spectrum(np.ones((8, 2)), 1.0))
bad("phonons.tacaw_spectrum", "few-frames", "psi_t", lambda: phonons.tacaw_spectrum(np.ones((2, 2), complex), 1.0))
bad("phonons.tacaw_spectrum", "time_step", "time_step", lambda: phonons.tacaw_spectrum(np.ones((8, 2), complex)))
bad("phonons.tacaw_spectrum", "window", r"window", lambda: phonons.tacaw_spectrum(np.ones((8, 2), complex), 1.0,
                                                                                  window_name="lots"))
bad("phonons.collection_mask", "radius", "collection_radius", lambda: phonons.collection_mask(F.pot.grid, "300 kV", -1.0))
bad("phonons.collection_mask", "beyond-band", "collection_radius", lambda: phonons.collection_mask(
    F.pot.grid, "300 kV", 500.0))
bad("phonons.collection_mask", "centre", "collection_center", lambda: phonons.collection_mask(
    F.pot.grid, "300 kV", 5.0, center=(NAN, 0.0)))
_SI = dict(energy="300 kV", semi_angle=20.0, collection_radius=10.0, sampling=0.2, progress=False)
bad("phonons.tacaw_spectrum_image", "scan", "scan", lambda: phonons.tacaw_spectrum_image(
    F.structure, np.asarray(F.structure.positions)[None].repeat(8, 0), 1.0, "lots", **_SI))
bad("phonons.tacaw_spectrum_image", "frames", "frames", lambda: phonons.tacaw_spectrum_image(
    F.structure, np.zeros((8, 3, 3)), 1.0, F.scan, **_SI))
bad("phonons.tacaw_spectrum_image", "time_step", "time_step", lambda: phonons.tacaw_spectrum_image(
    F.structure, np.asarray(F.structure.positions)[None].repeat(8, 0), NAN, F.scan, **_SI))
bad("phonons.tacaw_spectrum_image", "semi_angle", "semi_angle", lambda: phonons.tacaw_spectrum_image(
    F.structure, np.asarray(F.structure.positions)[None].repeat(8, 0), 1.0, F.scan, **{**_SI, "semi_angle": -5.0}))


# ---- ml -------------------------------------------------------------------------------------------
from jaxem import ml  # noqa: E402
from jaxem.ml import database as mldb, train as mltrain  # noqa: E402

_each("ml.get_structure", "structure_id", "structure_id|source|lots|Unobt",
      ml.get_structure, {"None": None, "int": 3, "lots": "lots", "unknown": "ncrystal:Unobtainium", "empty": ""})
bad("ml.list_structures", "source", "source", lambda: ml.list_structures(source="lots"))
bad("ml.list_structures", "max_atoms", "max_atoms", lambda: ml.list_structures(max_atoms=0))
bad("ml.split", "str", "structure_ids", lambda: ml.split("ncrystal:Si_sg227"))
bad("ml.split", "held_out_every", "held_out_every", lambda: ml.split(["a:b"], held_out_every=0))
_each("ml.zone_table", "uvw", "uvw", lambda v: ml.zone_table(F.si, v),
      {"zero": (0, 0, 0), "2": (0, 1), "float": (0.5, 0, 1), "nan": (NAN, 0, 1), "str": "001"})
bad("ml.zone_table", "structure", "structure", lambda: ml.zone_table("Si", (0, 0, 1)))
bad("ml.zone_table", "g_max", "g_max", lambda: ml.zone_table(F.si, (0, 0, 1), g_max=-1.0))
bad("ml.zone_axes", "max_sum", "max_sum", lambda: ml.zone_axes(F.si, max_sum=0))
bad("ml.zone_axes", "structure", "structure", lambda: ml.zone_axes(None))
bad("ml.simulate_zone", "uvw", "uvw", lambda: ml.simulate_zone(F.si, (0, 0, 0)))
bad("ml.simulate_zone", "beam", "beam|energy", lambda: ml.simulate_zone(F.si, (0, 0, 1), beam="lots"))
bad("ml.simulate_zone", "thicknesses", "thickness", lambda: ml.simulate_zone(F.si, (0, 0, 1), thicknesses=(-1.0,)))
bad("ml.candidates", "empty", "tables", lambda: ml.candidates({}))
bad("ml.candidates", "key", "tables|uvw", lambda: ml.candidates({("ncrystal:Si", (0, 0, 0)): None}))
bad("ml.indexing.refine", "pairs", r"\bt\b|\bg\b", lambda: ml.indexing.refine(np.eye(2), np.ones((3, 2)), np.ones((2, 2))))
bad("ml.indexing.refine", "A0", "A0", lambda: ml.indexing.refine(np.eye(3), np.ones((3, 2)), np.ones((3, 2))))
bad("ml.index_spots", "g", r"\bg\b", lambda: ml.index_spots(np.full((3, 2), NAN), ml.candidates(
    {("ncrystal:Si", (0, 0, 1)): ml.zone_table(F.si, (0, 0, 1))})))
bad("ml.index_spots", "cands", "cands|Candidates", lambda: ml.index_spots(np.ones((3, 2)), "lots"))
_each("ml.lattice.fit_lattices", "positions", "positions", lambda v: ml.lattice.fit_lattices(v, 256),
      {"nan": np.full((4, 2), NAN), "3col": np.ones((4, 3)), "str": "lots", "None": None})
bad("ml.lattice.fit_lattices", "n", r"\bn\b", lambda: ml.lattice.fit_lattices(np.ones((4, 2)), 0))
bad("ml.lattice.fit_lattices", "tol", r"\btol\b", lambda: ml.lattice.fit_lattices(np.ones((4, 2)), 256, tol=-1.0))
_each("ml.lattice.lattice_sites", "basis", "basis", lambda v: ml.lattice.lattice_sites(v, 256),
      {"singular": [[1.0, 2.0], [2.0, 4.0]], "nan": [[NAN, 1.0], [1.0, 2.0]], "shape": np.eye(3), "str": "lots"})
bad("ml.lattice.site_evidence", "fft_mag", "fft_mag", lambda: ml.lattice.site_evidence(np.ones((2, 2)), np.ones((64, 32))))
bad("ml.lattice.site_evidence", "sites", "sites", lambda: ml.lattice.site_evidence(np.full((2, 2), NAN), np.ones((64, 64))))
bad("ml.lattice.site_evidence", "prob", "prob", lambda: ml.lattice.site_evidence(np.ones((2, 2)), np.ones((64, 64)),
                                                                                 prob=np.ones((32, 32))))
_each("ml.lattice.threshold", "dose", "dose", ml.lattice.threshold, {"0": 0.0, "neg": -1.0, "nan": NAN, "str": "x"})
_each("ml.lattice.decide_on_lattice", "dose", "dose",
      lambda v: ml.lattice.decide_on_lattice(np.ones((3, 2)), np.ones(3), np.zeros((64, 64)), np.ones((64, 64)), v),
      {"0": 0.0, "neg": -2.0, "nan": NAN, "None": None})
bad("ml.lattice.decide_on_lattice", "score", "score", lambda: ml.lattice.decide_on_lattice(
    np.ones((3, 2)), np.ones(2), np.zeros((64, 64)), np.ones((64, 64)), 2.0))
bad("ml.lattice.decide_on_lattice", "fft_mag", "fft_mag", lambda: ml.lattice.decide_on_lattice(
    np.ones((3, 2)), np.ones(3), np.zeros((64, 64)), np.ones((32, 32)), 2.0))
_each("ml.lattice.effective_dose", "image", "image|positive mean|noise|square",
      ml.lattice.effective_dose, {"zeros": np.zeros((64, 64)), "flat": np.ones((64, 64)), "rect": np.ones((64, 40)),
                                  "nan": np.full((64, 64), NAN), "1d": np.ones(64)})
bad("ml.lattice.effective_dose", "pixel_size", "pixel_size", lambda: ml.lattice.effective_dose(
    np.random.default_rng(0).poisson(5.0, (64, 64)).astype(float), pixel_size=-1.0))
bad("ml.detect", "nothing", r"image|x|fft_mag", lambda: ml.detect())
bad("ml.detect", "pixel_size", "pixel_size", lambda: ml.detect(np.ones((64, 64)), pixel_size=-1.0))
bad("ml.detect", "image-nan", "image", lambda: ml.detect(np.full((64, 64), NAN), pixel_size=0.25))
_each("ml.fft_input", "image", "image", ml.fft_input, {"1d": np.ones(8), "rect": np.ones((8, 16)), "nan": np.full((8, 8), NAN),
                                                        "None": None, "str": "lots"})
_each("ml.RenderConfig", "n", r"\bn\b", lambda v: ml.RenderConfig(n=v), {"0": 0, "float": 64.5, "str": "x", "huge": 10**6})
bad("ml.RenderConfig", "dose", "dose", lambda: ml.RenderConfig(dose=(10.0, 1.0)))
bad("ml.RenderConfig", "p_full", "p_full", lambda: ml.RenderConfig(p_full=2.0))
bad("ml.RenderConfig", "amorphous", "amorphous", lambda: ml.RenderConfig(amorphous=(0.5,)))
_each("ml.RenderConfig", "label_dose", "label_dose", lambda v: ml.RenderConfig(label_dose=v), {"0": 0.0, "neg": -5.0, "nan": float("nan"), "str": "x"})
bad("ml.render_batch", "bank", "bank", lambda: ml.render_batch(jax.random.PRNGKey(0), "lots", 2))
bad("ml.render_batch", "key", r"\bkey\b", lambda: ml.render_batch("lots", F.bank, 2))
bad("ml.render_batch", "batch", "batch", lambda: ml.render_batch(jax.random.PRNGKey(0), F.bank, 0))
bad("ml.UNet", "config", "config", lambda: ml.UNet("lots"))
_each("ml.UNetConfig", "filters", "filters", lambda v: ml.UNetConfig(filters=v), {"0": 0, "str": "x", "float": 2.5})
bad("ml.UNetConfig", "layers", "layers", lambda: ml.UNetConfig(layers=(1, 2)))
bad("ml.database.entry_key", "uvw", "uvw", lambda: mldb.entry_key("ncrystal:Si", (0, 0, 0)))
bad("ml.database.entry_key", "structure_id", "structure_id", lambda: mldb.entry_key(None, (0, 0, 1)))
bad("ml.database.create", "foreign-dir", r"not a jaxem FFT database", _tmp(lambda t: mldb.create(
    _write(_mkdir(t / "db") / "other.txt", "x").parent)))
bad("ml.database.create", "path", "path", lambda: mldb.create(None))
bad("ml.database.check_database", "missing", r"path.*no such", _tmp(lambda t: mldb.check_database(t / "nothere")))
bad("ml.database.check_database", "no-meta", r"jaxem-ffnet-db\.json", _tmp(lambda t: mldb.check_database(_mkdir(t / "db"))))
bad("ml.database.check_database", "corrupt-meta", r"jaxem-ffnet-db\.json", _tmp(lambda t: mldb.check_database(
    _write(_mkdir(t / "db") / "jaxem-ffnet-db.json", "{not json").parent)))
bad("ml.database.write_entry", "table", "table", _tmp(lambda t: mldb.write_entry(t / "db", "ncrystal:Si", "lots")))
bad("ml.database.is_complete", "entry_dir", "entry_dir", lambda: mldb.is_complete(None))
bad("ml.database.read_entry", "missing-key", r"nokey|entry", _tmp(lambda t: mldb.read_entry(mldb.create(t / "db"), "nokey")))
bad("ml.database.entries", "missing", r"path.*no such", _tmp(lambda t: mldb.entries(t / "nothere")))
bad("ml.database.index_table", "missing", r"path.*no such", _tmp(lambda t: mldb.index_table(t / "nothere")))
bad("ml.database.load_candidates", "missing", r"path.*no such", _tmp(lambda t: mldb.load_candidates(t / "nothere")))
bad("ml.database.load_candidates", "empty-db", r"db|entries|empty|no ", _tmp(lambda t: mldb.load_candidates(mldb.create(t / "db"))))
bad("ml.database.build", "ids-str", "structure_ids", _tmp(lambda t: mldb.build(t / "db", "ncrystal:Si_sg227")))
bad("ml.database.build", "max_sum", "max_sum", _tmp(lambda t: mldb.build(t / "db", ["ncrystal:Si_sg227"], max_sum=0)))
bad("ml.database.save_annotation", "missing", r"path.*no such", _tmp(lambda t: mldb.save_annotation(t / "no", "img", {})))
bad("ml.database.annotations", "missing", r"path.*no such", _tmp(lambda t: mldb.annotations(t / "no", "img")))
bad("ml.train.init", "config", "config", lambda: mltrain.init(jax.random.PRNGKey(0), config="lots"))
bad("ml.train.step", "state", "state", lambda: mltrain.step(None, None))
bad("ml.train.result", "state", "state", lambda: mltrain.result({}))
bad("ml.train.fit", "state", "state|n_steps", lambda: mltrain.fit(None, None, -1))
bad("ml.train.weighted_bce", "shape", "target", lambda: mltrain.weighted_bce(np.zeros((2, 4)), np.zeros((2, 3)), 1.0))
bad("ml.train.weighted_bce", "pos_weight", "pos_weight", lambda: mltrain.weighted_bce(np.zeros(3), np.zeros(3), -1.0))
bad("ml.train.save_weights", "config", "config", _tmp(lambda t: mltrain.save_weights(t / "w", {"params": {}}, "lots")))
bad("ml.train.save_weights", "variables", "variables", _tmp(lambda t: mltrain.save_weights(t / "w", None, ml.UNetConfig())))
bad("ml.train.load_weights", "missing", r"path.*no such", _tmp(lambda t: mltrain.load_weights(t / "nothere")))
bad("ml.train.load_weights", "corrupt-json", r"w\.json", _tmp(lambda t: mltrain.load_weights(
    _write(t / "w.json", "{bad json").with_suffix("") if _write(t / "w.msgpack", b"\x00") else None)))
bad("ml.train.save_checkpoint", "state", "state", _tmp(lambda t: mltrain.save_checkpoint(t / "ck", "lots")))
bad("ml.train.load_checkpoint", "missing", r"directory.*no such", _tmp(lambda t: mltrain.load_checkpoint(
    t / "no", mltrain.init(jax.random.PRNGKey(0), ml.UNetConfig(filters=2)))))
bad("ml.train.load_checkpoint", "template", "template", _tmp(lambda t: mltrain.load_checkpoint(_mkdir(t / "ck"), None)))
_each("ml.peaks.to_g", "positions", "positions", ml.peaks.to_g, {"3cols": np.ones((2, 3)), "nan": np.full((2, 2), NAN),
                                                                  "str": "lots"})
bad("ml.peaks.from_g", "shape", r"\bg\b", lambda: ml.peaks.from_g(np.ones((2, 3))))
bad("ml.peaks.rot180", "1d", r"\bp\b", lambda: ml.peaks.rot180(np.ones(4)))
bad("ml.peaks.probability", "rect", r"\bx\b", lambda: ml.peaks.probability(np.ones((1, 8, 16))))
bad("ml.peaks.peaks_from_probability", "shapes", "fft_mag", lambda: ml.peaks.peaks_from_probability(np.ones((16, 16)),
                                                                                                      np.ones((8, 8))))
bad("ml.peaks.friedel_filter", "score-length", "score", lambda: ml.peaks.friedel_filter(np.ones((3, 2)), np.ones(2), 64))
bad("ml.peaks.friedel_filter", "n", r"\bn\b", lambda: ml.peaks.friedel_filter(np.ones((3, 2)), np.ones(3), 0))
bad("ml.peaks.robust_z", "small", "fft_mag", lambda: ml.peaks.robust_z(np.ones((4, 4))))
bad("ml.peaks.detect_peak_local_max", "nan", "fft_mag", lambda: ml.peaks.detect_peak_local_max(np.full((16, 16), NAN)))
bad("ml.peaks.detect_blob_log", "1d", "fft_mag", lambda: ml.peaks.detect_blob_log(np.ones(16)))
bad("ml.peaks.match", "true", r"\btrue\b", lambda: ml.peaks.match(np.ones((2, 2)), np.ones((2, 5))))
bad("ml.peaks.match", "ignore", r"\bignore\b", lambda: ml.peaks.match(np.ones((2, 2)), np.ones((2, 2)), ignore=np.ones((2, 3))))
bad("ml.peaks.match", "radius", r"\bradius\b", lambda: ml.peaks.match(np.ones((2, 2)), np.ones((2, 2)), radius=-1.0))
bad("ml.evaluate.bootstrap_interval", "shape", "counts", lambda: ml.evaluate.bootstrap_interval(np.ones((4, 2))))
bad("ml.evaluate.bootstrap_interval", "1d-empty", "counts", lambda: ml.evaluate.bootstrap_interval(np.zeros(0)))
bad("ml.evaluate.bootstrap_interval", "level", "level", lambda: ml.evaluate.bootstrap_interval(np.ones((4, 3)), level=2.0))
bad("ml.evaluate.split_difficult", "snr-length", r"\bsnr\b",
    lambda: ml.evaluate.split_difficult(np.ones((3, 2)), np.ones(3, bool), np.ones(2)))
bad("ml.evaluate.split_difficult", "band", "difficult",
    lambda: ml.evaluate.split_difficult(np.ones((3, 2)), np.ones(3, bool), np.ones(3), difficult=(6.0, 2.0)))
bad("ml.evaluate.label_ceiling", "empty", "inputs", lambda: ml.evaluate.label_ceiling({}))
bad("ml.evaluate.label_ceiling", "dose", "inputs", lambda: ml.evaluate.label_ceiling({-2.0: []}))
bad("ml.evaluate.label_ceiling", "record", "inputs", lambda: ml.evaluate.label_ceiling({2.0: [{"prob": 1}]}))
bad("ml.evaluate.detection_metrics", "inputs", "inputs", lambda: ml.evaluate.detection_metrics(inputs={2.0: "x"}))
bad("ml.evaluate.detection_metrics", "band", "difficult", lambda: ml.evaluate.detection_metrics(inputs={}, difficult=(1, 2, 3)))
bad("ml.evaluate.detection_inputs", "bank", "bank", lambda: ml.evaluate.detection_inputs("lots", n=1))
bad("ml.evaluate.indexing_metrics", "bank", "bank",
    lambda: ml.evaluate.indexing_metrics("lots", [], None, n=1, use_labels=True))
_each("ml.peaks.scores", "tp", r"\btp\b", lambda v: ml.peaks.scores(v, 1, 1), {"neg": -1, "float": 1.5, "str": "x"})
bad("ml.peaks.friedel_consistency", "nan", "pos", lambda: ml.peaks.friedel_consistency(np.full((2, 2), NAN)))

bad("ml.indexing.candidates", "type", "tables", lambda: ml.indexing.candidates([1, 2]))
bad("ml.indexing.index_spots", "cands", "cands", lambda: ml.indexing.index_spots(np.ones((3, 2)), {}))
bad("ml.indexing.index_spots", "tol_d", "tol_d", lambda: ml.indexing.index_spots(np.ones((3, 2)), ml.candidates(
    {("ncrystal:Si", (0, 0, 1)): ml.zone_table(F.si, (0, 0, 1))}), tol_d=-1.0))
bad("ml.peaks.detect", "x-shape", r"\bx\b", lambda: ml.peaks.detect(x=np.ones((8, 16))))
_each("ml.peaks.check_image", "image", "image", ml.peaks.check_image,
      {"rect": np.ones((64, 80)), "small": np.ones((8, 8)), "nan": np.full((64, 64), NAN), "3d": np.ones((2, 64, 64))})
bad("ml.peaks.canonical_image", "pixel_size", "pixel_size", lambda: ml.peaks.canonical_image(np.ones((64, 64)), "5 kg"))


# ---- md (simulate, potentials, engine, store) -----------------------------------------------------
from jaxem import md  # noqa: E402

_each("md.potential", "name", r"potential|name", md.potential, {"unknown": "Unobtainium", "None": None, "int": 3})
bad("md.Potential", "elements", "elements", lambda: md.Potential("x", (), "lj/cut 5.0", ("* * 1 1",)))
bad("md.Potential", "pair_style", "pair_style", lambda: md.Potential("x", ("Si",), "", ("* * 1 1",)))
bad("md.potential_file", "missing", r"name.*not found", lambda: md.potential_file("/nonexistent/x.eam"))
bad("md.potential_file", "None", "name", lambda: md.potential_file(None))
bad("md.energy", "atoms", "atoms|structure", lambda: md.energy("lots", md.potential("SiC_tersoff")))
bad("md.forces", "potential", "potential", lambda: md.forces(F.si, "Unobtainium"))
bad("md.energy_forces", "atoms-nan", "positions|atoms", lambda: md.energy_forces(
    F.si.replace(positions=F.si.positions * NAN) if False else _nan_atoms(), md.potential("SiC_tersoff")))
bad("md.read_info", "missing", r"path.*does not exist", _tmp(lambda t: md.read_info(t / "nothere.zarr")))
bad("md.read_info", "not-a-store", r"junk\.zarr", _tmp(lambda t: md.read_info(_write(_mkdir(t / "junk.zarr") / "zarr.json", "{x"
                                                                                       ).parent)))
bad("md.read_thermo", "missing", r"path.*does not exist", _tmp(lambda t: md.read_thermo(t / "nothere.zarr")))
bad("md.read_trajectory", "file", r"path|x\.zarr", _tmp(lambda t: md.read_trajectory(_write(t / "x.zarr", "x"))))
bad("md.simulate", "atoms", "atoms|structure", lambda: md.simulate("lots", "SiC_tersoff"))
bad("md.simulate", "potential", "potential", lambda: md.simulate(F.si, "Unobtainium"))
bad("md.simulate", "settings", "settings", lambda: md.simulate(F.si, "SiC_tersoff", settings="lots"))
bad("md.simulate", "positions-shape", "positions", lambda: md.simulate(F.si, "SiC_tersoff", positions=np.zeros((3, 3))))
bad("md.simulate", "velocities-nan", "velocities", lambda: md.simulate(F.si, "SiC_tersoff", positions=np.asarray(F.si.positions),
                                                                       velocities=np.full(np.shape(F.si.positions), NAN)))


def _nan_atoms():
    import ase
    a = ase.Atoms("Si2", positions=[[0, 0, 0], [NAN, 1, 1]], cell=np.eye(3) * 5, pbc=True)
    return a


# ---- parallel, accel.estimate -------------------------------------------------------------------------
from jaxem import accel, parallel  # noqa: E402

bad("parallel.batch_mesh", "devices-str", "devices", lambda: parallel.batch_mesh("lots"))
bad("parallel.batch_mesh", "devices-empty", "devices", lambda: parallel.batch_mesh([]))
bad("parallel.batch_mesh", "axis_name", "axis_name", lambda: parallel.batch_mesh(axis_name=""))
bad("parallel.shard_batch", "lengths", "batched", lambda: parallel.shard_batch(lambda x: x, (np.ones(3), np.ones(4))))
bad("parallel.shard_batch", "empty", "batched", lambda: parallel.shard_batch(lambda x: x, np.ones((0, 2))))
bad("parallel.shard_batch", "fn", r"\bfn\b", lambda: parallel.shard_batch("lots", np.ones(3)))
bad("parallel.shard_batch", "mesh", "mesh", lambda: parallel.shard_batch(lambda x: x, np.ones(3), mesh="lots"))
bad("parallel.shard_mean", "scalar", "batched", lambda: parallel.shard_mean(lambda x: x, 3.0))
bad("parallel.shard_mean", "no-leaves", "batched", lambda: parallel.shard_mean(lambda x: x, {}))
bad("parallel.distributed_value_and_grad", "loss", "loss", lambda: parallel.distributed_value_and_grad(None, np.ones(2),
                                                                                                       np.ones((2, 2))))
bad("parallel.distributed_value_and_grad", "params-nan", "params", lambda: parallel.distributed_value_and_grad(
    lambda p, x: (p * x).sum(), np.array([NAN]), np.ones((2, 1))))
bad("parallel.distributed_value_and_grad", "local_data", "local_data", lambda: parallel.distributed_value_and_grad(
    lambda p, x: (p * x).sum(), np.ones(1), np.ones((0, 1))))
bad("parallel.sharded_stem_scan", "sim", r"\bsim\b", lambda: parallel.sharded_stem_scan(None, F.scan, F.pot))
bad("parallel.sharded_stem_scan", "precision", "precision", lambda: parallel.sharded_stem_scan(F.sim, F.scan, F.pot,
                                                                                               precision="lots"))
bad("parallel.estimate_stem", "memory_budget", "memory_budget", lambda: parallel.estimate_stem(F.sim, F.scan, F.pot,
                                                                                               memory_budget="lots"))
bad("parallel.estimate_stem", "typo", "memory_budgt", lambda: parallel.estimate_stem(F.sim, F.scan, F.pot,
                                                                                    memory_budgt="1 GiB"))
bad("parallel.estimate_stem", "scan", "scan", lambda: parallel.estimate_stem(F.sim, None, F.pot))
bad("parallel.dask_stem_scan_to_zarr", "client", "client", _tmp(lambda t: parallel.dask_stem_scan_to_zarr(
    "lots", t / "s.zarr", F.sim, F.scan, F.pot)))
bad("parallel.dask_ensemble_mean", "client", "client", lambda: parallel.dask_ensemble_mean(None, lambda m: m, [1.0]))
_each("accel.estimate.format_bytes", "n", r"\bn\b", accel.estimate.format_bytes, {"nan": NAN, "str": "lots", "None": None})
bad("accel.estimate.is_out_of_memory", "exc", r"\bexc\b", lambda: accel.estimate.is_out_of_memory("out of memory"))
bad("accel.out_of_memory_hint", "estimate", "estimate", lambda: accel.out_of_memory_hint(3.0))
bad("accel.estimate.out_of_memory_hint", "estimate", "estimate", lambda: accel.estimate.out_of_memory_hint(None))


# ---- phase (the functions added last session, and the rest of its __all__) -------------------------
from jaxem import phase  # noqa: E402


def _ab():
    from jaxem.optics import Aberrations

    return Aberrations()


from jaxem.phase import ooc as phase_ooc, streaming as phase_streaming  # noqa: E402

for _n in ("dpc", "wdd", "center_of_mass", "com_field", "mean_pattern", "calibrate_bright_field", "bright_field_stack",
           "parallax_config", "remove_descan"):
    bad(f"phase.{_n}", "ds", r"\bds\b|Dataset4D", functools.partial(lambda n: getattr(phase, n)(np.ones((4, 4, 8, 8))), _n))
for _n in ("wiener_parallax", "wiener_direct", "tcbf", "fit_parallax", "parallax", "ssb", "obf", "ssnr",
           "reconstruct_spectrum"):
    bad(f"phase.{_n}", "stack", r"stack|BFStack", functools.partial(lambda n: getattr(phase, n)(F.ds), _n))
bad("phase.ooc.wdd_out_of_core", "ds", r"\bds\b|Dataset4D", lambda: phase_ooc.wdd_out_of_core(np.ones((4, 4, 8, 8))))
bad("phase.ooc.wdd_out_of_core", "epsilon", "epsilon", _tmp(lambda t: phase_ooc.wdd_out_of_core(F.ds, epsilon=-1.0, tmp_dir=t)))
bad("phase.ooc.wdd_out_of_core", "memory_budget", "memory_budget", _tmp(lambda t: phase_ooc.wdd_out_of_core(
    F.ds, memory_budget="lots", tmp_dir=t)))
bad("phase.wdd", "epsilon", "epsilon", lambda: phase.wdd(F.ds, epsilon=NAN))
bad("phase.dpc", "descan_order", "descan_order", lambda: phase.dpc(F.ds, descan_order=-1))
bad("phase.dpc", "model_error", "model_error", lambda: phase.dpc(F.ds, model_error=-1.0))
bad("phase.dpc", "rotation", "rotation", lambda: phase.dpc(F.ds, rotation=NAN))
bad("phase.remove_descan", "descan", "descan", lambda: phase.remove_descan(F.ds, descan=np.zeros((1, 1, 2))))
bad("phase.remove_descan", "order", "order", lambda: phase.remove_descan(F.ds, order=2))
bad("phase.center_of_mass", "memory_budget", "memory_budget", lambda: phase.center_of_mass(F.ds, memory_budget="lots"))
bad("phase.center_of_mass", "center", "center", lambda: phase.center_of_mass(F.ds, center=(NAN, 1.0)))
bad("phase.com_field", "descan_order", "descan_order", lambda: phase.com_field(F.ds, descan_order=7))
bad("phase.calibrate_bright_field", "threshold", "threshold", lambda: phase.calibrate_bright_field(F.ds, threshold=2.0))
bad("phase.bright_field_stack", "threshold", "threshold", lambda: phase.bright_field_stack(F.ds, threshold=-1.0))
bad("phase.bright_field_stack", "precision", "precision", lambda: phase.bright_field_stack(F.ds, precision="lots"))
bad("phase.parallax_config", "upsampling", "upsampling", lambda: phase.parallax_config(F.ds, upsampling=0))
bad("phase.streaming.parallax_config", "ds", r"\bds\b", lambda: phase_streaming.parallax_config(None))
bad("phase.wiener_parallax", "upsampling", "upsampling", lambda: phase.wiener_parallax(F.stack, upsampling=0))
bad("phase.wiener_parallax", "dose", "dose", lambda: phase.wiener_parallax(F.stack, dose=-5.0))
bad("phase.wiener_direct", "model_error", "model_error", lambda: phase.wiener_direct(F.stack, model_error=NAN))
bad("phase.wiener_direct", "noise", "noise", lambda: phase.wiener_direct(F.stack, noise="lots"))
bad("phase.tcbf", "fit", "fit", lambda: phase.tcbf(F.stack, fit="lots"))
bad("phase.fit_parallax", "iterations", "iterations", lambda: phase.fit_parallax(F.stack, iterations=0))
bad("phase.fit_parallax", "radii", "radii", lambda: phase.fit_parallax(F.stack, radii=(0.5, NAN)))
bad("phase.parallax", "rotation", "rotation", lambda: phase.parallax(F.stack, rotation="lots"))
bad("phase.ssb", "aberrations", "aberrations", lambda: phase.ssb(F.stack, aberrations="lots"))
bad("phase.obf", "memory_budget", "memory_budget", lambda: phase.obf(F.stack, memory_budget="lots"))
bad("phase.obf", "object_type", "object_type", lambda: phase.obf(F.stack, object_type="amplitude"))
bad("phase.obf", "return_amplitude", "return_amplitude", lambda: phase.obf(F.stack, return_amplitude="yes"))
bad("phase.obf", "return_amplitude-phase", "object_type='complex'",
    lambda: phase.obf(F.stack, object_type="phase", return_amplitude=True))
bad("phase.obf", "contrast_floor-weights", "contrast_floor", lambda: phase.obf(F.stack, contrast_floor=-0.1))
bad("phase.ssnr", "method", "method", lambda: phase.ssnr(F.stack, method="lots"))
bad("phase.reconstruct_spectrum", "method", "method", lambda: phase.reconstruct_spectrum(F.stack, method="lots"))
bad("phase.reconstruct", "method", "method", lambda: phase.reconstruct(F.ds, method="lots"))
bad("phase.reconstruct", "data", "data", lambda: phase.reconstruct(None))
bad("phase.Dataset4D", "array-3d", "array", lambda: phase.Dataset4D(np.ones((4, 8, 8)), 0.5))
bad("phase.Dataset4D", "scan_sampling", "scan_sampling", lambda: phase.Dataset4D(np.ones((2, 2, 8, 8)), -0.5))
bad("phase.Dataset4D", "semiangle", "semiangle", lambda: phase.Dataset4D(np.ones((2, 2, 8, 8)), 0.5, semiangle=NAN))
bad("phase.Dataset4D", "beam", "beam|energy", lambda: phase.Dataset4D(np.ones((2, 2, 8, 8)), 0.5, beam="lots"))
bad("phase.cross_correlation_shifts", "images", "images", lambda: phase.cross_correlation_shifts(np.ones(8), np.ones((8, 8))))
bad("phase.cross_correlation_shifts", "upsample", "upsample", lambda: phase.cross_correlation_shifts(
    np.ones((2, 8, 8)), np.ones((8, 8)), upsample=0))
bad("phase.shift_images", "lengths", "shifts", lambda: phase.shift_images(np.ones((2, 8, 8)), np.zeros((3, 2))))
bad("phase.fit_higher_orders", "wavelength", "wavelength", lambda: phase.fit_higher_orders(np.ones((5, 2)), np.ones((5, 2)), -1.0))
bad("phase.fit_linear_map", "lengths", r"k_det|shifts", lambda: phase.fit_linear_map(np.ones((5, 2)), np.ones((4, 2)), 0.02))
bad("phase.find_bright_field", "pattern", "pattern", lambda: phase.find_bright_field(np.ones(8)))
bad("phase.find_bright_field", "threshold", "threshold", lambda: phase.find_bright_field(np.ones((8, 8)), threshold=NAN))
bad("phase.fit_descan", "order", "order", lambda: phase.fit_descan(np.zeros((4, 4, 2)), order=-1))
bad("phase.fit_descan", "com", r"\bcom\b", lambda: phase.fit_descan(np.zeros((4, 4, 3))))
bad("phase.rotation_from_com", "com", r"\bcom\b", lambda: phase.rotation_from_com(np.zeros((4, 4))))
bad("phase.rotation_from_com", "n_angles", "n_angles", lambda: phase.rotation_from_com(np.zeros((4, 4, 2)), n_angles=0))
bad("phase.rotation_from_curl", "com_k", r"com_k", lambda: phase.rotation_from_curl(np.zeros((4, 4)), 0.5))
for _n in ("divergence", "icom", "icom_spectrum"):
    bad(f"phase.{_n}", "scan_sampling", "scan_sampling", functools.partial(lambda n: getattr(phase, n)(
        np.zeros((4, 4, 2)), -1.0), _n))
    bad(f"phase.{_n}", "com-nan", r"\bcom\b", functools.partial(lambda n: getattr(phase, n)(np.full((4, 4, 2), NAN), 0.5), _n))
bad("phase.read_4dstem", "missing", "nothere", _tmp(lambda t: phase.read_4dstem(t / "nothere.h5")))
bad("phase.read_4dstem", "empty", r"empty\.hspy", _tmp(lambda t: phase.read_4dstem(_write(t / "empty.hspy", b""))))
bad("phase.read_zarr", "missing", "nothere", _tmp(lambda t: phase.read_zarr(t / "nothere.zarr")))
bad("phase.read_zarr", "junk", r"junk\.zarr", _tmp(lambda t: phase.read_zarr(_write(_mkdir(t / "junk.zarr") / "zarr.json",
                                                                                   "{x").parent)))
bad("phase.write_zarr", "ds", r"\bds\b|Dataset4D", _tmp(lambda t: phase.write_zarr(np.ones((2, 2, 4, 4)), t / "x.zarr")))
bad("phase.write_zarr", "scan_chunks", "scan_chunks", _tmp(lambda t: phase.write_zarr(F.ds, t / "x.zarr", scan_chunks=(0, 1))))
bad("phase.streaming.init", "config", "config", lambda: phase_streaming.init("lots"))
bad("phase.streaming.step", "state", "state", lambda: phase_streaming.step(None, np.ones((1, 16, 16)), np.zeros((1, 2), int)))
bad("phase.streaming.process_frame", "state", "state", lambda: phase_streaming.process_frame(None, np.ones((16, 16)), 0))
bad("phase.streaming.result", "state", "state", lambda: phase_streaming.result("lots"))
bad("phase.streaming.bad_positions", "state", "state", lambda: phase_streaming.bad_positions({}))
bad("phase.streaming.stream_dask", "state", "state", lambda: phase_streaming.stream_dask(None, np.ones((2, 2, 16, 16))))
bad("phase.stream_dask", "state", "state", lambda: phase.stream_dask("lots", np.ones((2, 2, 16, 16))))
bad("phase.lattice_phase", "n", r"\bn\b", lambda: phase.lattice_phase(0, 0.25))
bad("phase.lattice_phase", "sampling", "sampling", lambda: phase.lattice_phase(16, NAN))
bad("phase.white_noise_phase", "sigma", "sigma", lambda: phase.white_noise_phase(16, sigma=-1.0))
bad("phase.simulate_4dstem", "phase", r"\bphase\b", lambda: phase.simulate_4dstem(np.ones(8), 0.25, "300 kV", 20.0))
bad("phase.simulate_4dstem", "log_amplitude", "log_amplitude",
    lambda: phase.simulate_4dstem(np.zeros((8, 8)), 0.25, "300 kV", 20.0, log_amplitude=np.zeros((4, 4))))
bad("phase.simulate_dataset", "log_amplitude-nan", "log_amplitude",
    lambda: phase.simulate_dataset(np.zeros((8, 8)), 0.25, "300 kV", 20.0, log_amplitude=np.full((8, 8), np.nan)))
bad("phase.simulate_dataset", "energy", "energy", lambda: phase.simulate_dataset(np.zeros((16, 16)), 0.25, "lots", 20.0))
bad("phase.simulate_dataset", "semiangle", "semiangle", lambda: phase.simulate_dataset(np.zeros((16, 16)), 0.25, "300 kV", -2.0))
bad("phase.measured_transfer", "shapes", r"reconstruction|true_phase", lambda: phase.measured_transfer(np.ones((8, 8)),
                                                                                                        np.ones((4, 4))))
bad("phase.radial_average", "bins", "bins", lambda: phase.radial_average(np.ones((8, 8)), 0.5, bins=0))
bad("phase.transfer_function", "method", "method", lambda: phase.transfer_function("lots", np.zeros((3, 2)), (8, 8), (0.5, 0.5),
                                                                                   0.02, 1.0, 0.1))

bad("phase.predicted_shifts", "stack", "stack", lambda: phase.predicted_shifts(F.ds, None, 0.0))
bad("phase.predicted_shifts", "rotation", "rotation", lambda: phase.predicted_shifts(F.stack, _ab(), NAN))
bad("phase.stack_transfer", "stack", "stack", lambda: phase.stack_transfer("ssb", None))
bad("phase.stack_transfer", "method", "method", lambda: phase.stack_transfer("lots", F.stack))
bad("phase.flip_mask", "ab", r"\bab\b", lambda: phase.flip_mask("lots", (8, 8), 0.5, 1, 0.02))
bad("phase.flip_mask", "upsampling", "upsampling", lambda: phase.flip_mask(_ab(), (8, 8), 0.5, 0, 0.02))
bad("phase.probe_autocorrelation", "scan_shape", "scan_shape", lambda: phase.probe_autocorrelation((0, 8), 0.5, 0.02, 1.0, 0.1))
bad("phase.probe_autocorrelation", "cutoff", "cutoff", lambda: phase.probe_autocorrelation((8, 8), 0.5, 0.02, NAN, 0.1))


# ---- stem PRISM ---------------------------------------------------------------------------------------
from jaxem import stem  # noqa: E402

bad("stem.prism_scan", "interpolation", "interpolation", lambda: stem.prism_scan(F.sim, F.scan, F.pot, interpolation=0))
bad("stem.prism_scan", "interpolation-str", "interpolation", lambda: stem.prism_scan(F.sim, F.scan, F.pot, interpolation="x"))
bad("stem.prism_scan", "sim", r"\bsim\b", lambda: stem.prism_scan(None, F.scan, F.pot))
bad("stem.prism_scan", "potential", "potential", lambda: stem.prism_scan(F.sim, F.scan, "lots"))
bad("stem.prism_scan", "thermal", "thermal", lambda: stem.prism_scan(F.sim, F.scan, F.pot, thermal="lots"))
bad("stem.build_smatrix", "max_angle", "max_angle", lambda: stem.build_smatrix(F.pot, F.beam, -5.0))
bad("stem.build_smatrix", "max_angle-beyond", "max_angle", lambda: stem.build_smatrix(F.pot, F.beam, 1000.0))
bad("stem.build_smatrix", "potential", "potential", lambda: stem.build_smatrix("lots", F.beam, 20.0))
bad("stem.build_smatrix", "interpolation", "interpolation", lambda: stem.build_smatrix(F.pot, F.beam, 20.0, interpolation=0))
bad("stem.build_partitioned_smatrix", "spacing", "spacing", lambda: stem.build_partitioned_smatrix(F.pot, F.beam, 20.0, 0))
bad("stem.build_partitioned_smatrix", "max_angle", "max_angle", lambda: stem.build_partitioned_smatrix(F.pot, F.beam, NAN, 2))
bad("stem.prism_signals", "smatrix", "smatrix", lambda: stem.prism_signals(None, np.zeros((1, 2)), np.ones(3), (), ()))
bad("stem.probe_coefficients", "smatrix", "smatrix", lambda: stem.probe_coefficients("lots", 20.0))
bad("stem.partitioned_signals", "smatrix", "smatrix", lambda: stem.partitioned_signals(None, None, None, np.zeros((1, 2)),
                                                                                       np.ones(3), (), ()))
bad("stem.prism_error_estimate", "interpolation", "interpolation", lambda: stem.prism_error_estimate(F.sim, F.pot, 0))
bad("stem.prism_error_estimate", "sim", r"\bsim\b", lambda: stem.prism_error_estimate(None, F.pot, 1))
bad("stem.window_leakage", "thickness", "thickness", lambda: stem.window_leakage(F.sim, F.pot.grid, -1.0, 1))
bad("stem.window_leakage", "interpolation", "interpolation", lambda: stem.window_leakage(F.sim, F.pot.grid, 5.0, 0))
bad("stem.probe_extent", "fraction", "fraction", lambda: stem.probe_extent(F.sim, F.pot.grid, 5.0, fraction=1.5))
bad("stem.probe_extent", "sim", r"\bsim\b", lambda: stem.probe_extent("lots", F.pot.grid, 5.0))
bad("stem.check_window", "interpolation", "interpolation", lambda: stem.check_window(F.sim, F.pot.grid, 5.0, 100))
bad("stem.choose_method", "tolerance", "tolerance", lambda: stem.choose_method(F.sim, F.scan, F.pot, tolerance=-1.0))
bad("stem.choose_method", "sim", r"\bsim\b", lambda: stem.choose_method(None, F.scan, F.pot))


# ---- ptycho (entry points and the pure level) ---------------------------------------------------------------
from jaxem import ptycho  # noqa: E402

bad("ptycho.prepare", "dataset", r"dataset|Dataset4D", lambda: ptycho.prepare(np.ones((4, 4, 8, 8))))
bad("ptycho.prepare", "oversampling", "oversampling", lambda: ptycho.prepare(F.ds, oversampling=0.5))
bad("ptycho.prepare", "precision", "precision", lambda: ptycho.prepare(F.ds, precision="lots"))
bad("ptycho.reconstruct", "data", r"\bdata\b", lambda: ptycho.reconstruct("lots"))
bad("ptycho.reconstruct", "iterations", "iterations", lambda: ptycho.reconstruct(F.ds, iterations=-1))
bad("ptycho.reconstruct", "optimizer", "optimizer", lambda: ptycho.reconstruct(F.ds, optimizer="lots"))
bad("ptycho.simulate_crystal", "n_layers", "n_layers", lambda: ptycho.simulate_crystal(n_layers=0))
bad("ptycho.true_slice_phases", "n_slices", "n_slices", lambda: ptycho.true_slice_phases(F.pot, F.beam, 0, (8, 8)))
bad("ptycho.SolverConfig", "optimizer", "optimizer", lambda: ptycho.SolverConfig(optimizer="lots"))
_each("ptycho.SolverConfig", "rate_object", "rate_object", lambda v: ptycho.SolverConfig(rate_object=v), SCALARS)
bad("ptycho.SolverConfig", "batch", "batch", lambda: ptycho.SolverConfig(batch=0))
bad("ptycho.SolverConfig", "fit_aberrations", "fit_aberrations", lambda: ptycho.SolverConfig(fit_aberrations=("C99",)))


class _Ptycho:
    """A tiny prepared problem (6×6 scan of the shared dataset) and its model, parameters and state."""

    @functools.cached_property
    def data(self):
        return ptycho.prepare(F.ds)

    @functools.cached_property
    def model(self):
        return ptycho.Model(self.data.geometry)

    @functools.cached_property
    def cfg(self):
        return ptycho.SolverConfig(batch=self.data.n_positions)

    @functools.cached_property
    def params(self):
        return ptycho.init_params(self.model, self.data.n_positions)

    @functools.cached_property
    def state(self):
        return ptycho.init(self.params, self.model, self.cfg)

    @property
    def arrays(self):
        d = self.data
        return (d.amplitudes, d.positions, d.weights, d.detector_mask)


PT = _Ptycho()


def _geometry(**kw):
    g = dict(beam=F.beam, window=(24, 24), sampling=(0.2, 0.2), detector=(15, 15), object_shape=(40, 40))
    return ptycho.Geometry(**(g | kw))


bad("ptycho.Geometry", "beam", "beam", lambda: _geometry(beam="lots"))
_each("ptycho.Geometry", "sampling", "sampling", lambda v: _geometry(sampling=v),  # a list is a (y, x) pair and
      {k: v for k, v in POSITIVE.items() if k not in ("list", "5furlongs")})  # furlongs are a length
bad("ptycho.Geometry", "window", "window", lambda: _geometry(window=(0, 24)))
bad("ptycho.Geometry", "window-float", "window", lambda: _geometry(window=(24.5, 24)))
bad("ptycho.Geometry", "detector-beyond-window", "detector", lambda: _geometry(detector=(31, 31)))
bad("ptycho.Geometry", "object_shape", "object_shape", lambda: _geometry(object_shape=None))
bad("ptycho.Geometry", "semiangle", "semiangle", lambda: _geometry(semiangle=-20.0))
bad("ptycho.Geometry", "periodic", "periodic", lambda: _geometry(periodic="yes"))
bad("ptycho.Model", "geometry", "geometry", lambda: ptycho.Model(None))
bad("ptycho.Model", "n_slices", "n_slices", lambda: ptycho.Model(PT.data.geometry, n_slices=0))
_each("ptycho.Model", "slice_thickness", "slice_thickness", lambda v: ptycho.Model(PT.data.geometry, 2, v),
      {k: v for k, v in SCALARS.items() if k != "5furlongs"})  # furlongs are a length: converted to Å
bad("ptycho.Model", "reference-name", "reference", lambda: ptycho.Model(PT.data.geometry, reference=(("C99", 1.0),)))
bad("ptycho.Model", "reference-value", "reference", lambda: ptycho.Model(PT.data.geometry, reference=(("C10", NAN),)))
bad("ptycho.Model", "reference-str", "reference", lambda: ptycho.Model(PT.data.geometry, reference="C10"))
bad("ptycho.scan_frame_patterns", "patterns", "patterns", lambda: ptycho.scan_frame_patterns(None, (8, 8), 0.0, False))
bad("ptycho.scan_frame_patterns", "center", "center", lambda: ptycho.scan_frame_patterns(np.ones((2, 16, 16)), "lots",
                                                                                          0.0, False))
bad("ptycho.scan_frame_patterns", "rotation", "rotation", lambda: ptycho.scan_frame_patterns(np.ones((2, 16, 16)),
                                                                                              (8, 8), NAN, False))
bad("ptycho.scan_frame_patterns", "transpose", "transpose", lambda: ptycho.scan_frame_patterns(np.ones((2, 16, 16)),
                                                                                                (8, 8), 0.0, "yes"))
bad("ptycho.init_params", "model", "model", lambda: ptycho.init_params(PT.data, 36))
bad("ptycho.init_params", "n_positions", "n_positions", lambda: ptycho.init_params(PT.model, 0))
bad("ptycho.init_params", "n_modes", "n_modes", lambda: ptycho.init_params(PT.model, 36, n_modes=1.5))
_each("ptycho.init_params", "mode_power", "mode_power", lambda v: ptycho.init_params(PT.model, 36, 2, v), SCALARS)
bad("ptycho.init_params", "precision", "precision", lambda: ptycho.init_params(PT.model, 36, precision="lots"))
bad("ptycho.probe_spectra", "params", "params", lambda: ptycho.probe_spectra(None, PT.model))
bad("ptycho.probe_spectra", "model", "model", lambda: ptycho.probe_spectra(PT.params, PT.cfg))
bad("ptycho.transmissions", "params", "params", lambda: ptycho.transmissions(PT.state))
bad("ptycho.model_amplitudes", "model", "model", lambda: ptycho.model_amplitudes(PT.params, "lots", PT.data.positions,
                                                                                 np.arange(3)))
bad("ptycho.model_amplitudes", "positions", "positions", lambda: ptycho.model_amplitudes(
    PT.params, PT.model, np.full((36, 2), NAN), np.arange(3)))
bad("ptycho.model_amplitudes", "positions-rows", "positions", lambda: ptycho.model_amplitudes(
    PT.params, PT.model, np.zeros((5, 2)), np.arange(3)))
bad("ptycho.model_amplitudes", "index-float", "index", lambda: ptycho.model_amplitudes(
    PT.params, PT.model, PT.data.positions, np.array([0.5])))
bad("ptycho.model_amplitudes", "index-beyond", "index", lambda: ptycho.model_amplitudes(
    PT.params, PT.model, PT.data.positions, np.array([0, 36])))
bad("ptycho.amplitude_error", "model_amp", "model_amp", lambda: ptycho.amplitude_error(
    np.ones((2, 5)), np.ones((2, 5, 5)), np.ones(2), np.ones((5, 5))))
bad("ptycho.amplitude_error", "data_amp-nan", "data_amp", lambda: ptycho.amplitude_error(
    np.ones((2, 5, 5)), np.full((2, 5, 5), NAN), np.ones(2), np.ones((5, 5))))
bad("ptycho.amplitude_error", "weights-length", "weights", lambda: ptycho.amplitude_error(
    np.ones((2, 5, 5)), np.ones((2, 5, 5)), np.ones(3), np.ones((5, 5))))
bad("ptycho.amplitude_error", "shapes", "model_amp", lambda: ptycho.amplitude_error(
    np.ones((2, 4, 4)), np.ones((2, 5, 5)), np.ones(2), np.ones((5, 5))))
bad("ptycho.init", "params", "params", lambda: ptycho.init(PT.state, PT.model, PT.cfg))
bad("ptycho.init", "cfg", r"\bcfg\b", lambda: ptycho.init(PT.params, PT.model, {"optimizer": "adam"}))
bad("ptycho.init", "key", r"\bkey\b", lambda: ptycho.init(PT.params, PT.model, PT.cfg, key=3))
bad("ptycho.step", "state", "state", lambda: ptycho.step(PT.params, PT.model, PT.cfg, PT.arrays))
bad("ptycho.step", "model", "model", lambda: ptycho.step(PT.state, None, PT.cfg, PT.arrays))
bad("ptycho.step", "data", r"\bdata\b", lambda: ptycho.step(PT.state, PT.model, PT.cfg, PT.data))
bad("ptycho.step", "data-nan", "amplitudes", lambda: ptycho.step(PT.state, PT.model, PT.cfg, (
    PT.data.amplitudes * NAN,) + PT.arrays[1:]))
bad("ptycho.step", "data-detector", "amplitudes", lambda: ptycho.step(PT.state, PT.model, PT.cfg, (
    PT.data.amplitudes[:, :-1],) + PT.arrays[1:]))
bad("ptycho.step", "batch-short", r"batch|cfg", lambda: ptycho.step(PT.state, PT.model, ptycho.SolverConfig(batch=5),
                                                                      PT.arrays))
bad("ptycho.full_error", "cfg", r"\bcfg\b", lambda: ptycho.full_error(PT.params, PT.model, "adam", PT.arrays))
bad("ptycho.full_error", "weights", "weights", lambda: ptycho.full_error(PT.params, PT.model, PT.cfg, PT.arrays[:2] + (
    np.ones(3), PT.arrays[3])))
bad("ptycho.loss", "index", "index", lambda: ptycho.loss(PT.params, PT.model, PT.cfg, PT.arrays, np.array([0.5]),
                                                         np.ones(1), 1.0))
bad("ptycho.loss", "valid", "valid", lambda: ptycho.loss(PT.params, PT.model, PT.cfg, PT.arrays, np.arange(3),
                                                         np.ones(2), 1.0))
_each("ptycho.loss", "norm", "norm", lambda v: ptycho.loss(PT.params, PT.model, PT.cfg, PT.arrays, np.arange(3),
                                                          np.ones(3), v), POSITIVE)
bad("ptycho.result", "state", "state", lambda: ptycho.result(PT.params))
bad("ptycho.bytes_per_position", "model", "model", lambda: ptycho.bytes_per_position(PT.cfg, 1))
bad("ptycho.bytes_per_position", "n_modes", "n_modes", lambda: ptycho.bytes_per_position(PT.model, 0))
bad("ptycho.bytes_per_position", "itemsize", "itemsize", lambda: ptycho.bytes_per_position(PT.model, 1, "lots"))
bad("ptycho.correlation", "a", r"\ba\b", lambda: ptycho.correlation(None, np.ones(4)))
bad("ptycho.correlation", "b-nan", r"\bb\b", lambda: ptycho.correlation(np.arange(4.0), np.full(4, NAN)))
bad("ptycho.correlation", "complex", r"\ba\b", lambda: ptycho.correlation(np.ones(4) * 1j, np.arange(4.0)))
bad("ptycho.correlation", "mask-shape", "mask", lambda: ptycho.correlation(np.arange(4.0), np.arange(4.0), np.ones(3)))
bad("ptycho.correlation", "constant", "constant", lambda: ptycho.correlation(np.ones(4), np.arange(4.0)))
bad("ptycho.slice_correlations", "phases", "phases", lambda: ptycho.slice_correlations(np.ones((4, 4)),
                                                                                     np.ones((1, 4, 4))))
bad("ptycho.slice_correlations", "truth", "truth", lambda: ptycho.slice_correlations(np.ones((1, 4, 4)), "lots"))
bad("ptycho.fourier_resample", "array", "array", lambda: ptycho.fourier_resample(np.ones(4), (2, 2)))
bad("ptycho.fourier_resample", "shape", "shape", lambda: ptycho.fourier_resample(np.ones((4, 4)), (0, 2)))
bad("ptycho.fourier_resample", "shape-nan", "shape", lambda: ptycho.fourier_resample(np.ones((4, 4)), NAN))
bad("ptycho.information_limit", "ds", r"\bds\b", lambda: ptycho.information_limit(np.ones((2, 2, 8, 8))))
bad("ptycho.com_field", "data", r"\bdata\b", lambda: ptycho.com_field(F.ds))
bad("ptycho.icom_phase", "data", r"\bdata\b", lambda: ptycho.icom_phase(None))
bad("ptycho.icom_seed", "data", r"\bdata\b", lambda: ptycho.icom_seed({}, 1))
bad("ptycho.icom_seed", "n_slices", "n_slices", lambda: ptycho.icom_seed(PT.data, 0))
bad("ptycho.icom_seed", "error_of", "error_of", lambda: ptycho.icom_seed(PT.data, 1, error_of="lots"))
bad("ptycho.icom_seed", "scales", "scales", lambda: ptycho.icom_seed(PT.data, 1, scales=(1.0, -2.0)))
bad("ptycho.icom_seed", "scales-empty", "scales", lambda: ptycho.icom_seed(PT.data, 1, scales=()))
bad("ptycho.truth_error", "data", r"\bdata\b", lambda: ptycho.truth_error(F.ds, F.pot, 1))
bad("ptycho.truth_error", "pot", r"\bpot\b", lambda: ptycho.truth_error(PT.data, None, 1))
bad("ptycho.truth_error", "n_slices", "n_slices", lambda: ptycho.truth_error(PT.data, F.pot, 0))
bad("ptycho.truth_error", "slice_thickness", "slice_thickness", lambda: ptycho.truth_error(PT.data, F.pot, 2,
                                                                                          slice_thickness=-1.0))
bad("ptycho.truth_error", "aberrations", "aberrations", lambda: ptycho.truth_error(PT.data, F.pot, 1, "lots"))
bad("ptycho.compare_methods", "ds", r"\bds\b", lambda: ptycho.compare_methods(None, F.pot))
bad("ptycho.compare_methods", "pot", r"\bpot\b", lambda: ptycho.compare_methods(F.ds, "lots"))
bad("ptycho.compare_methods", "n_slices", "n_slices", lambda: ptycho.compare_methods(F.ds, F.pot, n_slices=0))
bad("ptycho.compare_methods", "ptycho_kwargs", "ptycho_kwargs", lambda: ptycho.compare_methods(F.ds, F.pot,
                                                                                               ptycho_kwargs="lots"))


def jx_plane_wave(grid=None):
    import jaxem as jx
    return jx.plane_wave(grid or F.grid, F.beam)


# ---- the tests ---------------------------------------------------------------------------------
def _clear_problem(exc: BaseException, match: str) -> str | None:
    """Why ``exc`` is not a clear answer naming ``match`` (None when it is)."""
    kind = f"{type(exc).__module__}.{type(exc).__name__}"
    if not isinstance(exc, (ValueError, TypeError, OSError)) or isinstance(exc, UNCLEAR):
        return f"unclear error class {kind}: {exc}"
    if type(exc).__module__.split(".")[0] in ("jax", "jaxlib", "flax", "optax", "numpy"):
        return f"a foreign library's error leaks out: {kind}: {exc}"
    text = str(exc)
    if "Traceback" in text:
        return f"traceback in the message: {text}"
    if not re.search(match, text, re.I):
        return f"{kind} does not name {match!r}: {text}"
    return None


def _codes(obj) -> set:
    """The code objects of a public callable (a function, or every method of a class)."""
    if inspect.isclass(obj):
        out = set()
        for klass in obj.__mro__:
            if klass.__module__.split(".")[0] != "jaxem":
                continue
            for v in vars(klass).values():
                v = v.__func__ if isinstance(v, (classmethod, staticmethod)) else v
                v = v.fget if isinstance(v, property) else v
                v = inspect.unwrap(v) if callable(v) else v
                if hasattr(v, "__code__"):
                    out.add(v.__code__)
        return out
    out, f, seen = set(), obj, set()
    while f is not None and id(f) not in seen:  # every layer: jit, validate.typed's check, the function itself
        seen.add(id(f))
        if hasattr(f, "__code__"):
            out.add(f.__code__)
        f = getattr(f, "__wrapped__", None)
    return out


def _passes_through(exc: BaseException, obj) -> bool:
    codes = _codes(obj)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return True
        tb = tb.tb_next
    return False


def test_sweep_every_public_callable_is_accounted_for():
    covered = {p.values[0] for p in CASES}
    unknown = covered - set(CALLABLES)
    assert not unknown, f"cases name callables that are not public: {sorted(unknown)}"
    placed = covered | set(EXEMPT) | set(FUZZ_ONLY)
    missing = sorted(set(CALLABLES) - placed)
    assert not missing, f"public callables with no hostile-input case and no exemption: {missing}"
    stale = sorted((set(EXEMPT) | set(FUZZ_ONLY) | set(KNOWN)) - set(CALLABLES))
    assert not stale, f"exemptions for names that are no longer public: {stale}"
    both = sorted(covered & set(FUZZ_ONLY))
    assert not both, f"callables with cases that are still listed in FUZZ_ONLY: {both}"
    assert len(CALLABLES) > 200, len(CALLABLES)  # the discovery itself works


@pytest.mark.parametrize("covers, call, match", CASES)
def test_bad_input_is_a_clear_error(covers, call, match, tmp_path):
    with pytest.raises(Exception) as info:
        call.fn(tmp_path) if isinstance(call, _tmp) else call()
    problem = _clear_problem(info.value, match)
    assert problem is None, problem
    assert _passes_through(info.value, CALLABLES[covers]), \
        f"the error was not raised inside {covers}: {type(info.value).__name__}: {info.value}"


# ---- the generic sweep ----------------------------------------------------------------------------
GENERIC = {"None": None, "str": "lots", "dict": {}, "nan": NAN, "empty": np.zeros((0,)),
           "nanarr": np.full((4, 4), NAN), "complex": 1 + 1j}


def _required(obj):
    sig = inspect.signature(obj)
    return [p for p in sig.parameters.values()
            if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                                   p.KEYWORD_ONLY)]


def _first(obj):
    """The first parameter of a callable without required ones (its configuration, swept alone)."""
    params = [p for p in inspect.signature(obj).parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                                                   p.KEYWORD_ONLY)]
    return params[:1]


def _generic_targets():
    out = []
    for name, obj in CALLABLES.items():
        if name in EXEMPT:
            continue
        try:
            req = _required(obj)
        except (TypeError, ValueError):
            continue
        if req or _first(obj):
            marks = [pytest.mark.xfail(reason=KNOWN[name], strict=True)] if name in KNOWN else []
            out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _generic_targets())
def test_generic_hostile_values(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a string argument may name a file or store: never in the repository
    obj = CALLABLES[name]
    req = _required(obj) or _first(obj)
    short = name.rsplit(".", 1)[-1]
    match = r"\b(" + "|".join(re.escape(n) for n in [p.name for p in req] + [short]) + r")\b"
    failures = []
    for label, value in GENERIC.items():
        if label in ACCEPTS.get(name, {}) or (value is None and any(p.default is None for p in req)):
            continue  # accepted by design / the default of an optional argument
        pos = [value for p in req if p.kind != p.KEYWORD_ONLY]
        kw = {p.name: value for p in req if p.kind == p.KEYWORD_ONLY}
        try:
            out = obj(*pos, **kw)
        except Exception as exc:  # noqa: BLE001 - judged below
            problem = _clear_problem(exc, match)
            if problem:
                failures.append(f"{label}: {problem[:300]}")
        else:
            failures.append(f"{label}: accepted, returned {type(out).__name__}")
    assert not failures, f"{name}:\n" + "\n".join(failures)
