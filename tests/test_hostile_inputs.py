"""Hostile inputs at every public boundary: each bad input is a clear error, never a wrong answer.

For the public functions and classes exported by ``jaxem`` and the ``__all__`` of each sub-package
(structure, potential, optics, propagate, stem, hrtem, eds, apt, ltr, io, md, accel, measurement,
beam, grid) this file feeds the classes of bad input of issue 13 — NaN/inf/negative/zero scalars,
strings with and without units, wrong types (None, dict, list, complex, bool), wrong shapes and
empty arrays, NaN-containing arrays, angles/tilts/apertures out of the grid's range, huge values,
unknown names, directories/missing/empty/binary files for readers and unknown suffixes for writers
— and asserts that each raises a ``ValueError``/``TypeError``/``OSError`` (jaxem's
``InputError``/``InputTypeError``/``FileFormatError``) whose message names the argument or the file,
never an ``IndexError``/``KeyError``/``ZeroDivisionError``/XLA or tracer error. Inputs that could be
silently wrong (NaN spread, a crop, an ignored argument) are checked on the output instead
(``test_not_silently_wrong``). Everything runs in-process on tiny arrays.
"""
from __future__ import annotations

import functools
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxem as jx
from jaxem import validate

NAN, INF = float("nan"), float("inf")


# ---- tiny shared inputs (built once, on first use) ---------------------------------------------
class _Fixtures:
    @functools.cached_property
    def grid(self):
        return jx.Grid((32, 32), (0.2, 0.2))

    @functools.cached_property
    def beam(self):
        return jx.Beam(300e3)

    @functools.cached_property
    def structure(self):
        return jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1]).repeat(2, 2, 2)

    @functools.cached_property
    def pot(self):
        return jx.potential(self.structure, sampling=0.2, slice_thickness=1.95)

    @functools.cached_property
    def wave(self):
        return jx.plane_wave(self.pot.grid, self.beam)

    @functools.cached_property
    def exit_wave(self):
        return jx.multislice(self.wave, self.pot)

    @functools.cached_property
    def measurement(self):
        return jx.Measurement(np.arange(12.0).reshape(3, 4), (jx.Axis("y", 0.5, "Å"), jx.Axis("x", 0.5, "Å")))

    @functools.cached_property
    def sim(self):
        from jaxem import stem
        return stem.STEMSimulation(self.beam, 20.0, (stem.AnnularDetector(30.0, 45.0, "ADF"),))

    @functools.cached_property
    def scan(self):
        from jaxem import stem
        return stem.GridScan((0.0, 0.0), (3.0, 3.0), (2, 2))

    @functools.cached_property
    def dose(self):
        from jaxem import ltr
        return ltr.DoseSchedule(current_pA=1.0, frame_time_s=1e-3, scan_step=1.0, probe_diameter=1.0)

    @functools.cached_property
    def events(self):
        from jaxem import ltr
        counts = np.zeros((2, 2, 3, 4, 4), np.int64)
        counts[..., 1, 1] = 1
        return ltr.from_dense_counts(counts, self.dose)

    @functools.cached_property
    def range_table(self):
        from jaxem import apt
        return apt.RangeTable(lo=np.array([26.9, 55.8]), hi=np.array([27.1, 56.1]),
                              ions=({"Al": 1}, {"Fe": 1}))


F = _Fixtures()


# ---- the corpus of inputs that must be rejected ------------------------------------------------
# (id, call, regex the message must match: the argument's or the file's name)
BAD: list = []


def bad(case_id: str, match: str, call):
    BAD.append(pytest.param(call, match, id=case_id))


def _each(prefix: str, match: str, build, values: dict):
    for label, v in values.items():
        bad(f"{prefix}={label}", match, functools.partial(build, v))


SCALARS = {"nan": NAN, "inf": INF, "-1": -1.0, "None": None, "dict": {}, "list": [1.0, 2.0], "complex": 1 + 1j,
           "bool": True, "lots": "lots", "5furlongs": "5 furlongs"}
POSITIVE = {**SCALARS, "0": 0.0}

# beam / grid / measurement (floor 0)
_each("Beam.energy", "energy", lambda v: jx.Beam(v), {**POSITIVE, "1e30": 1e30, "300": "300"})
_each("Beam.tilt", "tilt", lambda v: jx.Beam(300e3, tilt=v), {"nan": (NAN, 0.0), "3": (1, 2, 3), "str": "lots",
                                                              "None": None, "complex": (1j, 0), "scalar": 5.0,
                                                              "5mrad": "5 mrad", "1e30": (1e30, 0.0)})
_each("as_beam", "beam|energy", lambda v: jx.as_beam(v), {"None": None, "dict": {}, "lots": "lots", "neg": -3.0})
_each("Grid.gpts", "gpts", lambda v: jx.Grid(v, 0.2), {"0": (0, 32), "-1": -1, "float": 2.5, "1e30": 1e30,
                                                       "None": None, "str": "lots", "3": (1, 2, 3), "nan": NAN})
_each("Grid.sampling", "sampling", lambda v: jx.Grid(32, v),
      {k: v for k, v in POSITIVE.items() if k not in ("list", "5furlongs")} | {"5kg": "5 kg"})
bad("Grid.from_extent/both", "sampling|gpts", lambda: jx.Grid.from_extent(10.0, sampling=0.1, gpts=32))
bad("Grid.from_extent/extent-nan", "extent", lambda: jx.Grid.from_extent(NAN, sampling=0.1))
bad("Grid.with_gpts/0", "gpts", lambda: F.grid.with_gpts(0))
bad("Beam.check_angle/1000", "objective", lambda: F.beam.check_angle(1000.0, F.grid, "objective"))
bad("Beam.check_angle/nan", "alpha", lambda: F.beam.check_angle(NAN, F.grid, "alpha"))
bad("Beam.check_angle/inf", "alpha", lambda: F.beam.check_angle(INF, F.grid, "alpha"))
bad("Beam.check_angle/limit", "limit", lambda: F.beam.check_angle(1.0, F.grid, "alpha", limit="lots"))
bad("Beam.angular_sampling/grid", "grid", lambda: F.beam.angular_sampling(None))
_each("Axis.sampling", "sampling", lambda v: jx.Axis("x", v, "Å"), {"nan": NAN, "str": "lots",
                                                                    "None": None})
_each("Axis.offset", "offset", lambda v: jx.Axis("x", 1.0, "Å", v), {"nan": NAN, "str": "lots"})
_each("Axis.name", "name", lambda v: jx.Axis(v), {"None": None, "int": 3})
_each("Axis.units", "units", lambda v: jx.Axis("x", 1.0, v), {"None": None, "int": 3})
bad("Measurement/axes-count", "axes", lambda: jx.Measurement(np.zeros((3, 4)), (jx.Axis("x"),)))
bad("Measurement/axes-type", "axes", lambda: jx.Measurement(np.zeros((3, 4)), "lots"))
bad("Measurement/array-None", "array", lambda: jx.Measurement(None, ()))
bad("Measurement/array-str", "array", lambda: jx.Measurement("lots", ()))
bad("Measurement/signal_ndim", "signal_ndim", lambda: jx.Measurement(np.zeros((3, 4)), (jx.Axis("y"), jx.Axis("x")),
                                                                     signal_ndim=5))
bad("Measurement/metadata", "metadata", lambda: jx.Measurement(np.zeros(3), (jx.Axis("x"),), metadata=[1]))
bad("Measurement.value/missing", "lots", lambda: F.measurement.value("lots"))
bad("Measurement.value/units", "furlongs", lambda: jx.Measurement(np.zeros(3), (jx.Axis("x"),),
                                                                  {"energy": 3e5}).value("energy", "furlongs"))
bad("Measurement.extent/axes", "axes", lambda: F.measurement.extent(axes=(5, 6)))
bad("Measurement.show/cmap", "cmap", lambda: F.measurement.show(cmap="lots"))


# structure
def _structure(**kw):
    from jaxem import structure
    base = dict(positions=np.zeros((1, 3)), numbers=np.array([6]), cell=np.eye(3) * 4, u2=np.zeros((1, 3)),
                occupancy=np.ones(1))
    base.update(kw)
    return structure.Structure(**base)


_each("Structure.positions", "positions", lambda v: _structure(positions=v),
      {"nan": np.full((1, 3), NAN), "shape": np.zeros((1, 2)), "None": None, "str": "lots", "1d": np.zeros(3)})
_each("Structure.numbers", "numbers", lambda v: _structure(numbers=v),
      {"0": np.array([0]), "200": np.array([200]), "float": np.array([6.5]), "shape": np.array([6, 6])})
_each("Structure.cell", "cell", lambda v: _structure(cell=v),
      {"nan": np.full((3, 3), NAN), "zero": np.zeros((3, 3)), "shape": np.eye(2)})
_each("Structure.u2", "u2", lambda v: _structure(u2=v), {"neg": -np.ones((1, 3)), "nan": np.full((1, 3), NAN)})
_each("Structure.occupancy", "occupancy", lambda v: _structure(occupancy=v),
      {"2": np.array([2.0]), "neg": np.array([-0.5]), "nan": np.array([NAN])})
_each("Structure.pbc", "pbc", lambda v: _structure(pbc=v), {"str": "lots", "2": (True, False), "int": (2, 0, 0)})
_each("Structure.z_repeats", "z_repeats", lambda v: _structure(z_repeats=v), {"0": 0, "float": 1.5, "str": "x"})
bad("Structure.replace/nan", "positions", lambda: F.structure.replace(positions=F.structure.positions * NAN))
bad("Structure.repeat/0", "repeat|n", lambda: F.structure.repeat(0, 1, 1))
bad("Structure.repeat/float", "repeat|n", lambda: F.structure.repeat(1.5, 1, 1))
bad("Structure.repeat/huge", "repeat|n|atoms", lambda: F.structure.repeat(10**6, 10**6, 1))
bad("Structure.create/symbol", "Xx|symbol|element", lambda: jx.Structure.create([[0, 0, 0]], ["Xx"], np.eye(3) * 4))
_each("atomic_number", "element|Zz|zn", lambda v: __import__("jaxem.structure").structure.atomic_number(v),
      {"Zz": "Zz", "None": None, "0": 0, "200": 200, "float": 6.5})
_each("symbol", "z|Z|atomic", lambda v: __import__("jaxem.structure").structure.symbol(v),
      {"0": 0, "200": 200, "str": "lots", "None": None})
_each("crystal.name", "name|crystal", lambda v: __import__("jaxem.structure").structure.crystal(v),
      {"unknown": "Unobtainium", "None": None, "int": 3})
bad("crystal.B", "B", lambda: __import__("jaxem.structure").structure.crystal("Si", B=-1.0))
bad("crystal.occupancy", "occupancy", lambda: __import__("jaxem.structure").structure.crystal("Si", occupancy=3.0))
bad("crystal.param", "lots|param", lambda: __import__("jaxem.structure").structure.crystal("Si", lots=3.0))
bad("crystal.a", "a", lambda: __import__("jaxem.structure").structure.crystal("Si", a=-3.0))
bad("crystal_info/unknown", "name|crystal", lambda: __import__("jaxem.structure").structure.crystal_info("Unobt"))
_each("zone_axis.uvw", "uvw", lambda v: jx.zone_axis(jx.crystals.Si(), v),
      {"zero": [0, 0, 0], "2": [0, 1], "nan": [NAN, 0, 1], "str": "lots", "None": None, "float": [0.5, 0, 1]})
bad("zone_axis.structure", "structure", lambda: jx.zone_axis(None, [0, 0, 1]))
bad("zone_axis.max_index", "max_index", lambda: jx.zone_axis(jx.crystals.Si(), [0, 0, 1], max_index=0))
bad("slice_assignment/n", "n_slices", lambda: __import__("jaxem.structure").structure.slice_assignment(
    np.zeros(2), 2.0, 0))
bad("slice_assignment/thickness", "thickness", lambda: __import__("jaxem.structure").structure.slice_assignment(
    np.zeros(2), NAN, 2))
bad("slice_assignment/z-nan", "z", lambda: __import__("jaxem.structure").structure.slice_assignment(
    np.array([NAN]), 2.0, 2))
bad("slice_assignment/outside", "z|outside", lambda: __import__("jaxem.structure").structure.slice_assignment(
    np.array([50.0]), 2.0, 2))
bad("slices_for_structure/0", "slice_thickness", lambda: __import__("jaxem.structure").structure
    .slices_for_structure(10.0, 0.0))
bad("slices_for_structure/depth", "depth", lambda: __import__("jaxem.structure").structure
    .slices_for_structure(NAN, 1.0))
bad("check_in_cell/outside", "positions", lambda: __import__("jaxem.structure").structure.check_in_cell(
    np.array([[0, 0, 50.0]]), np.eye(3) * 5, (True, True, False)))
bad("from_ase/type", "atoms", lambda: __import__("jaxem.structure").structure.from_ase("lots"))
bad("from_ase/B", "B", lambda: __import__("jaxem.structure").structure.from_ase(__import__("ase").Atoms(
    "Si", cell=np.eye(3) * 4, pbc=True), B=-1.0))
bad("to_ase/type", "structure", lambda: __import__("jaxem.structure").structure.to_ase("lots"))
bad("as_structure/type", "structure", lambda: __import__("jaxem.structure").structure.as_structure(3))


# potential
_each("potential.sampling", "sampling", lambda v: jx.potential(F.structure, sampling=v),
      {**POSITIVE, "10": 10.0, "1e30": 1e30, "1e-9": 1e-9})
_each("potential.gpts", "gpts", lambda v: jx.potential(F.structure, gpts=v),
      {"0": 0, "1": 1, "float": 2.5, "1e30": 10**30, "str": "lots"})
_each("potential.slice_thickness", "slice_thickness", lambda v: jx.potential(F.structure, sampling=0.2,
                                                                             slice_thickness=v),
      {k: v for k, v in POSITIVE.items() if k != "None"} | {"1e30": 1e30})
bad("potential/both", "sampling|gpts", lambda: jx.potential(F.structure, sampling=0.2, gpts=16))
bad("potential/structure", "structure", lambda: jx.potential("lots", sampling=0.2))
bad("potential/structure-None", "structure", lambda: jx.potential(None, sampling=0.2))
bad("potential/parametrization", "parametrization", lambda: jx.potential(F.structure, sampling=0.2,
                                                                         parametrization="lobatto"))
bad("potential/precision", "precision", lambda: jx.potential(F.structure, sampling=0.2, precision="lots"))
bad("potential/memory_budget", "memory_budget", lambda: jx.potential(F.structure, sampling=0.2, memory_budget="lots"))
bad("potential/memory_budget-neg", "memory_budget", lambda: jx.potential(F.structure, sampling=0.2,
                                                                         memory_budget=-5))
bad("potential/debye_waller", "debye_waller", lambda: jx.potential(F.structure, sampling=0.2, debye_waller="yes"))
bad("potential/z-outside-nonperiodic", "positions|outside|z",
    lambda: jx.potential(_structure(positions=np.array([[1.0, 1.0, 50.0]]), pbc=(True, True, False)), sampling=0.2))
bad("get_parametrization/unknown", "parametrization|name", lambda: __import__("jaxem.potential").potential
    .get_parametrization("lobatto"))
bad("absorptive_potential/beam", "beam|energy", lambda: jx.absorptive_potential(F.structure, None, sampling=0.2))
bad("absorptive_potential/model", "model", lambda: jx.absorptive_potential(F.structure, F.beam, sampling=0.2,
                                                                           model="lots"))
bad("absorptive_potential/fraction", "fraction", lambda: jx.absorptive_potential(F.structure, F.beam, sampling=0.2,
                                                                                 fraction=NAN))
bad("absorptive_potential/geometry", "geometry", lambda: jx.absorptive_potential(
    F.structure, F.beam, sampling=0.2, geometry="lots"))
bad("tds_cross_section/element", "element", lambda: __import__("jaxem.potential").potential.tds_cross_section(
    "Zz", 0.5, F.beam))
bad("tds_cross_section/B", "B", lambda: __import__("jaxem.potential").potential.tds_cross_section(
    "Si", -0.5, F.beam))
bad("elastic_form_factor/k", "k", lambda: __import__("jaxem.potential").potential.elastic_form_factor(
    "Si", 0.5, np.array([NAN])))
bad("absorptive_form_factor/g", "g", lambda: __import__("jaxem.potential").potential.absorptive_form_factor(
    "Si", 0.5, F.beam, np.array([NAN])))
bad("mean_absorption/beam", "beam|energy", lambda: __import__("jaxem.potential").potential
    .mean_absorption_coefficient(F.structure, "lots"))


# optics
from jaxem import optics  # noqa: E402

_each("Aberrations.create.C10", "C10", lambda v: optics.Aberrations.create(C10=v),
      {"nan": NAN, "inf": INF, "str": "lots", "complex": 1j, "dict": {}})
_each("Aberrations.C10", "C10", lambda v: optics.Aberrations(C10=v), {"str": "lots", "complex": 1j, "dict": {}})
_each("hrtem_image.aberrations.C10", "C10", lambda v: jx.hrtem_image(F.exit_wave, optics.Aberrations(C10=v)),
      {"nan": NAN, "inf": INF, "None": None, "1e30": 1e30})
_each("ctf.aberrations.C30", "C30", lambda v: jx.ctf(F.grid, F.beam, optics.Aberrations(C30=v)),
      {"nan": NAN, "None": None})
_each("probe.aberrations.C12", "C12", lambda v: jx.probe(F.grid, F.beam, 20.0, optics.Aberrations(C12=v)),
      {"nan": NAN, "None": None})
bad("Aberrations/unknown", "C31|C30", lambda: optics.Aberrations(C31=3.0))
_each("Aperture.create.semi_angle", "semi_angle", lambda v: optics.Aperture.create(v), {**POSITIVE})
_each("Aperture.semi_angle", "semi_angle", lambda v: optics.Aperture(v), {"str": "lots", "complex": 1j})
_each("Aperture.create.edge_width", "edge_width", lambda v: optics.Aperture.create(10.0, v), {"nan": NAN, "-1": -1.0})
_each("hrtem_image.Aperture", "semi_angle|objective_aperture", lambda v: jx.hrtem_image(
    F.exit_wave, objective_aperture=optics.Aperture(v)), {"nan": NAN, "-1": -1.0, "None": None, "1000": 1000.0})
_each("hrtem_image.objective_aperture", "objective_aperture",
      lambda v: jx.hrtem_image(F.exit_wave, objective_aperture=v), {"1000": 1000.0, "nan": NAN, "-1": -1.0,
                                                                      "str": "lots", "0": 0.0})
_each("hrtem_image.focal_spread", "focal_spread", lambda v: jx.hrtem_image(F.exit_wave, focal_spread=v),
      {"nan": NAN, "-1": -1.0, "str": "lots", "inf": INF})
_each("hrtem_image.source_angle", "source_angle", lambda v: jx.hrtem_image(F.exit_wave, source_angle=v),
      {"nan": NAN, "-1": -1.0, "1e30": 1e30})
_each("hrtem_image.method", "method", lambda v: jx.hrtem_image(F.exit_wave, method=v), {"typo": "focal_avg",
                                                                                         "None": None})
_each("hrtem_image.n_focal", "n_focal", lambda v: jx.hrtem_image(F.exit_wave, focal_spread=10.0, n_focal=v),
      {"0": 0, "float": 2.5, "-1": -1, "1e6": 10**6})
bad("hrtem_image.n_tilt/1e6", "n_tilt", lambda: jx.hrtem_image(F.exit_wave, method="explicit", n_tilt=10**6))
_each("hrtem_image.exit_wave", "exit_wave|waves", lambda v: jx.hrtem_image(v),
      {"None": None, "array": np.ones((8, 8), complex), "str": "lots"})
bad("hrtem_image.aberrations", "aberrations", lambda: jx.hrtem_image(F.exit_wave, {"C10": 3}))
bad("hrtem_image.image_spread", "image_spread", lambda: jx.hrtem_image(F.exit_wave, image_spread=-1.0))
bad("hrtem_image.precision", "precision", lambda: jx.hrtem_image(F.exit_wave, precision="quad"))
bad("hrtem_image.mtf", "mtf", lambda: jx.hrtem_image(F.exit_wave, mtf="lots"))
_each("probe.semi_angle", "semi_angle", lambda v: jx.probe(F.grid, F.beam, v),
      {**POSITIVE, "1000": 1000.0})
bad("probe.beam", "beam|energy", lambda: jx.probe(F.grid, None, 20.0))
bad("probe.grid", "grid", lambda: jx.probe(None, F.beam, 20.0))
bad("probe.positions-nan", "positions", lambda: jx.probe(F.grid, F.beam, 20.0, positions=np.array([[NAN, 0.0]])))
bad("probe.positions-shape", "positions", lambda: jx.probe(F.grid, F.beam, 20.0, positions=np.zeros((2, 3))))
bad("probe.edge_width", "edge_width", lambda: jx.probe(F.grid, F.beam, 20.0, edge_width=-1.0))
_each("ctf.objective_aperture", "objective_aperture", lambda v: jx.ctf(F.grid, F.beam, objective_aperture=v),
      {"1000": 1000.0, "nan": NAN})
bad("ctf.focal_spread", "focal_spread", lambda: jx.ctf(F.grid, F.beam, focal_spread=NAN))
bad("ctf.beam", "beam|energy", lambda: jx.ctf(F.grid, "lots"))
bad("ctf_profile/k-nan", "k", lambda: optics.ctf_profile(np.array([NAN]), F.beam))
bad("ctf_profile/azimuth", "azimuth", lambda: optics.ctf_profile(np.array([0.1]), F.beam, azimuth=NAN))
_each("fourier_shift.shift", "shift", lambda v: jx.fourier_shift(jnp.ones((32, 32)), v, F.grid),
      {"nan": (NAN, 0.0), "3": (1.0, 2.0, 3.0), "str": "lots", "None": None})
bad("fourier_shift.array", "array", lambda: jx.fourier_shift(jnp.ones((16, 16)), (1.0, 1.0), F.grid))
bad("fourier_shift.array-nan", "array", lambda: jx.fourier_shift(jnp.full((32, 32), NAN), (1.0, 1.0), F.grid))
bad("focal_spread_from_instabilities/Cc", "Cc", lambda: optics.focal_spread_from_instabilities(-1.0, F.beam))
bad("focal_spread_from_instabilities/spread", "energy_spread", lambda: optics.focal_spread_from_instabilities(
    1e7, F.beam, energy_spread=NAN))
bad("aperture_on_grid/1000", "semi_angle|aperture", lambda: optics.aperture_on_grid(F.grid, F.beam,
                                                                                     optics.Aperture(1000.0)))
bad("aperture_on_grid/type", "aperture", lambda: optics.aperture_on_grid(F.grid, F.beam, "lots"))
bad("angle_grid/beam", "beam|energy", lambda: optics.angle_grid(F.grid, "lots"))
bad("DetectorMTF/a", "a", lambda: jx.hrtem_image(F.exit_wave, mtf=optics.DetectorMTF(a=NAN)))
bad("DetectorMTF.create/a", "a", lambda: optics.DetectorMTF.create(a=-1.0))
bad("DetectorMTF/pixel", "pixel_size", lambda: optics.DetectorMTF(pixel_size=(-1.0, 1.0)))
bad("blur_intensity/nan", "intensity", lambda: optics.blur_intensity(jnp.full((32, 32), NAN), F.grid, 1.0))
bad("blur_intensity/spread", "image_spread", lambda: optics.blur_intensity(jnp.ones((32, 32)), F.grid, -1.0))
bad("gauss_hermite/n", "n", lambda: optics.gauss_hermite(0))
bad("tilt_nodes/n", "n_tilt", lambda: optics.tilt_nodes(0))
bad("image_intensity/waves", "waves|exit_wave", lambda: optics.image_intensity(None))


# propagate
from jaxem import propagate  # noqa: E402

_each("plane_wave.beam", "beam|energy", lambda v: jx.plane_wave(F.grid, v), {"None": None, "nan": NAN,
                                                                             "lots": "lots", "0": 0.0})
bad("plane_wave.grid", "grid", lambda: jx.plane_wave(None, F.beam))
bad("plane_wave.grid-tuple", "grid", lambda: jx.plane_wave((32, 32), F.beam))
bad("plane_wave.precision", "precision", lambda: jx.plane_wave(F.grid, F.beam, precision="lots"))
bad("plane_wave.tilt-500", "tilt", lambda: jx.plane_wave(F.grid, jx.Beam(300e3, tilt=(500.0, 0.0))))
_each("waves_from_array.array", "array", lambda v: jx.waves_from_array(v, F.grid, F.beam),
      {"nan": np.full((32, 32), NAN, complex), "shape": np.ones((16, 16), complex), "None": None,
       "str": "lots", "empty": np.ones((0, 32, 32), complex)})
bad("waves_from_array.norm", "norm", lambda: jx.waves_from_array(np.ones((32, 32), complex), F.grid, F.beam,
                                                                 norm=-1.0))
bad("multislice.waves", "waves", lambda: jx.multislice(None, F.pot))
bad("multislice.potential", "potential", lambda: jx.multislice(F.wave, None))
bad("multislice.grid-mismatch", "grid", lambda: jx.multislice(jx.plane_wave(F.grid, F.beam), F.pot))
_each("multislice.exit_planes", "exit_planes", lambda v: jx.multislice(F.wave, F.pot, exit_planes=v),
      {"0": 0, "neg": -1, "huge": 10**6, "str": "lots", "nan": NAN, "list-bad": [1, 10**6]})
bad("multislice.tilt-500", "tilt", lambda: jx.multislice(jx.plane_wave(F.pot.grid, jx.Beam(300e3, tilt=(500, 0))),
                                                          F.pot))
_each("diffraction_pattern.max_angle", "max_angle", lambda v: jx.diffraction_pattern(F.exit_wave, max_angle=v),
      {"500": 500.0, "nan": NAN, "-1": -1.0, "str": "lots", "0": 0.0})
_each("diffraction_pattern.units", "units", lambda v: jx.diffraction_pattern(F.exit_wave, units=v),
      {"furlongs": "furlongs", "None": None})
bad("diffraction_pattern.waves", "waves", lambda: jx.diffraction_pattern(np.ones((8, 8))))
bad("intensity.waves", "waves", lambda: jx.intensity("lots"))
bad("radial_profile/nan", "pattern", lambda: jx.radial_profile(np.full((8, 8), NAN)))
bad("radial_profile/bin_width", "bin_width", lambda: jx.radial_profile(jx.diffraction_pattern(F.exit_wave),
                                                                        bin_width=0.0))
bad("radial_profile/max_angle", "max_angle", lambda: jx.radial_profile(jx.diffraction_pattern(F.exit_wave),
                                                                       max_angle=1e6))
bad("radial_profile/1d", "pattern", lambda: jx.radial_profile(np.ones(8)))
bad("azimuthal_profile/n_bins", "n_bins", lambda: propagate.azimuthal_profile(jx.diffraction_pattern(F.exit_wave),
                                                                               n_bins=0))
bad("bragg_mask/tiling", "tiling", lambda: propagate.bragg_mask(F.grid, (0, 1)))
bad("scattering_angles/beam", "beam|energy", lambda: propagate.scattering_angles(F.grid, None))
bad("fresnel_propagator/thickness", "thickness", lambda: propagate.fresnel_propagator(F.grid, F.beam, NAN))
bad("tilted_propagator/tilt", "tilt", lambda: propagate.tilted_propagator(F.grid, F.beam, 1.0, (500.0, 0.0)))
bad("multislice_tilts/tilts-500", "tilt", lambda: jx.multislice_tilts(F.pot, F.beam, np.array([[500.0, 0.0]])))
bad("multislice_tilts/tilts-nan", "tilts", lambda: jx.multislice_tilts(F.pot, F.beam, np.array([[NAN, 0.0]])))
bad("multislice_tilts/tilts-shape", "tilts", lambda: jx.multislice_tilts(F.pot, F.beam, np.zeros((2, 3))))
bad("frozen_phonon/n_configs", "n_configs", lambda: jx.frozen_phonon_multislice(
    jax.random.PRNGKey(0), F.structure, F.wave, n_configs=0))
bad("frozen_phonon/key", "key", lambda: jx.frozen_phonon_multislice("lots", F.structure, F.wave, n_configs=1))
bad("exit_slice_counts/neg", "exit_planes", lambda: propagate.exit_slice_counts([-1], 4))
bad("einstein_positions/u2", "u2", lambda: propagate.einstein_positions(jax.random.PRNGKey(0), np.zeros((2, 3)),
                                                                         -np.ones((2, 3))))


# stem
from jaxem import stem  # noqa: E402

_each("AnnularDetector.inner", "inner", lambda v: stem.AnnularDetector(v, 100.0), {"nan": NAN, "-1": -1.0,
                                                                                  "str": "lots", "None": None})
bad("AnnularDetector/inner>outer", "inner|outer", lambda: stem.AnnularDetector(100.0, 50.0))
bad("AnnularDetector/outer-nan", "outer", lambda: stem.AnnularDetector(10.0, NAN))
bad("AnnularDetector/prepare-1000", "inner|outer", lambda: stem.AnnularDetector(10.0, 1000.0).prepare(F.beam, F.grid))
bad("AnnularDetector/name", "name", lambda: stem.AnnularDetector(10.0, 50.0, name=3))
bad("PixelatedDetector/crop-1000", "max_angle", lambda: stem.PixelatedDetector(max_angle=1000.0).crop(F.beam, F.grid))
_each("PixelatedDetector.bin", "bin", lambda v: stem.PixelatedDetector(bin=v), {"0": 0, "float": 1.5, "str": "x"})
bad("PixelatedDetector.max_angle-nan", "max_angle", lambda: stem.PixelatedDetector(max_angle=NAN))
bad("SegmentedDetector/n_segments", "n_segments", lambda: stem.SegmentedDetector(10.0, 30.0, n_segments=0))
bad("SegmentedDetector/rotation", "rotation", lambda: stem.SegmentedDetector(10.0, 30.0, rotation=NAN))
bad("CenterOfMassDetector/max_angle", "max_angle", lambda: stem.CenterOfMassDetector(max_angle=-1.0))
_each("STEMSimulation.semi_angle", "semi_angle", lambda v: stem.STEMSimulation(F.beam, v, (stem.AnnularDetector(
    40.0, 60.0),)), {**POSITIVE})
bad("STEMSimulation/detectors-empty", "detectors", lambda: stem.STEMSimulation(F.beam, 20.0, ()))
bad("STEMSimulation/detectors-type", "detectors", lambda: stem.STEMSimulation(F.beam, 20.0, ("HAADF",)))
bad("STEMSimulation/detectors-dup", "detector|name", lambda: stem.STEMSimulation(
    F.beam, 20.0, (stem.AnnularDetector(40.0, 60.0, "A"), stem.AnnularDetector(60.0, 80.0, "A"))))
bad("STEMSimulation/beam", "beam|energy", lambda: stem.STEMSimulation(None, 20.0, (stem.AnnularDetector(40, 60),)))
_each("GridScan.gpts", "gpts", lambda v: stem.GridScan((0.0, 0.0), (3.0, 3.0), v),
      {"0": (0, 2), "float": (1.5, 2), "str": "lots", "huge": (10**7, 10**7)})
bad("GridScan.start-nan", "start", lambda: stem.GridScan((NAN, 0.0), (3.0, 3.0), (2, 2)))
bad("GridScan.create/both", "sampling|gpts", lambda: stem.GridScan.create(end=(3.0, 3.0), sampling=0.5, gpts=4))
bad("GridScan.create/sampling", "sampling", lambda: stem.GridScan.create(end=(3.0, 3.0), sampling=0.0))
bad("stem_scan/semi-vs-grid", "semi_angle", lambda: stem.stem_scan(stem.STEMSimulation(
    F.beam, 1000.0, (stem.AnnularDetector(40.0, 60.0),)), F.scan, F.pot, progress=False))
bad("stem_scan/scan-outside", "scan", lambda: stem.stem_scan(F.sim, stem.GridScan((0.0, 0.0), (300.0, 300.0),
                                                                                  (2, 2)), F.pot, progress=False))
bad("stem_scan/thermal", "thermal", lambda: stem.stem_scan(F.sim, F.scan, F.pot, thermal="lots", progress=False))
bad("stem_scan/precision", "precision", lambda: stem.stem_scan(F.sim, F.scan, F.pot, precision="lots",
                                                                progress=False))
bad("stem_scan/sim", "sim", lambda: stem.stem_scan(None, F.scan, F.pot, progress=False))
bad("stem_scan/scan", "scan", lambda: stem.stem_scan(F.sim, None, F.pot, progress=False))
bad("stem_scan/potential", "potential", lambda: stem.stem_scan(F.sim, F.scan, "lots", progress=False))
bad("stem_scan/exit_planes", "exit_planes", lambda: stem.stem_scan(F.sim, F.scan, F.pot, exit_planes=[10**6],
                                                                    progress=False))
bad("stem_scan/memory_budget", "memory_budget", lambda: stem.stem_scan(F.sim, F.scan, F.pot, memory_budget="lots",
                                                                        progress=False))
bad("stem_scan/n_configs", "n_configs|thermal", lambda: stem.stem_scan(F.sim, F.scan, F.pot, n_configs=3,
                                                                        progress=False))


# accel
from jaxem import accel  # noqa: E402

_each("resolve_precision", "precision", accel.resolve_precision, {"lots": "lots", "16": 16, "dict": {},
                                                                   "float": 32.5, "nan": NAN})
_each("parse_bytes", "memory_budget", accel.parse_bytes, {"lots": "lots", "neg": -5, "nan": NAN, "None_str": "None",
                                                          "5furlongs": "5 furlongs", "list": [1], "bool": True})
_each("batch_size.bytes_per_item", "bytes_per_item", lambda v: accel.batch_size(v, 10),
      {"0": 0, "neg": -1, "nan": NAN, "str": "lots"})
_each("batch_size.n_items", "n_items", lambda v: accel.batch_size(100, v), {"neg": -1, "float": 2.5, "str": "x"})
bad("batch_size.memory_budget", "memory_budget", lambda: accel.batch_size(100, 10, memory_budget="lots"))
bad("memory_budget/env", "JAXEM_MEMORY_BUDGET", lambda: _with_env("JAXEM_MEMORY_BUDGET", "lots",
                                                                  accel.memory_budget))
bad("real_dtype/lots", "precision", lambda: accel.real_dtype("lots"))
bad("dtypes/lots", "precision", lambda: accel.dtypes("lots"))
bad("precision_of/str", "array", lambda: accel.precision_of("lots"))
bad("select_precision/lots", "precision", lambda: accel.select_precision("lots", np.ones(2)))
bad("enable_compilation_cache/file", "path|cache", lambda: accel.enable_compilation_cache(__file__))
bad("enable_compilation_cache/max_bytes", "max_bytes",
    lambda: accel.enable_compilation_cache(__file__ + ".never", max_bytes=-1))


def _with_env(key, value, fn):
    import os
    old = os.environ.get(key)
    os.environ[key] = value
    try:
        return fn()
    finally:
        if old is None:
            del os.environ[key]
        else:
            os.environ[key] = old


# io (save/load), with files made per test in a temporary folder
def _io_cases():
    from jaxem import io

    def save_to(suffix):
        def call(tmp):
            return io.save(F.measurement, tmp / f"out{suffix}")
        return call

    for s in (".emd", ".txt", ".npy", "", ".zarr.bak"):
        bad(f"io.save/suffix{s or '-none'}", "suffix|path|format", _tmp(save_to(s)))
    bad("io.save/measurement", "measurement", _tmp(lambda tmp: io.save(np.ones(3), tmp / "x.zarr")))
    bad("io.save/nan-chunks", "chunks", _tmp(lambda tmp: io.save(F.measurement, tmp / "x.zarr", chunks=(0, 1))))
    bad("io.load/missing", "nothere", _tmp(lambda tmp: io.load(tmp / "nothere.zarr")))
    bad("io.load/dir", "adir", _tmp(lambda tmp: io.load(_mkdir(tmp / "adir.zarr"))))
    bad("io.load/empty-h5", "empty.h5", _tmp(lambda tmp: io.load(_write(tmp / "empty.h5", b""))))
    bad("io.load/binary-h5", "bin.h5", _tmp(lambda tmp: io.load(_write(tmp / "bin.h5", bytes(range(256)) * 4))))
    bad("io.load/suffix", "x.txt|suffix", _tmp(lambda tmp: io.load(_write(tmp / "x.txt", "hello"))))
    bad("io.load/path-None", "path", _tmp(lambda tmp: io.load(None)))
    bad("io.load/signal", "signal|lots", _tmp(lambda tmp: io.load(io.save(F.measurement, tmp / "m.zarr"),
                                                                  signal="lots")))
    bad("io.load/zarr-no-meta", "junk.zarr", _tmp(lambda tmp: io.load(_write(_mkdir(tmp / "junk.zarr") / "zarr.json",
                                                                              "{not json"))))
    bad("io.load/zarr-missing-chunk", "m.zarr|chunk", _tmp(_missing_chunk))
    bad("io.writer/suffix", "suffix|path", _tmp(lambda tmp: io.writer(tmp / "x.emd").__enter__()))
    bad("io.atomic_write_text/text", "text", _tmp(lambda tmp: io.atomic_write_text(tmp / "a.txt", 3)))
    bad("io.atomic_write_bytes/data", "data", _tmp(lambda tmp: io.atomic_write_bytes(tmp / "a.bin", "text")))
    bad("io.default_chunks/itemsize", "itemsize", lambda: io.default_chunks((4, 4), 0))


class _tmp:
    """A call that needs a fresh temporary folder (pytest's ``tmp_path``)."""

    def __init__(self, fn):
        self.fn = fn


def _mkdir(p):
    p.mkdir(parents=True, exist_ok=True)
    return p


def _write(p, data):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data) if isinstance(data, bytes) else p.write_text(data)
    return p


def _missing_chunk(tmp):
    from jaxem import io
    m = jx.Measurement(np.arange(64.0).reshape(8, 8), (jx.Axis("y"), jx.Axis("x")))
    p = io.save(m, tmp / "m.zarr", chunks=(2, 8))
    chunks = sorted(q for q in p.rglob("data/c/*/*") if q.is_file())
    assert len(chunks) == 4, list(p.rglob("*"))
    chunks[-1].unlink()
    return np.asarray(io.load(p).array)


_io_cases()


# readers of every format: missing / directory / empty / binary
def _reader_cases():
    from jaxem import apt, eds, hrtem, ltr, md, structure

    readers = {
        "apt.read_pos": (apt.read_pos, ".pos"), "apt.read_epos": (apt.read_epos, ".epos"),
        "apt.read_apt": (apt.read_apt, ".apt"), "apt.read_rrng": (apt.read_rrng, ".rrng"),
        "apt.read_rng": (apt.read_rng, ".rng"), "eds.read_eds": (eds.read_eds, ".msa"),
        "ltr.read_events": (ltr.read_events, ".h5"), "ltr.read_frames": (ltr.read_frames, ".mib"),
        "ltr.EventFile": (ltr.EventFile, ".h5"), "md.read_dump": (md.read_dump, ".dump"),
        "md.count_frames": (md.count_frames, ".dump"), "structure.read_cif": (structure.read_cif, ".cif"),
        "structure.read": (structure.read, ".cif"), "hrtem.read_image": (hrtem.read_image, ".dm4"),
    }
    for name, (fn, suffix) in readers.items():
        bad(f"{name}/missing", "nothere", _tmp(lambda tmp, fn=fn, s=suffix: fn(tmp / f"nothere{s}")))
        bad(f"{name}/directory", "adir", _tmp(lambda tmp, fn=fn, s=suffix: fn(_mkdir(tmp / f"adir{s}"))))
        bad(f"{name}/empty", "empty", _tmp(lambda tmp, fn=fn, s=suffix: _consume(fn(_write(tmp / f"empty{s}", b"")))))
        bad(f"{name}/binary", "binary", _tmp(lambda tmp, fn=fn, s=suffix: _consume(fn(_write(
            tmp / f"binary{s}", bytes((i * 37 + 11) % 256 for i in range(1001)))))))
        bad(f"{name}/None", "path", lambda fn=fn: fn(None))


def _consume(x):
    """Force lazy readers (iterators, lazy files) to read."""
    if hasattr(x, "__next__"):
        return list(x)
    return x


_reader_cases()


# writers: unknown suffixes / formats, bad data
def _writer_cases():
    from jaxem import apt, ltr, md, structure

    bad("structure.write/format", "format|lots", _tmp(lambda tmp: structure.write(F.structure, tmp / "x.cif",
                                                                                  format="lots")))
    bad("structure.write/suffix", "suffix|format|x.qqq", _tmp(lambda tmp: structure.write(F.structure, tmp / "x.qqq")))
    bad("structure.write/structure", "structure", _tmp(lambda tmp: structure.write("lots", tmp / "x.cif")))
    bad("structure.read/format", "format|lots", _tmp(lambda tmp: structure.read(_write(tmp / "x.cif", "data_x\n"),
                                                                                format="lots")))
    bad("structure.read/suffix", "x.qqq|suffix|format", _tmp(lambda tmp: structure.read(_write(tmp / "x.qqq", "hello"))))
    bad("apt.write_pos/nan", "data", _tmp(lambda tmp: apt.write_pos(tmp / "x.pos", np.full((3, 4), NAN, np.float32))))
    bad("apt.write_pos/shape", "data", _tmp(lambda tmp: apt.write_pos(tmp / "x.pos", np.zeros((3, 3), np.float32))))
    bad("apt.write_epos/shape", "data", _tmp(lambda tmp: apt.write_epos(tmp / "x.epos", np.zeros((3, 3)))))
    bad("apt.write_apt/columns", "columns", _tmp(lambda tmp: apt.write_apt(tmp / "x.apt", {})))
    bad("apt.write_apt/columns-type", "columns", _tmp(lambda tmp: apt.write_apt(tmp / "x.apt", "lots")))
    bad("apt.write_rrng/table", "table", _tmp(lambda tmp: apt.write_rrng(tmp / "x.rrng", "lots")))
    bad("ltr.write_events/layout", "layout", _tmp(lambda tmp: ltr.write_events(F.events, tmp / "x.h5", layout="lots")))
    bad("ltr.write_events/ev", "ev|events", _tmp(lambda tmp: ltr.write_events("lots", tmp / "x.h5")))
    bad("ltr.write_events/chunk", "chunk_events", _tmp(lambda tmp: ltr.write_events(F.events, tmp / "x.h5",
                                                                                    chunk_events=0)))
    bad("md.write_dump/traj", "trajectory", _tmp(lambda tmp: md.write_dump(tmp / "x.dump", "lots")))


_writer_cases()


# hrtem
from jaxem import hrtem  # noqa: E402

bad("HRTEMModel/structure", "structure", lambda: hrtem.HRTEMModel("lots", F.beam))
bad("HRTEMModel/beam", "beam|energy", lambda: hrtem.HRTEMModel(F.structure, "lots"))
bad("HRTEMModel/sampling", "sampling", lambda: hrtem.HRTEMModel(F.structure, F.beam, sampling=NAN))
bad("HRTEMModel/method", "method", lambda: hrtem.HRTEMModel(F.structure, F.beam, method="lots"))
bad("HRTEMModel/slice_thickness", "slice_thickness", lambda: hrtem.HRTEMModel(F.structure, F.beam,
                                                                              slice_thickness=0.0))
bad("HRTEMModel/aperture", "objective_aperture", lambda: hrtem.HRTEMModel(F.structure, F.beam, sampling=0.2,
                                                                          objective_aperture=1000.0))
bad("HRTEMModel/n_focal", "n_focal", lambda: hrtem.HRTEMModel(F.structure, F.beam, n_focal=0))
bad("HRTEMParams/str", "defocus", lambda: hrtem.HRTEMParams(defocus="lots"))
bad("Bounds.create/lo>hi", "defocus", lambda: hrtem.Bounds.create(hrtem.HRTEMParams(defocus=0.0),
                                                                  defocus=(10.0, -10.0)))
bad("Bounds.create/unknown", "defocs|defocus", lambda: hrtem.Bounds.create(hrtem.HRTEMParams(defocus=0.0),
                                                                           defocs=(-10.0, 10.0)))
bad("select/unknown", "names|defocs", lambda: hrtem.select(hrtem.HRTEMParams(defocus=0.0), ("defocs",)))
bad("select/type", "params", lambda: hrtem.select("lots", ("defocus",)))
_each("l2.shape", "sim|data|shape", lambda v: hrtem.l2(jnp.ones((8, 8)), v),
      {"shape": jnp.ones((4, 4)), "nan": jnp.full((8, 8), NAN), "None": None})
bad("ncc/shape", "a|b|shape", lambda: hrtem.ncc(jnp.ones((8, 8)), jnp.ones((4, 4))))
bad("ssim/sigma", "sigma", lambda: hrtem.ssim(jnp.ones((8, 8)), jnp.ones((8, 8)), sigma=-1.0))
bad("ssim/shape", "a|b|shape", lambda: hrtem.ssim(jnp.ones((8, 8)), jnp.ones((4, 4))))
bad("combined_loss/w", "w_l2", lambda: hrtem.combined_loss(jnp.ones((8, 8)), jnp.ones((8, 8)), w_l2=NAN))
bad("gradient_fitter/optimizer", "optimizer", lambda: hrtem.gradient_fitter(lambda z: 0.0, optimizer="lots"))
bad("gradient_fitter/lr", "learning_rate", lambda: hrtem.gradient_fitter(lambda z: 0.0, optimizer="adam",
                                                                         learning_rate=-1.0))
bad("gradient_fitter/objective", "objective", lambda: hrtem.gradient_fitter("lots"))
bad("gradient_fitter/schedule", "schedule", lambda: hrtem.gradient_fitter(lambda z: 0.0, optimizer="adam",
                                                                          schedule="lots"))
_each("minimize.max_evaluations", "max_evaluations", lambda v: hrtem.minimize(
    lambda x: jnp.sum(x**2, -1), 2, v), {"0": 0, "float": 2.5, "str": "lots", "neg": -3})
bad("minimize/dim", "dim", lambda: hrtem.minimize(lambda x: jnp.sum(x**2, -1), 0, 10))
bad("minimize/batch", "batch", lambda: hrtem.minimize(lambda x: jnp.sum(x**2, -1), 2, 10, batch=0))
bad("minimize/x0", "x0", lambda: hrtem.minimize(lambda x: jnp.sum(x**2, -1), 2, 10, x0=np.array([NAN, 0.5])))
bad("minimize/x0-range", "x0", lambda: hrtem.minimize(lambda x: jnp.sum(x**2, -1), 2, 10, x0=np.array([5.0, 0.5])))
bad("minimize/f", "f_batch", lambda: hrtem.minimize("lots", 2, 10))
bad("minimize/unknown-kw", "lots", lambda: hrtem.minimize(lambda x: jnp.sum(x**2, -1), 2, 10, lots=3))
bad("TurboConfig/dim", "dim", lambda: hrtem.TurboConfig(dim=0))
bad("TurboConfig/length", "length", lambda: hrtem.TurboConfig(dim=2, length_init=-1.0))
bad("synthesize/dose", "dose", lambda: hrtem.synthesize(jax.random.PRNGKey(0), jnp.ones((8, 8)), -1.0, 0.1))
bad("synthesize/image-nan", "image", lambda: hrtem.synthesize(jax.random.PRNGKey(0), jnp.full((8, 8), NAN), 10.0,
                                                              0.1))
bad("synthesize/sampling", "sampling", lambda: hrtem.synthesize(jax.random.PRNGKey(0), jnp.ones((8, 8)), 10.0, 0.0))
bad("split_rois/cells", "cell_pixels|roi_cells", lambda: hrtem.split_rois(np.ones((32, 32)), 8, 0, 1))
bad("split_rois/stride", "stride", lambda: hrtem.split_rois(np.ones((32, 32)), 8, 2, 0))
bad("split_rois/image", "image", lambda: hrtem.split_rois(np.ones(32), 8, 2, 1))
bad("resample_image/gpts", "gpts", lambda: hrtem.resample_image(np.ones((8, 8)), (0, 8)))
bad("resample_image/nan", "image", lambda: hrtem.resample_image(np.full((8, 8), NAN), (4, 4)))
bad("polar_displacements/lengths", "lengths", lambda: hrtem.polar_displacements(np.zeros((2, 2)), np.array([22, 8]),
                                                                                (0.0, 1.0)))
bad("read_image/sampling", "sampling", _tmp(lambda tmp: hrtem.read_image(_npy(tmp / "im.npy", np.ones((8, 8))),
                                                                          sampling=-1.0)))
bad("read_image/1d", "im.npy|2-D|2D|image", _tmp(lambda tmp: hrtem.read_image(_npy(tmp / "im.npy", np.ones(8)),
                                                                               sampling=0.1)))
bad("read_image/nan", "im.npy|NaN", _tmp(lambda tmp: hrtem.read_image(_npy(tmp / "im.npy", np.full((8, 8), NAN)),
                                                                       sampling=0.1)))
bad("read_image/signal", "signal", _tmp(lambda tmp: hrtem.read_image(_npy(tmp / "im.npy", np.ones((8, 8))),
                                                                      sampling=0.1, signal=5)))


def _npy(p, a):
    np.save(p, a)
    return p


# eds
from jaxem import eds  # noqa: E402

_I2 = np.array([[100.0, 200.0]])
_each("eds.line_energy", "line|O_Kz|O_Ka|Zz", eds.line_energy, {"typo": "O_Kz", "None": None, "Zz": "Zz_Ka"})
_each("eds.atomic_weight", "symbol|Zz|element", eds.atomic_weight, {"Zz": "Zz", "None": None, "int": 8})
bad("eds.atomic_weights/unknown", "Zz|element", lambda: eds.atomic_weights(["O", "Zz"]))
bad("eds.mass_attenuation/energy", "energy", lambda: eds.mass_attenuation("O", NAN))
bad("eds.mass_attenuation/energy-neg", "energy", lambda: eds.mass_attenuation("O", -1.0))
bad("eds.mass_attenuation/table", "table", lambda: eds.mass_attenuation("O", 1.0, table="lots"))
bad("eds.mac_matrix/table", "table", lambda: eds.mac_matrix(["O_Ka"], ["O"], table="lots"))
bad("eds.mac_matrix/line", "line|O_Kz", lambda: eds.mac_matrix(["O_Kz"], ["O"]))
bad("eds.phase_density/unknown", "phase|Unobt", lambda: eds.phase_density("Unobtainium"))
bad("eds.formula_weight_fractions/formula", "formula|Xx", lambda: eds.formula_weight_fractions("Xx2Qq"))
_each("eds.take_off_angle_deg", "elevation_deg", eds.take_off_angle_deg, {"nan": NAN, "str": "lots", "100": 100.0})
bad("eds.solid_angle/area", "area_mm2", lambda: eds.solid_angle(-1.0, 10.0))
bad("eds.solid_angle/distance", "distance_mm", lambda: eds.solid_angle(10.0, 0.0))
_each("eds.electron_dose.current", "beam_current_nA", lambda v: eds.electron_dose(v, 1.0),
      {"nan": NAN, "neg": -1.0, "str": "lots", "0": 0.0})
bad("eds.electron_dose/time", "live_time_s", lambda: eds.electron_dose(1.0, -1.0))
bad("eds.thickness_nm/density", "density", lambda: eds.thickness_nm(1e-5, 0.0))
bad("eds.thickness_nm/mass_thickness", "mass_thickness", lambda: eds.thickness_nm(-1e-5, 5.0))
bad("eds.zeta_factor/zeta", "zeta_factors", lambda: eds.zeta_factor(_I2, [NAN, 1.0], 1e10, [16.0, 65.4]))
bad("eds.zeta_factor/dose", "dose", lambda: eds.zeta_factor(_I2, [1.0, 1.0], -1e10, [16.0, 65.4]))
bad("eds.zeta_factor/shape", "zeta_factors|intensities|lines", lambda: eds.zeta_factor(_I2, [1.0, 1.0, 1.0], 1e10,
                                                                                       [16.0, 65.4]))
bad("eds.zeta_factor/weights", "atomic_weights", lambda: eds.zeta_factor(_I2, [1.0, 1.0], 1e10, [16.0, -65.4]))
bad("eds.zeta_factor/take_off", "take_off_deg", lambda: eds.zeta_factor(_I2, [1.0, 1.0], 1e10, [16.0, 65.4],
                                                                        mac=np.ones((2, 2)), take_off_deg=NAN))
bad("eds.zeta_factor/mac-shape", "mac", lambda: eds.zeta_factor(_I2, [1.0, 1.0], 1e10, [16.0, 65.4],
                                                                mac=np.ones((3, 3)), take_off_deg=20.0))
bad("eds.zeta_factor/max_iter", "max_iter", lambda: eds.zeta_factor(_I2, [1.0, 1.0], 1e10, [16.0, 65.4], max_iter=0))
bad("eds.zeta_factor/tol", "tol", lambda: eds.zeta_factor(_I2, [1.0, 1.0], 1e10, [16.0, 65.4], tol=-1.0))
bad("eds.zeta_factor/precision", "precision", lambda: eds.zeta_factor(_I2, [1.0, 1.0], 1e10, [16.0, 65.4],
                                                                      precision="lots"))
bad("eds.zeta_factor/intensities-str", "intensities", lambda: eds.zeta_factor("lots", [1.0, 1.0], 1e10,
                                                                              [16.0, 65.4]))
bad("eds.cliff_lorimer/k", "k_factors", lambda: eds.cliff_lorimer_quantification(_I2, [1.0, -1.0], [16.0, 65.4]))
bad("eds.cliff_lorimer/k-shape", "k_factors|lines", lambda: eds.cliff_lorimer_quantification(_I2, [1.0],
                                                                                             [16.0, 65.4]))
bad("eds.cliff_lorimer/thickness", "thickness_nm", lambda: eds.cliff_lorimer_quantification(
    _I2, [1.0, 1.0], [16.0, 65.4], thickness_nm=-5.0, density=5.0, mac=np.ones((2, 2)), take_off_deg=20.0))
bad("eds.cliff_lorimer/mass_thickness-neg", "mass_thickness", lambda: eds.cliff_lorimer_quantification(
    _I2, [1.0, 1.0], [16.0, 65.4], mass_thickness=-1e-5, mac=np.ones((2, 2)), take_off_deg=20.0))
bad("eds.fit_k_factors/reference", "reference", lambda: eds.fit_k_factors(_I2, np.array([0.5, 0.5]), reference=5))
bad("eds.fit_k_factors/wf", "weight_fractions", lambda: eds.fit_k_factors(_I2, np.array([[NAN, 0.5]])))
bad("eds.atomic_to_weight/shape", "atomic_weights|atomic_fractions", lambda: eds.atomic_to_weight(
    np.array([0.5, 0.5]), np.array([16.0])))
bad("eds.weight_to_atomic/nan", "weight_fractions", lambda: eds.weight_to_atomic(np.array([NAN, 0.5]),
                                                                               np.array([16.0, 65.4])))
_each("eds.ionization_cross_section.energy", "beam_energy", lambda v: eds.ionization_cross_section("O", "K", v),
      {"nan": NAN, "neg": -1.0, "lots": "lots", "1e30": 1e30})
bad("eds.ionization_cross_section/shell", "shell", lambda: eds.ionization_cross_section("O", "Q", 200e3))
bad("eds.ionization_cross_section/symbol", "symbol|Zz", lambda: eds.ionization_cross_section("Zz", "K", 200e3))
bad("eds.theoretical_k_factors/reference", "reference", lambda: eds.theoretical_k_factors(["O_Ka", "Zn_Ka"], 200e3,
                                                                                          reference=5))
bad("eds.theoretical_k_factors/energy", "beam_energy", lambda: eds.theoretical_k_factors(["O_Ka", "Zn_Ka"], "lots"))
bad("eds.fwhm_ev/energy", "energy_kev", lambda: eds.fwhm_ev(-1.0))
bad("eds.fwhm_ev/fwhm", "fwhm_mnka_ev", lambda: eds.fwhm_ev(1.0, fwhm_mnka_ev=0.0))
_SPEC = np.ones((1, 200))
_E = np.linspace(0.1, 10.0, 200)
bad("eds.fit_intensities/energy-axis", "energy_axis", lambda: eds.fit_intensities(_SPEC, _E[:10], ["O_Ka"], 200.0))
bad("eds.fit_intensities/beam", "beam_energy_kev", lambda: eds.fit_intensities(_SPEC, _E, ["O_Ka"], -1.0))
bad("eds.fit_intensities/line", "line|O_Kz", lambda: eds.fit_intensities(_SPEC, _E, ["O_Kz"], 200.0))
bad("eds.fit_intensities/energy-nan", "energy_axis", lambda: eds.fit_intensities(_SPEC, _E * NAN, ["O_Ka"], 200.0))
bad("eds.fit_intensities/n_background", "n_background", lambda: eds.fit_intensities(_SPEC, _E, ["O_Ka"], 200.0,
                                                                                    n_background=-1))
bad("eds.window_intensities/width", "width", lambda: eds.window_intensities(_SPEC, _E, ["O_Ka"], width=-1.0))
bad("eds.window_intensities/line-out", "line|W_La|energy", lambda: eds.window_intensities(_SPEC, _E[:20], ["Zn_Ka"]))
bad("eds.expected_counts/dose", "dose", lambda: eds.expected_counts(np.array([0.5, 0.5]), 1e-5, -1.0,
                                                                   np.array([1.0, 1.0])))
bad("eds.poisson_counts/neg", "expected", lambda: eds.poisson_counts(jax.random.PRNGKey(0), np.array([-1.0])))
bad("eds.absorption_chi/take_off", "take_off_deg", lambda: eds.absorption_chi(np.ones(2), 1e-5, 100.0))
bad("eds.EDSData/counts", "counts|energy", lambda: eds.EDSData(np.ones((3, 10)), np.ones(5)))
bad("eds.from_hyperspy/type", "signal", lambda: eds.from_hyperspy("lots"))
bad("eds.detector_efficiency/energy", "energy", lambda: eds.detector_efficiency(np.array([NAN])))
bad("eds.zeta_from_standard/wf", "weight_fractions", lambda: eds.zeta_from_standard(_I2, np.array([[1.5, 0.5]]),
                                                                                    1e-5, 1e10))
bad("eds.cross_section_to_zeta/neg", "cross_sections_barn", lambda: eds.cross_section_to_zeta(
    np.array([-1.0, 1.0]), np.array([16.0, 65.4])))


# apt
from jaxem import apt  # noqa: E402

_POS = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
bad("apt.mass_spectrum/bin_width", "bin_width", lambda: apt.mass_spectrum(np.ones(10), bin_width=0.0))
bad("apt.mass_spectrum/nan", "mass", lambda: apt.mass_spectrum(np.array([1.0, NAN])))
bad("apt.mass_spectrum/range", "mass_range", lambda: apt.mass_spectrum(np.ones(10), mass_range=(5.0, 1.0)))
bad("apt.mass_spectrum/weights", "weights", lambda: apt.mass_spectrum(np.ones(10), weights=np.ones(3)))
bad("apt.range_counts/table", "table", lambda: apt.range_counts(np.ones(10), "lots"))
bad("apt.range_counts/mass-nan", "mass", lambda: apt.range_counts(np.array([NAN, 27.0]), F.range_table))
bad("apt.RangeTable/lo>hi", "lo|hi", lambda: apt.RangeTable(lo=np.array([5.0]), hi=np.array([4.0]),
                                                            ions=({"Al": 1},)))
bad("apt.RangeTable/ions", "ions", lambda: apt.RangeTable(lo=np.array([1.0]), hi=np.array([2.0]), ions=()))
bad("apt.RangeTable/nan", "lo", lambda: apt.RangeTable(lo=np.array([NAN]), hi=np.array([2.0]), ions=({"Al": 1},)))
bad("apt.element_isotopes/Zz", "symbol|Zz|element", lambda: apt.element_isotopes("Zz"))
bad("apt.isotope_pattern/charge", "charge", lambda: apt.isotope_pattern({"Al": 1}, charge=0))
bad("apt.isotope_pattern/comp", "composition|Zz", lambda: apt.isotope_pattern({"Zz": 1}))
bad("apt.isotope_pattern/comp-neg", "composition|count", lambda: apt.isotope_pattern({"Al": -1}))
bad("apt.composition/neg", "amounts", lambda: apt.composition(np.array([-1.0, 2.0])))
bad("apt.composition/nan", "amounts", lambda: apt.composition(np.array([NAN, 2.0])))
bad("apt.composition/names", "names", lambda: apt.composition(np.array([1.0, 2.0]), names=["a"]))
bad("apt.density_map/bin_width", "bin_width", lambda: apt.density_map(_POS, bin_width=0.0))
bad("apt.density_map/axes", "axes", lambda: apt.density_map(_POS, axes=(0, 5)))
bad("apt.density_map/pos-nan", "pos", lambda: apt.density_map(_POS * NAN))
bad("apt.density_profile/radius", "radius", lambda: apt.density_profile(_POS, radius=-1.0))
bad("apt.sdm_z/r", "r_lateral", lambda: apt.sdm_z(_POS, r_lateral=-1.0))
bad("apt.composition_profile/axis", "axis", lambda: apt.composition_profile(_POS, np.zeros(50, int), (0, 0, 0),
                                                                            (0, 0, 0), 5.0, radius=1.0, bin_width=0.5))
bad("apt.composition_profile/length", "length", lambda: apt.composition_profile(_POS, np.zeros(50, int), (0, 0, 0),
                                                                                (0, 0, 1), -5.0, radius=1.0, bin_width=0.5))
bad("apt.composition_profile/species", "species", lambda: apt.composition_profile(_POS, np.zeros(3, int), (0, 0, 0),
                                                                                  (0, 0, 1), 5.0, radius=1.0, bin_width=0.5))
bad("apt.proxigram/c_iso", "c_iso", lambda: apt.proxigram(_POS, np.zeros(50, bool), NAN))
bad("apt.concentration_grid/voxel", "voxel", lambda: apt.concentration_grid(_POS, np.zeros(50, bool), voxel=0.0))
bad("apt.concentration_grid/is_solute", "is_solute", lambda: apt.concentration_grid(_POS, np.zeros(5, bool)))
bad("apt.multi_hit_events/neg", "multiplicity", lambda: apt.multi_hit_events(np.array([-1, 1])))
bad("apt.ion_name/type", "composition", lambda: apt.ion_name("lots"))
bad("apt.ion_name/count", "composition|count", lambda: apt.ion_name({"Al": -1}))
bad("apt.RangeTable/ions-count", "ions|count", lambda: apt.RangeTable(lo=np.array([1.0]), hi=np.array([2.0]),
                                                                     ions=({"Al": 0},)))
bad("apt.mass_spectrum/negative", "mass", lambda: apt.mass_spectrum(-np.ones(4)))
bad("apt.detector_angles/L", "L", lambda: apt.detector_angles(np.zeros(3), np.zeros(3), -1.0, 1.5))
bad("apt.detector_angles/projection", "projection", lambda: apt.detector_angles(np.zeros(3), np.zeros(3), 100.0, 1.5,
                                                                                projection="lots"))
bad("apt.tof_to_mass/cal", "cal", lambda: apt.tof_to_mass("lots", np.ones(3), 5000.0))
bad("apt.MassCalibration/L", "L", lambda: apt.tof_to_mass(apt.MassCalibration(t0=0.0, L=-1.0, a=1.0, b=0.0),
                                                           np.ones(3), 5000.0))
bad("apt.fit_background/range", "fit_range", lambda: apt.fit_background(np.arange(10.0), np.ones(10),
                                                                        fit_range=(5.0, 1.0)))
bad("apt.auto_ranges/significance", "significance", lambda: apt.auto_ranges(np.arange(10.0), np.ones(10),
                                                                            significance=-1.0))
bad("apt.auto_ranges/shape", "counts|centres", lambda: apt.auto_ranges(np.arange(10.0), np.ones(5)))
bad("apt.identify_peaks/tolerance", "tolerance", lambda: apt.identify_peaks(np.array([27.0]), ["Al"], tolerance=-1.0))
bad("apt.identify_peaks/candidate", "candidates|Zz", lambda: apt.identify_peaks(np.array([27.0]), ["Zz"]))
bad("apt.ReconParams/kF", "kF", lambda: apt.reconstruct_bas(apt.ReconParams(
    kF=-1.0, xi=1.5, eta=0.5, L=100.0, omega=0.01, detector_radius=40.0), np.zeros(3), np.zeros(3), np.full(3, 5e3)))
bad("apt.tip_profiles/radius", "radius", lambda: apt.tip_profiles(np.array([0, 10]), np.zeros(2), np.array([-1.0, 1.0])))
bad("apt.render_tip_image/R", "R", lambda: apt.render_tip_image(-1.0, 0.0, 0.1, 0.0))
bad("apt.render_tip_image/shape", "shape", lambda: apt.render_tip_image(10.0, 0.0, 0.1, 0.0, shape=(0, 5)))
bad("apt.SyntheticTip/lattice", "lattice", lambda: apt.SyntheticTip(lattice="lots"))
bad("apt.generate/override", "lots|override|SyntheticTip", lambda: apt.generate(lots=3))
bad("apt.extract_profile/pixel", "pixel", lambda: apt.extract_profile(np.ones((16, 16)), pixel=0.0))
bad("apt.extract_profile/image", "image", lambda: apt.extract_profile(np.full((16, 16), NAN), pixel=0.1))
bad("apt.conic_sag/R", "R", lambda: apt.conic_sag(np.ones(3), -1.0))
bad("apt.stitch_runs/empty", "runs", lambda: apt.stitch_runs([]))


# rrng/rng/pos files with content errors
def _apt_file_cases():
    rrng_head = "[Ions]\nNumber=1\nIon1=Al\n[Ranges]\nNumber=1\n"
    cases = {
        "rrng-header-only": ("x.rrng", "[Ions]\nNumber=0\n[Ranges]\nNumber=0\n", apt.read_rrng),
        "rrng-number-abc": ("x.rrng", "[Ions]\nNumber=abc\nIon1=Al\n[Ranges]\nNumber=1\n"
                                      "Range1=26.9 27.1 Vol:0.01 Al:1 Color:FF0000\n", apt.read_rrng),
        "rrng-count-mismatch": ("x.rrng", rrng_head.replace("Number=1\n[R", "Number=1\n[R") .replace(
            "[Ranges]\nNumber=1", "[Ranges]\nNumber=3") + "Range1=26.9 27.1 Vol:0.01 Al:1 Color:FF0000\n",
                                apt.read_rrng),
        "rrng-lo>hi": ("x.rrng", rrng_head + "Range1=27.1 26.9 Vol:0.01 Al:1 Color:FF0000\n", apt.read_rrng),
        "rrng-nan": ("x.rrng", rrng_head + "Range1=nan 26.9 Vol:0.01 Al:1 Color:FF0000\n", apt.read_rrng),
        "rng-garbage": ("x.rng", "hello world\n", apt.read_rng),
        "rng-header-only": ("x.rng", "1 1\nAl\nAl 1.0 1.0 1.0\n", apt.read_rng),
        "pos-not-multiple": ("x.pos", b"\x00" * 17, apt.read_pos),
        "epos-not-multiple": ("x.epos", b"\x00" * 45, apt.read_epos),
        "pos-nan": ("x.pos", np.full((2, 4), NAN, ">f4").tobytes(), apt.read_pos),
        "apt-header": ("x.apt", b"\x00" * 100, apt.read_apt),
    }
    for label, (name, content, fn) in cases.items():
        bad(f"apt.file/{label}", re.escape(name), _tmp(lambda tmp, n=name, c=content, fn=fn: fn(_write(tmp / n, c))))


_apt_file_cases()


# ltr
from jaxem import ltr  # noqa: E402

_each("DoseSchedule.current_pA", "current_pA", lambda v: ltr.DoseSchedule(current_pA=v, frame_time_s=1e-3,
                                                                          scan_step=1.0, probe_diameter=1.0),
      {**POSITIVE})
bad("DoseSchedule.area", "area", lambda: ltr.DoseSchedule(1.0, 1e-3, 1.0, 1.0, area="lots"))
bad("DoseSchedule.frame_time", "frame_time_s", lambda: ltr.DoseSchedule(1.0, -1e-3, 1.0, 1.0))
bad("cumulative_dose/neg", "frame_doses", lambda: ltr.cumulative_dose(np.array([-1.0, 1.0])))
bad("cumulative_dose/nan", "frame_doses", lambda: ltr.cumulative_dose(np.array([NAN, 1.0])))
bad("make_events/offsets", "offsets", lambda: ltr.make_events(np.array([0, 1]), np.array([0, 5]), (1, 1), 1, (4, 4),
                                                              F.dose))
bad("make_events/indices", "indices", lambda: ltr.make_events(np.array([0, 100]), np.array([0, 2]), (1, 1), 1,
                                                              (4, 4), F.dose))
bad("make_events/dose", "dose", lambda: ltr.make_events(np.array([0, 1]), np.array([0, 2]), (1, 1), 1, (4, 4), None))
bad("make_events/scan_shape", "scan_shape", lambda: ltr.make_events(np.array([0, 1]), np.array([0, 2]), (0, 1), 1,
                                                                    (4, 4), F.dose))
bad("make_events/n_frames", "n_frames", lambda: ltr.make_events(np.array([0, 1]), np.array([0, 2]), (1, 1), 0,
                                                                (4, 4), F.dose))
bad("from_dense_counts/neg", "counts", lambda: ltr.from_dense_counts(-np.ones((1, 1, 2, 4, 4)), F.dose))
bad("from_dense_counts/nan", "counts", lambda: ltr.from_dense_counts(np.full((1, 1, 2, 4, 4), NAN), F.dose))
bad("from_dense_counts/ndim", "counts", lambda: ltr.from_dense_counts(np.ones((4, 4)), F.dose))
bad("count_electrons/threshold", "threshold", lambda: ltr.count_electrons(np.ones((1, 1, 2, 4, 4)), NAN, dose=F.dose))
bad("bin_frames/factor", "factor", lambda: ltr.bin_frames(F.events, 0))
bad("bin_frames/factor-big", "factor", lambda: ltr.bin_frames(F.events, 100))
bad("densify/positions", "positions", lambda: ltr.densify(F.events, positions=np.array([10**6])))
bad("densify/positions-neg", "positions", lambda: ltr.densify(F.events, positions=np.array([-5])))
bad("densify/ev", "ev", lambda: ltr.densify("lots"))
bad("sum_frames/weights", "frame_weights", lambda: ltr.sum_frames(F.events, frame_weights=np.ones(7)))
bad("sum_frames/weights-nan", "frame_weights", lambda: ltr.sum_frames(F.events, frame_weights=np.full(3, NAN)))
bad("virtual_image/mask", "mask", lambda: ltr.virtual_image(F.events, np.ones((3, 3), bool)))
bad("window_series/center", "center|centre", lambda: ltr.window_series(F.events, (100, 100), 1))
bad("window_series/half_width", "half_width", lambda: ltr.window_series(F.events, (2, 2), -1))
bad("disk_labels/radius", "radius", lambda: ltr.disk_labels((8, 8), [(4, 4)], -1.0))
bad("disk_labels/centers", "centers", lambda: ltr.disk_labels((8, 8), [(NAN, 4)], 1.0))
bad("label_series/labels", "labels", lambda: ltr.label_series(F.events, np.zeros((3, 3), int)))
bad("fit_decay/doses", "doses", lambda: ltr.fit_decay(np.ones((2, 5)), np.array([1.0, 2.0, NAN, 4.0, 5.0])))
bad("fit_decay/shape", "doses|counts", lambda: ltr.fit_decay(np.ones((2, 5)), np.arange(1.0, 4.0)))
bad("fit_decay/counts-neg", "counts", lambda: ltr.fit_decay(-np.ones((2, 5)), np.arange(1.0, 6.0)))
bad("fit_decay/level", "level", lambda: ltr.fit_decay(np.ones((2, 5)), np.arange(1.0, 6.0), level=1.5))
bad("fit_decay/floor", "floor", lambda: ltr.fit_decay(np.ones((2, 5)), np.arange(1.0, 6.0), floor="lots"))
bad("fit_decay/n_grid", "n_grid", lambda: ltr.fit_decay(np.ones((2, 5)), np.arange(1.0, 6.0), n_grid=0))
bad("fit_decay/doses-decreasing", "doses", lambda: ltr.fit_decay(np.ones((2, 5)), np.arange(5.0, 0.0, -1.0)))
bad("fit_log_linear/nan", "counts", lambda: ltr.fit_log_linear(np.array([1.0, NAN, 3.0]), np.arange(1.0, 4.0)))
bad("emergence_dose/alpha", "alpha", lambda: ltr.emergence_dose(np.ones(5), np.arange(1.0, 6.0), alpha=2.0))
bad("fit_jmak/n_iter", "n_iter", lambda: ltr.fit_jmak(np.ones(5), np.arange(1.0, 6.0), n_iter=0))
bad("jmak/K", "K", lambda: ltr.jmak(np.arange(3.0), -1.0, 2.0, 0.0))
bad("avrami/D0", "D0", lambda: ltr.avrami_linearisation(np.array([0.5]), np.array([1.0]), NAN))
bad("denoise_stacks/method", "method", lambda: ltr.denoise_stacks(np.ones((2, 5, 4, 4)), method="lots"))
bad("denoise_stacks/param", "lots|param", lambda: ltr.denoise_stacks(np.ones((2, 5, 4, 4)), lots=3))
bad("lowrank/rank", "rank", lambda: ltr.lowrank(np.ones((4, 5, 3)), rank=0))
bad("selective_sum/max_dose", "max_dose", lambda: ltr.selective_sum(np.ones((2, 5, 4, 4)), np.arange(5.0), -1.0))
bad("psnr/shape", "estimate|truth|shape", lambda: ltr.psnr(np.ones(4), np.ones(5)))
bad("ssim/shape", "estimate|truth|shape", lambda: ltr.ssim(np.ones((8, 8)), np.ones((4, 4))))
bad("ssim/nan", "estimate|truth", lambda: ltr.ssim(np.full((8, 8), NAN), np.ones((8, 8))))
bad("dose_equivalence/ref", "psnr_reference", lambda: ltr.dose_equivalence_factor([0.5, 1.0], [1.0, 2.0], NAN))
bad("disk_shift_map/method", "method", lambda: ltr.disk_shift_map(np.ones((2, 2, 16, 16)), (8, 8), 3.0,
                                                                  method="lots"))
bad("disk_shift_map/center", "center", lambda: ltr.disk_shift_map(np.ones((2, 2, 16, 16)), (100, 8), 3.0))
bad("disk_shift_map/radius", "radius", lambda: ltr.disk_shift_map(np.ones((2, 2, 16, 16)), (8, 8), -3.0))
bad("disk_shift_map/data-nan", "data", lambda: ltr.disk_shift_map(np.full((2, 2, 16, 16), NAN), (8, 8), 3.0))
bad("events_from_frames/scan_shape", "scan_shape", lambda: ltr.events_from_frames(np.ones((6, 4, 4)), F.dose,
                                                                                  scan_shape=(4, 4)))
bad("events_from_frames/fpp", "frames_per_position", lambda: ltr.events_from_frames(np.ones((6, 4, 4)), F.dose,
                                                                                    frames_per_position=4))
bad("SyntheticLTR/n_frames", "n_frames", lambda: ltr.SyntheticLTR(n_frames=0))
bad("SyntheticLTR/centers", "centers", lambda: ltr.SyntheticLTR(centers=((100.0, 100.0),) * 4))
bad("simulate_events/spec", "spec", lambda: ltr.simulate_events("lots"))
bad("map_positions/fn", "fn", lambda: ltr.map_positions(F.events, "lots"))
bad("iter_chunks/ppc", "positions_per_chunk", lambda: list(ltr.iter_chunks(F.events, positions_per_chunk=0)))
bad("EventWriter/scan_shape", "scan_shape", _tmp(lambda tmp: ltr.EventWriter(tmp / "x.h5", (0, 2), 3, (4, 4),
                                                                               F.dose)))


# md
from jaxem import md  # noqa: E402

_each("MDSettings.temperature", "temperature", lambda v: md.MDSettings(temperature=v), {**POSITIVE})
bad("MDSettings.ensemble", "ensemble", lambda: md.MDSettings(ensemble="nvx"))
bad("MDSettings.timestep", "timestep_fs", lambda: md.MDSettings(timestep_fs=100.0))
bad("MDSettings.dump_every", "dump_every", lambda: md.MDSettings(dump_every=0))
bad("select_frames/n", "n", lambda: md.select_frames(10, 20))
bad("select_frames/burn", "burn_in", lambda: md.select_frames(10, 2, burn_in=-1))
bad("select_frames/stride", "stride", lambda: md.select_frames(10, 2, stride=0))
bad("b_factor/neg", "u2", lambda: md.b_factor(np.array([-1.0])))
bad("b_factor/nan", "u2", lambda: md.b_factor(np.array([NAN])))
bad("bandpass/width", "width_thz", lambda: md.bandpass(np.zeros((8, 2, 3)), 1.0, 5.0, -1.0))
bad("bandpass/interval", "frame_interval_fs", lambda: md.bandpass(np.zeros((8, 2, 3)), 0.0, 5.0, 1.0))
bad("thermal_displacements/masses", "masses", lambda: md.thermal_displacements(np.zeros((4, 2, 3)), np.array([1.0])))
bad("Trajectory/positions", "positions", lambda: md.Trajectory(np.zeros((2, 3)), np.ones(3, int), np.eye(3)[None],
                                                               np.zeros((1, 3)), np.zeros(1, int), np.arange(3)))
bad("Trajectory/nan", "positions", lambda: md.Trajectory(np.full((1, 2, 3), NAN), np.ones(2, int), np.eye(3)[None],
                                                         np.zeros((1, 3)), np.zeros(1, int), np.arange(2)))
bad("unwrap_by_continuity/cells", "cells", lambda: md.unwrap_by_continuity(np.zeros((2, 2, 3)), np.zeros((2, 3, 3))))
bad("find_lammps/missing", "lammps|executable|notalammps", lambda: md.find_lammps("/no/such/notalammps"))
bad("find_potential_file/unknown", "lots|potential", lambda: md.find_potential_file("lots.tersoff"))
bad("read_dump/species", "species|Zz", _tmp(lambda tmp: md.read_dump(_write(tmp / "x.dump", _DUMP), species=["Zz"])))
bad("read_dump/unwrap", "unwrap", _tmp(lambda tmp: md.read_dump(_write(tmp / "x.dump", _DUMP), unwrap="lots")))
bad("read_dump/step", "step", _tmp(lambda tmp: md.read_dump(_write(tmp / "x.dump", _DUMP), step=0)))
bad("read_dump/truncated", "x.dump", _tmp(lambda tmp: md.read_dump(_write(tmp / "x.dump", _DUMP[:-30]))))
bad("read_dump/timestep_fs", "timestep_fs", _tmp(lambda tmp: md.read_dump(_write(tmp / "x.dump", _DUMP),
                                                                           species=["Si"], timestep_fs=-1.0)))
bad("write_data_file/structure", "structure", _tmp(lambda tmp: md.write_data_file(tmp / "d.lmp", "lots")))
bad("snapshots_as_ensemble/n", "n", lambda: md.snapshots_as_ensemble(_traj(), 0))

_DUMP = ("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 4\n0 4\n0 4\n"
         "ITEM: ATOMS id type x y z\n1 1 0.0 0.0 0.0\n2 1 2.0 2.0 2.0\n") * 2


def _traj():
    return md.Trajectory(np.zeros((2, 2, 3)), np.array([14, 14]), np.tile(np.eye(3) * 4, (2, 1, 1)),
                         np.zeros((2, 3)), np.arange(2), np.arange(2))


# more entry points: waves, potentials, scans, 4D-STEM, file options
def _more_cases():
    from jaxem import io, phase, potential, structure

    bad("intensity/batch_axes", "batch_axes", lambda: jx.intensity(F.exit_wave, batch_axes=("a", "b")))
    bad("hrtem_image/batch_axes", "batch_axes", lambda: jx.hrtem_image(F.exit_wave, batch_axes=("a",)))
    bad("Waves/array-nan", "array|waves", lambda: jx.multislice(propagate.Waves(
        jnp.full(F.pot.grid.gpts, NAN, jnp.complex64), F.pot.grid, F.beam), F.pot))
    bad("Waves/beam", "beam|energy", lambda: propagate.Waves(jnp.ones((32, 32), jnp.complex64), F.grid, "lots"))
    bad("Waves/norm", "norm", lambda: propagate.Waves(jnp.ones((32, 32), jnp.complex64), F.grid, F.beam, NAN))
    bad("Waves/grid", "grid", lambda: propagate.Waves(jnp.ones((32, 32), jnp.complex64), (32, 32), F.beam))
    bad("PotentialSlices/grid", "grid", lambda: potential.PotentialSlices(jnp.ones((1, 8, 8)), (0,), 1.0, (8, 8)))
    bad("potential_builder/slice", "slice_thickness", lambda: jx.potential_builder(F.structure, sampling=0.2,
                                                                                   slice_thickness=-1.0))
    bad("lateral_grid/gpts", "gpts", lambda: potential.lateral_grid(F.structure, gpts=(0, 8)))
    bad("GridScan.check_inside", "scan|cell", lambda: stem.GridScan((0.0, 0.0), (100.0, 100.0), (2, 2))
        .check_inside((10.0, 10.0)))
    bad("stem_scan_to_zarr/suffix", "suffix|path", _tmp(lambda tmp: stem.stem_scan_to_zarr(
        tmp / "x.emd", stem.STEMSimulation(F.beam, 20.0, (stem.PixelatedDetector(),)), F.scan, F.pot,
        progress=False)))
    bad("Structure.translate/nan", "shift", lambda: F.structure.translate((NAN, 0.0, 0.0)))
    bad("Structure.translate/shape", "shift", lambda: F.structure.translate((1.0, 0.0)))
    bad("Structure.repeat/str", "nx", lambda: F.structure.repeat("2", 1, 1))
    bad("zone_axis/max_atoms", "max_atoms|atoms", lambda: jx.zone_axis(jx.crystals.Si(), [1, 1, 1], max_atoms=1))
    bad("from_ase/occupancy", "occupancy", lambda: structure.from_ase(__import__("ase").Atoms(
        "Si", cell=np.eye(3) * 4, pbc=True), occupancy=2.0))
    bad("read_cif/index", "index", _tmp(lambda tmp: structure.read_cif(structure.write_cif(
        F.structure, tmp / "s.cif"), index=5)))
    bad("io.load/lazy", "lazy", _tmp(lambda tmp: io.load(io.save(F.measurement, tmp / "m.zarr"), lazy="yes")))
    bad("eds.read_eds/reader", "reader|lots", _tmp(lambda tmp: eds.read_eds(_write(tmp / "x.msa", "#FORMAT"),
                                                                            reader="lots")))
    bad("ltr.read_frames/reader", "reader|lots", _tmp(lambda tmp: ltr.read_frames(_write(tmp / "x.mib", b"\0"),
                                                                                 reader="lots")))
    bad("ltr.read_events/dose", "dose", _tmp(lambda tmp: ltr.read_events(ltr.write_events(F.events, tmp / "e.h5"),
                                                                         dose="lots")))
    bad("hrtem.HRTEMModel/gpts", "gpts", lambda: hrtem.HRTEMModel(F.structure, F.beam, gpts=(0, 0)))
    bad("hrtem.fit_gradient/model", "model", lambda: hrtem.fit_gradient(
        None, np.ones((8, 8)), hrtem.HRTEMParams(defocus=0.0), ("defocs",)))

    # read_4dstem (phase/io.py): calibration arguments, on a tiny jaxem store
    def store(tmp):
        ds = phase.Dataset4D(np.ones((2, 2, 4, 4), np.float32), scan_sampling=(1.0, 1.0), energy=300e3,
                             detector_sampling=(0.1, 0.1))
        return phase.write_zarr(ds, tmp / "d.zarr")

    for key, value in {"energy": "lots", "scan_sampling": 0.0, "semiangle": NAN, "rotation": NAN,
                       "detector_sampling": -1.0, "angular_sampling": "5 furlongs", "transpose": "yes",
                       "center": (NAN, 1.0), "energi": 3e5}.items():
        bad(f"read_4dstem/{key}", key if key != "energi" else "energi|energy",
            _tmp(lambda tmp, k=key, v=value: phase.read_4dstem(store(tmp), **{k: v})))
    bad("read_4dstem/reader", "reader|lots", _tmp(lambda tmp: phase.read_4dstem(_write(tmp / "x.mib", b"\0"),
                                                                                reader="lots")))
    bad("read_4dstem/path", "path", lambda: phase.read_4dstem(3))
    bad("read_4dstem/missing", "nothere", _tmp(lambda tmp: phase.read_4dstem(tmp / "nothere.mib")))
    bad("read_4dstem/directory", "adir", _tmp(lambda tmp: phase.read_4dstem(_mkdir(tmp / "adir.mib"))))

    bad("multislice/potential-nan", "potential.array", lambda: jx.multislice(F.wave, F.pot.replace(
        array=F.pot.array.at[0, 0, 0].set(NAN))))
    bad("multislice_tilts/potential-inf", "potential.array", lambda: jx.multislice_tilts(F.pot.replace(
        array=F.pot.array * INF), F.beam, np.zeros((1, 2))))
    bad("fourier_shift/1e30", "shift", lambda: jx.fourier_shift(jnp.ones(F.grid.gpts), (1e30, 0.0), F.grid))
    bad("probe/positions-1e30", "positions", lambda: jx.probe(F.grid, F.beam, 20.0, positions=np.array([[1e30, 0.0]])))
    bad("diffraction_patterns_array/nan", "psi", lambda: propagate.diffraction_patterns_array(
        jnp.full((4, 4), NAN, jnp.complex64), 1.0))
    bad("diffraction_patterns_array/norm", "norm", lambda: propagate.diffraction_patterns_array(
        jnp.ones((4, 4), jnp.complex64), 0.0))
    bad("AnnularDetector.apply/shape", "dp", lambda: (lambda d: d.apply(d.prepare(F.beam, F.grid), jnp.ones((3, 3))))(
        stem.AnnularDetector(10.0, 30.0)))
    bad("PixelatedDetector.apply/shape", "dp", lambda: (lambda d: d.apply(d.prepare(F.beam, F.grid),
                                                                        jnp.ones((3, 3))))(stem.PixelatedDetector()))
    bad("l2/constant-data", "data|constant|variance", lambda: hrtem.l2(jnp.ones((8, 8)), jnp.ones((8, 8))))


_more_cases()


# more public functions (kernels' shape checks, result-object helpers, iteration inits)
def _third_cases():
    from jaxem import accel, apt, eds, hrtem, ltr, md, potential, propagate, structure

    pos = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    traj = md.Trajectory.create(np.random.default_rng(0).normal(size=(4, 2, 3)), [14, 14], [4.0, 4.0, 4.0],
                                timestep_fs=1.0, unwrapped=True)
    dump = "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 4\n0 4\n0 4\nITEM: ATOMS id type x y z\n1 1 0 0 0\n"
    bad("more/pure_translations tol", "tol", lambda: structure.pure_translations(F.structure, tol=-1.0))
    bad("more/diamond a", "a", lambda: structure.diamond(a=-1.0))
    bad("more/Ni B", "B", lambda: structure.Ni(B="lots"))
    bad("more/potential_layout sampling", "sampling", lambda: potential.potential_layout(F.structure, sampling=NAN))
    bad("more/build_potential mismatch", "structure|atoms|layout", lambda: potential.build_potential(potential.potential_layout(F.structure, sampling=0.2), jx.crystals.Si()))
    bad("more/absorptive_table g_max", "g_max", lambda: potential.absorptive_table("Si", 0.5, F.beam, NAN))
    bad("more/aperture_absorptive cutoff", "cutoff", lambda: potential.aperture_absorptive_form_factor("Si", F.beam, np.array([0.1]), NAN))
    bad("more/probe_transfer 1000", "semi_angle", lambda: optics.probe_transfer(jx.Grid(32, 0.2), F.beam, 1000.0))
    bad("more/ExitPlanes neg", "slices|exit", lambda: propagate.ExitPlanes((-1,)))
    bad("more/Observers str", "members|observer", lambda: propagate.Observers("x"))
    bad("more/bragg tiling 0", "tiling", lambda: propagate.bragg_intensities(np.ones((8, 8)), jx.Grid(8, 0.2), tiling=(0, 0), beams=[(0, 0)]))
    bad("more/ensemble_mean batch 0", "batch", lambda: propagate.ensemble_mean(lambda x: x, jnp.ones(4), 0))
    bad("more/transmission_functions beam", "beam", lambda: propagate.transmission_functions(jnp.ones((1, 8, 8)), 3e5, jx.Grid(8, 0.2)))
    bad("more/merge str", "params|base", lambda: hrtem.merge("a", hrtem.HRTEMParams()))
    bad("more/multistart n 0", "n_starts", lambda: hrtem.multistart(hrtem.HRTEMParams(defocus=0.0), hrtem.Bounds.create(hrtem.HRTEMParams(defocus=0.0), defocus=(-1.0, 1.0)), 0, jax.random.PRNGKey(0)))
    bad("more/make_objective str", "render|loss", lambda: hrtem.make_objective("lots", "l2"))
    bad("more/fit_bo None", "model", lambda: hrtem.fit_bo(None, np.ones((8, 8)), hrtem.HRTEMParams(), ("defocus",)))
    bad("more/fit_stepwise None", "model", lambda: hrtem.fit_stepwise(None, np.ones((8, 8)), hrtem.HRTEMParams()))
    bad("more/global_bounds None", "model", lambda: hrtem.global_bounds(None, hrtem.HRTEMParams(), ("defocus",)))
    bad("more/fit_rois None", "model", lambda: hrtem.fit_rois(None, np.ones((2, 8, 8)), hrtem.HRTEMParams()))
    bad("more/image_on_model_grid None", "model", lambda: hrtem.image_on_model_grid(None, np.ones((8, 8))))
    bad("more/discrete_check None", "model", lambda: hrtem.discrete_check(None, hrtem.HRTEMParams(), np.ones((8, 8))))
    bad("more/aberrations_from_params str", "p|params", lambda: hrtem.aberrations_from_params("lots"))
    bad("more/ackley str", "x", lambda: hrtem.ackley("lots"))
    bad("more/to_unit bounds", "bounds", lambda: hrtem.to_unit(hrtem.HRTEMParams(defocus=0.0), "lots"))
    bad("more/absorption_correction neg", "mass_thickness", lambda: eds.absorption_correction(np.array([0.5, 0.5]), -1.0, np.ones((2, 2)), 20.0))
    bad("more/absorption_factor str", "chi", lambda: eds.absorption_factor("lots"))
    bad("more/cliff_lorimer_init shape", "k_factors|intensities", lambda: eds.cliff_lorimer_init(np.ones((1, 2)), np.ones(3)))
    bad("more/fraction_uncertainty shape", "intensities|fractions", lambda: eds.fraction_uncertainty(np.ones((1, 2)), np.ones((1, 3))))
    bad("more/theoretical_zeta solid", "solid_angle", lambda: eds.theoretical_zeta_factors(["O_Ka"], 200e3, solid_angle_sr=-1.0))
    bad("more/xray_production line", "line|O_Kz", lambda: eds.xray_production_cross_section("O_Kz", 200e3))
    bad("more/mac_mixture shape", "weight_fractions|mac", lambda: eds.mac_mixture(np.ones(3), np.ones((2, 2))))
    bad("more/eds.to_hyperspy str", "data", lambda: eds.to_hyperspy("lots"))
    bad("more/cross_section_quant dose", "dose", lambda: eds.cross_section_quantification(np.array([[100.0, 200.0]]), [100.0, 100.0], -1.0, [16.0, 65.4]))
    bad("more/zeta_init shape", "zeta|intensities", lambda: eds.zeta_init(np.ones((1, 2)), np.ones(3), 1e10))
    bad("more/zeta_to_cross neg", "zeta_factors", lambda: eds.zeta_to_cross_section(np.array([-1.0, 1.0]), np.array([16.0, 65.4])))
    bad("more/interface_position radius", "radius", lambda: apt.interface_position(pos, np.zeros(200, bool), radius=-1.0))
    bad("more/spacing_along_z n", "n_windows", lambda: apt.spacing_along_z(pos, n_windows=0))
    bad("more/roi_coordinates axis", "axis", lambda: apt.roi_coordinates(pos, (0, 0, 0), (0, 0, 0), 5.0, radius=1.0))
    bad("more/format_rrng str", "table", lambda: apt.format_rrng("lots"))
    bad("more/overlap_matrix str", "table", lambda: apt.overlap_matrix("lots", [("Fe", 1)]))
    bad("more/radius_and_apex n_ions", "n_ions", lambda: apt.radius_and_apex(apt.ReconParams(kF=30.0, xi=1.5, eta=0.5, L=100.0, omega=0.01, detector_radius=40.0), np.full(3, 5e3), 0))
    bad("more/fit_calibration window", "window", lambda: apt.fit_calibration(np.ones(10), np.full(10, 5e3), [27.0], window=-1.0))
    bad("more/mass_calibration_init damping", "damping", lambda: apt.mass_calibration_init(apt.MassCalibration(t0=0.0, L=100.0, a=1.0, b=0.0), damping=-1.0))
    bad("more/mass_to_tof str", "cal", lambda: apt.mass_to_tof("lots", np.ones(3), 5e3))
    bad("more/plot_spectrum mismatch", "counts|centres", lambda: apt.plot_spectrum(np.ones(3), np.ones(4)))
    bad("more/cap_tables nan", "theta|r|sag", lambda: apt.cap_tables(np.array([NAN]), np.ones(3), np.ones(3)))
    bad("more/conic_r_of_psi R", "R", lambda: apt.conic_r_of_psi(np.ones(3), -1.0))
    bad("more/from_frame_lists shape", "detector_shape", lambda: ltr.from_frame_lists([[np.array([0])]], (0, 4), F.dose))
    bad("more/sum_pattern str", "source|ev", lambda: ltr.sum_pattern("lots"))
    bad("more/reduce_positions fn", "fn", lambda: ltr.reduce_positions(F.events, "lots"))
    bad("more/average_critical_dose", "series|doses", lambda: ltr.average_critical_dose(np.ones((2, 5)), np.arange(1.0, 4.0)))
    bad("more/fit_spots nan", "stack", lambda: ltr.fit_spots(np.full((2, 5, 8, 8), NAN)))
    bad("more/shape_vs_dose sampling", "sampling", lambda: ltr.shape_vs_dose(np.ones((5, 8, 8)), (0, 0), (4, 4), -1.0))
    bad("more/denoise_events str", "ev", lambda: ltr.denoise_events("lots"))
    bad("more/evaluate_denoising str", "spec", lambda: ltr.evaluate_denoising("lots"))
    bad("more/read_counted missing", "nothere", lambda: ltr.read_counted("/tmp/nothere.mib", F.dose))
    bad("more/expected_frames positions", "positions", lambda: ltr.expected_frames(ltr.SyntheticLTR(), [10**6]))
    bad("more/unwrap_by_images shape", "images", lambda: md.unwrap_by_images(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)), np.tile(np.eye(3), (2, 1, 1))))
    bad("more/iter_dump step", "step", _tmp(lambda tmp: list(md.iter_dump(_write(tmp / "x.dump", dump), step=0))))
    bad("more/lammps_input str", "settings", lambda: md.lammps_input("lots", ["Si"]))
    bad("more/run_md structure", "structure", lambda: md.run_md("lots"))
    bad("more/bandpass_trajectory width", "width_thz", lambda: md.bandpass_trajectory(traj, 1.0, -1.0))
    bad("more/msd_per_atom str", "traj", lambda: md.msd_per_atom("lots"))
    bad("more/displacements str", "traj", lambda: md.displacements("lots"))
    bad("more/complex_dtype lots", "precision", lambda: accel.complex_dtype("lots"))
    bad("more/dtypes_of str", "array", lambda: accel.dtypes_of("lots"))
    bad("more/available_memory dev", "device", lambda: accel.available_memory("lots"))
    bad("more/snapshots_as_ensemble str", "traj", lambda: md.snapshots_as_ensemble("lots", 2))
    bad("more/debye_waller str", "traj", lambda: md.debye_waller_factors("lots"))


_third_cases()


# ---- the tests ---------------------------------------------------------------------------------
#: error classes that are never a clear answer to a bad input
UNCLEAR = (IndexError, KeyError, AttributeError, ZeroDivisionError, FloatingPointError, AssertionError,
           NotImplementedError, RecursionError)


def _check_clear(exc: BaseException, match: str) -> None:
    kind = f"{type(exc).__module__}.{type(exc).__name__}"
    assert isinstance(exc, (ValueError, TypeError, OSError)) and not isinstance(exc, UNCLEAR), \
        f"unclear error class {kind}: {exc}"
    assert type(exc).__module__.split(".")[0] not in ("jax", "jaxlib"), f"a JAX/XLA error leaks out: {kind}: {exc}"
    text = str(exc)
    assert "Traceback" not in text, text
    assert re.search(match, text, re.I), f"{kind} does not name {match!r}: {text}"


@pytest.mark.parametrize("call, match", BAD)
def test_bad_input_is_a_clear_error(call, match, tmp_path):
    with pytest.raises(Exception) as info:
        call.fn(tmp_path) if isinstance(call, _tmp) else call()
    _check_clear(info.value, match)


# ---- the command line: each bad invocation in a fresh process ----------------------------------
_TOML = """[structure]
crystal = "SrTiO3"
zone_axis = [0, 0, 1]
repeat = [2, 2, 1]
[potential]
sampling = 0.2
slice_thickness = 1.95
[beam]
energy = 300e3
[output]
path = "out"
"""
_MSA = "/work/shared/data/vendor/msa/example1.msa"  # replaced by a copy of the sample below when present

CLI = [
    # (id, argv builder (tmp → argv), regex the one stderr line must match)
    ("simulate/misspelt-key", lambda t: ["simulate", _w(t, "a.toml", _TOML.replace("zone_axis", "zone_axes"))],
     r"zone_axes.*did you mean 'zone_axis'"),
    ("simulate/repeat-2", lambda t: ["simulate", _w(t, "b.toml", _TOML.replace("[2, 2, 1]", "[2, 2]"))],
     r"structure\.repeat"),
    ("simulate/aperture-1000", lambda t: ["simulate", _w(t, "c.toml", _TOML + "[hrtem]\nobjective_aperture = 1000.0\n")],
     r"hrtem\.objective_aperture of 1000 mrad exceeds"),
    ("simulate/not-toml", lambda t: ["simulate", _w(t, "d.toml", "\x00\x01 not [ toml")], r"d\.toml"),
    ("simulate/directory", lambda t: ["simulate", str(t)], r"directory"),
    ("fit-hrtem/cells-0", lambda t: ["fit-hrtem", "--synthetic", "--cells", "0"], r"--cells.*≥ 1, got 0"),
    ("fit-hrtem/energy-lots", lambda t: ["fit-hrtem", "--synthetic", "--energy", "lots"], r"--energy.*'lots'"),
    ("quantify-eds/directory", lambda t: ["quantify-eds", str(t), "--lines", "O_Ka"], r"is a directory"),
    ("quantify-eds/missing", lambda t: ["quantify-eds", str(t / "x.msa"), "--lines", "O_Ka"], r"no such file.*x\.msa"),
    ("quantify-eds/truncated", lambda t: ["quantify-eds", _truncated_msa(t), "--lines", "O_Ka"], r"cut\.msa.*truncated"),
    ("quantify-eds/current-nan", lambda t: ["quantify-eds", str(t / "x.msa"), "--lines", "O_Ka",
                                            "--beam-current-nA", "nan"], r"--beam-current-nA.*finite"),
]


def _w(tmp, name, text):
    (tmp / name).write_text(text)
    return str(tmp / name)


def _truncated_msa(tmp):
    import os
    from pathlib import Path

    src = Path(os.environ.get("JAXEM_VENDOR_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
                              / "vendor")) / "msa" / "example1.msa"
    if not src.exists():
        pytest.skip(f"vendor sample {src} absent")
    text = src.read_text(errors="replace")
    return _w(tmp, "cut.msa", text[: len(text) // 2])


@pytest.mark.parametrize("argv, match", [pytest.param(a, m, id=i) for i, a, m in CLI])
def test_cli_bad_input_is_one_line(argv, match, tmp_path):
    """Exit status 2, exactly one line on stderr naming the option/key/file, no traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "JAXEM_NO_COMPILATION_CACHE": "1"}
    r = subprocess.run([sys.executable, "-m", "jaxem.cli.main", *argv(tmp_path)], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert re.search(match, lines[0]), lines[0]


# ---- inputs that used to give a silently wrong answer: the answer is now right (or an error) ---------
def test_strings_with_units_are_read_as_their_value():
    assert jx.Beam("300kV") == jx.Beam(300e3) == jx.Beam("0.3 MeV")
    assert jx.Grid(8, "0.05 nm").sampling == (0.5, 0.5)
    assert optics.Aperture.create("20 mrad").semi_angle == 20.0


def test_closest_ignores_case():
    assert validate.closest("zn", ["Zn", "Zr", "O"]) == "Zn"
    assert validate.closest("haadf", ["HAADF", "ABF"]) == "HAADF"
    with pytest.raises(validate.InputError, match="did you mean 'HAADF'"):
        validate.choice("haadf", "detector", ["HAADF", "ABF"])


def test_atoms_beyond_a_periodic_cell_are_wrapped_not_clipped():
    """z = c + 0.5 Å in a cell periodic along z is the atom at 0.5 Å (first slice), as ASE wraps it;
    along a non-periodic z it is an error (corpus)."""
    s = F.structure
    c = float(np.asarray(s.cell)[2, 2])
    shifted = s.replace(positions=s.positions.at[:, 2].add(c))
    a = jx.potential(s, sampling=0.2, slice_thickness=1.95).array
    b = jx.potential(shifted, sampling=0.2, slice_thickness=1.95).array
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-4)


def test_an_energy_from_the_environment_of_float64_numpy_follows_x64():
    """NumPy float64 input with JAX's x64 mode off computes in float32 (never an x64 error)."""
    from jaxem import accel

    x = np.ones(3)  # float64
    was = jax.config.jax_enable_x64
    try:
        jax.config.update("jax_enable_x64", False)
        assert accel.precision_of(x) == "float32" and accel.real_dtype_of(x) == jnp.float32
        assert accel.select_precision(None, x) == "float32"
        r = eds.zeta_factor(np.array([[100.0, 200.0]]), [1.0, 1.0], 1e10, [16.0, 65.4])
        assert r.atomic_fractions.dtype == jnp.float32
    finally:
        jax.config.update("jax_enable_x64", was)
    assert accel.precision_of(x) == ("float64" if was else "float32")
    assert accel.real_dtype_of(x, "float32") == jnp.float32


def test_partial_zarr_reads_only_when_asked(tmp_path):
    from jaxem import io

    m = jx.Measurement(np.arange(64.0).reshape(8, 8), (jx.Axis("y"), jx.Axis("x")))
    p = io.save(m, tmp_path / "m.zarr", chunks=(2, 8))
    sorted(q for q in p.rglob("data/c/*/*") if q.is_file())[-1].unlink()
    with pytest.raises(validate.FileFormatError, match="m.zarr.*1 of its 4 chunks are missing"):
        io.load(p)
    part = np.asarray(io.load(p, allow_partial=True).array)
    np.testing.assert_array_equal(part[:6], np.asarray(m.array)[:6])


def test_exit_planes_step_and_thickness_series():
    n = F.pot.n_slices
    assert jx.multislice(F.wave, F.pot, exit_planes=n).array.shape[0] == 1
    with pytest.raises(validate.InputError, match=f"exit_planes = {n + 1}.*exceeds the {n} slices"):
        jx.multislice(F.wave, F.pot, exit_planes=n + 1)


def test_eds_nan_pixel_is_masked_and_listed():
    i = np.array([[100.0, 200.0], [NAN, 200.0], [120.0, 180.0]])
    r = eds.zeta_factor(i, [1.0, 1.0], 1e10, [16.0, 65.4])
    clean = eds.zeta_factor(i[[0, 2]], [1.0, 1.0], 1e10, [16.0, 65.4])
    assert np.asarray(r.bad_pixels).tolist() == [[1]]
    np.testing.assert_allclose(np.asarray(r.atomic_fractions)[[0, 2]], np.asarray(clean.atomic_fractions))
    assert np.all(np.isfinite(np.asarray(r.atomic_fractions)))


# ---- a step far too small or a count far too large: an error naming it, never a MemoryError ---------
def _huge_cases():
    from jaxem import apt, eds, ltr, md

    pos = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
    return {
        "radial_profile.bin_width": ("bin_width", lambda: jx.radial_profile(np.ones((8, 8)), jx.Grid(8, 0.2),
                                                                            jx.Beam(3e5), bin_width=1e-12)),
        "azimuthal_profile.n_bins": ("n_bins", lambda: propagate.azimuthal_profile(np.ones((8, 8)), jx.Grid(8, 0.2),
                                                                                  jx.Beam(3e5), n_bins=10**10)),
        "density_map.bin_width": ("bin_width", lambda: apt.density_map(pos, bin_width=1e-9)),
        "density_profile.bin_width": ("bin_width", lambda: apt.density_profile(pos, radius=1.0, bin_width=1e-12)),
        "sdm_z.bin_width": ("bin_width", lambda: apt.sdm_z(pos, bin_width=1e-12)),
        "plane_spacing.n_grid": ("n_grid", lambda: apt.plane_spacing(pos, n_grid=10**10)),
        "render_tip_image.shape": ("shape", lambda: apt.render_tip_image(10.0, 0.0, 0.1, 0.0, shape=(10**6, 10**6))),
        "guided_tables.n_theta": ("n_theta", lambda: apt.guided_tables(
            apt.tip_profiles([0, 100], [0, -1], [5, 5]), n_theta=10**10)),
        "fit_decay.n_grid": ("n_grid", lambda: ltr.fit_decay(np.ones((2, 5)), np.arange(1.0, 6.0), n_grid=10**8)),
        "disk_labels.detector_shape": ("detector_shape", lambda: ltr.disk_labels((10**6, 10**6), [(4, 4)], 1.0)),
        "SyntheticLTR.detector_shape": ("detector_shape", lambda: ltr.SyntheticLTR(detector_shape=(10**5, 10**5))),
        "fit_intensities.n_background": ("n_background", lambda: eds.fit_intensities(
            np.ones((1, 200)), np.linspace(0.1, 10, 200), ["O_Ka"], 200.0, n_background=10**6)),
        "select_frames.n": ("n", lambda: md.select_frames(10**12, 10**11)),
        "Structure.repeat": ("repeat|atoms", lambda: F.structure.repeat(10**6, 10**6, 1)),
        "Grid.gpts": ("gpts", lambda: jx.plane_wave(jx.Grid(10**9, 0.1), F.beam)),
        "potential.sampling": ("sampling", lambda: jx.potential(F.structure, sampling=1e-9)),
        "GridScan.gpts": ("gpts", lambda: stem.GridScan((0.0, 0.0), (3.0, 3.0), (10**7, 10**7))),
        "hrtem_image.n_focal": ("n_focal", lambda: jx.hrtem_image(F.exit_wave, focal_spread=10.0, n_focal=10**6)),
    }


@pytest.mark.parametrize("case", list(_huge_cases()))
def test_huge_request_is_a_clear_error(case):
    match, call = _huge_cases()[case]
    with pytest.raises(Exception) as info:
        call()
    assert not isinstance(info.value, MemoryError)
    _check_clear(info.value, match)


def test_large_shifts_are_periodic_and_exact():
    """A shift by a whole number of cells plus δ equals the shift by δ (folded in float64, no phase
    precision lost), also for probe positions."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=F.grid.gpts), jnp.float32)
    ly, lx = F.grid.extent
    np.testing.assert_allclose(np.asarray(jx.fourier_shift(a, (1000 * ly + 0.3, -700 * lx + 0.1), F.grid)),
                               np.asarray(jx.fourier_shift(a, (0.3, 0.1), F.grid)), atol=1e-5)
    p1 = jx.probe(F.grid, F.beam, 20.0, positions=np.array([[5000 * ly + 1.0, 2.0]]))
    p0 = jx.probe(F.grid, F.beam, 20.0, positions=np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(np.asarray(p1), np.asarray(p0), atol=1e-5)
