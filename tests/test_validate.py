"""The floor-0 validation vocabulary: messages name the argument, the value and the expected range."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem import validate as v


@pytest.mark.parametrize("text, units, expected", [
    ("300 kV", "eV", 300e3), ("300 keV", "eV", 300e3), ("0.3 MeV", "eV", 300e3), ("0.5 nm", "Å", 5.0),
    ("20 mrad", "mrad", 20.0), ("1 deg", "mrad", 1000 * math.pi / 180), ("2 1/nm", "1/Å", 0.2)])
def test_strings_with_units_are_parsed(text, units, expected):
    assert v.scalar(text, "x", units) == pytest.approx(expected)


@pytest.mark.parametrize("bad, match", [("300", "no unit"), ("lots", "could not parse"),
                                        ("5 furlongs", "cannot be converted"), ("3 kg", "cannot be converted")])
def test_bad_strings_name_the_argument(bad, match):
    with pytest.raises(v.InputError, match=f"energy.*{match}"):
        v.scalar(bad, "energy", "eV", positive=True)


@pytest.mark.parametrize("bad, exc", [(float("nan"), v.InputError), (float("inf"), v.InputError), (-1.0, v.InputError),
                                      (0.0, v.InputError), (True, v.InputTypeError), (1j, v.InputTypeError),
                                      ([1, 2], v.InputTypeError), (None, v.InputTypeError)])
def test_bad_scalars(bad, exc):
    with pytest.raises(exc, match="sampling"):
        v.scalar(bad, "sampling", "Å", positive=True)


def test_range_message_has_units_and_bounds():
    with pytest.raises(v.InputError, match=r"angle must be in \[0, 90\] deg, got 100"):
        v.scalar(100, "angle", "deg", lo=0, hi=90)


def test_integer():
    assert v.integer(3.0, "n") == 3
    for bad in (2.5, True, "3", float("nan")):
        with pytest.raises(v.InputTypeError, match="n must be an integer"):
            v.integer(bad, "n")
    with pytest.raises(v.InputError, match="n must be ≥ 1"):
        v.integer(0, "n", lo=1)


def test_choice_suggests_closest():
    with pytest.raises(v.InputError, match="did you mean 'HAADF'"):
        v.choice("HADF", "detector", ["HAADF", "ABF"])


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 35))
def test_array_reports_count_and_first_bad_index(ny, nx, k):
    a = np.ones((ny, nx))
    k = k % a.size
    a.flat[k] = np.nan
    a.flat[-1] = np.inf if k != a.size - 1 else np.nan
    n = 1 if k == a.size - 1 else 2
    first = tuple(int(i) for i in np.unravel_index(k, a.shape))
    with pytest.raises(v.InputError, match=rf"image holds {n} NaN/inf.*first at index {re_tuple(first)}"):
        v.array(a, "image", ndim=2)


def re_tuple(t):
    return r"\(" + r",\s*".join(map(str, t)) + (r",\)" if len(t) == 1 else r"\)")


def test_array_shape_kind():
    with pytest.raises(v.InputError, match=r"frames must have shape \(any, 4, 4\), got \(3, 4, 5\)"):
        v.array(np.zeros((3, 4, 5)), "frames", shape=(None, 4, 4))
    with pytest.raises(v.InputTypeError, match="positions must be a real array"):
        v.array(np.zeros(3, complex), "positions", kind="real")
    with pytest.raises(v.InputError, match="counts must be ≥ 0"):
        v.array(np.array([1, -1]), "counts", nonnegative=True)


def test_paths(tmp_path):
    f = tmp_path / "a.mib"
    f.write_bytes(b"x")
    assert v.path(f, "path") == f
    with pytest.raises(FileNotFoundError, match="no such file"):
        v.path(tmp_path / "missing", "path")
    with pytest.raises(IsADirectoryError, match="is a directory, expected a file"):
        v.path(tmp_path, "path")
    with pytest.raises(NotADirectoryError, match="is a file, expected a directory"):
        v.path(f, "out", kind="dir")


def test_reading_wraps_foreign_errors_with_path(tmp_path):
    import json

    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(v.FileFormatError, match=r"x\.json: cannot read.*JSONDecodeError"):
        with v.reading(p):
            json.loads(p.read_text())


def test_check_size():
    with pytest.raises(v.FileFormatError, match="truncated or incomplete: expected 8 frames, found 2"):
        v.check_size("f.mib", 8, 2, "frames")


# ---- validate.typed: class-annotated arguments of public functions ------------------------------------------
def test_typed_checks_jaxem_class_arguments_by_name():
    from jaxem.grid import Grid
    from jaxem.validate import InputTypeError, typed

    @typed
    def f(a, grid: Grid, other: Grid | None = None, n: int = 1):
        return grid.gpts

    g = Grid(gpts=(8, 8), sampling=(0.1, 0.1))
    assert f("anything", g) == (8, 8) and f(1, grid=g, other=None, n="not checked") == (8, 8)
    for bad in (None, 1.5, {}, "lots", np.zeros(3)):
        with pytest.raises(InputTypeError, match=r"grid must be a Grid \(jaxem\.grid\.Grid\), got"):
            f(1, bad)
    with pytest.raises(InputTypeError, match=r"other must be a Grid \(jaxem\.grid\.Grid\) \(or None\), got int"):
        f(1, g, other=3)


def test_typed_runs_at_trace_time_under_jit_and_leaves_coerced_classes_to_their_coercers():
    import jax

    from jaxem.optics import Aberrations, chi
    from jaxem.potential import lateral_grid
    from jaxem.validate import InputTypeError

    jchi = jax.jit(chi)
    assert np.isfinite(float(jchi(Aberrations(C10=-100.0), 10.0, 0.0, 0.0197)))
    with pytest.raises(InputTypeError, match=r"aberrations must be an Aberrations \(jaxem\.optics\.Aberrations\), got a traced array"):
        jchi(1.0, 10.0, 0.0, 0.0197)
    import ase

    atoms = ase.Atoms("Si", positions=[[1.0, 1.0, 1.0]], cell=[4.0, 4.0, 4.0], pbc=True)
    assert lateral_grid(atoms, sampling=0.1).gpts == (40, 40)  # an ase.Atoms through as_structure
    with pytest.raises(InputTypeError, match="structure"):
        lateral_grid(None, sampling=0.1)


def test_every_public_function_with_a_jaxem_class_argument_checks_it():
    """A public function whose argument is annotated with a jaxem class (other than the coerced Structure, Beam and
    Aperture) must be wrapped by validate.typed: a wrong object is then an InputTypeError naming the argument,
    never an AttributeError from deep inside. A function added later without it fails here."""
    import importlib
    import inspect

    from jaxem import validate
    from tests.test_hostile_inputs_new import _members

    packages = ["", "apt", "eds", "eels", "hrtem", "io", "ltr", "md", "ml", "optics", "parallel", "phase", "phonons",
                "potential", "propagate", "ptycho", "stem", "structure", "accel", "measurement", "noise", "badpixels"]
    found = {}
    for p in packages:
        found.update(_members(importlib.import_module("jaxem" + ("." + p if p else "")), p or "jaxem", None))
    missing, checked = [], 0
    for name, obj in sorted(found.items()):
        if inspect.isclass(obj) or not callable(obj) or not hasattr(inspect.unwrap(obj), "__code__"):
            continue
        if not validate._class_checks(obj):
            continue
        checked += 1
        layer, typed = obj, False
        while layer is not None and not typed:
            typed = getattr(layer, "__jaxem_typed__", False)
            layer = getattr(layer, "__wrapped__", None)
        if not typed:
            missing.append(name)
    assert checked > 150, checked  # the discovery itself works
    assert not missing, f"public functions with jaxem-class arguments not wrapped by validate.typed: {missing}"


def test_typed_leaves_duck_typed_parameters_alone():
    from jaxem.grid import Grid
    from jaxem.validate import InputTypeError, typed

    @typed(duck=("grid",))
    def f(grid: Grid, other: Grid):
        return grid.gpts

    class Like:
        gpts = (4, 4)

    g = Grid(gpts=(8, 8), sampling=(0.1, 0.1))
    assert f(Like(), g) == (4, 4)
    with pytest.raises(InputTypeError, match="other must be a Grid"):
        f(Like(), Like())


def test_typed_runs_the_class_value_check():
    """A class's ``__jaxem_check__`` runs on every typed argument of that class: NaN aberration coefficients are
    refused at a public (non-jitted) boundary, naming the coefficient; traced coefficients pass (gradients work)."""
    import jax

    from jaxem import optics
    from jaxem.optics import Aberrations

    with pytest.raises(v.InputError, match=r"C10.*finite"):
        optics.chi(Aberrations(C10=float("nan")), np.zeros(3), np.zeros(3), 0.0197)
    with pytest.raises(v.InputError, match=r"C30"):
        optics.chi(Aberrations(C30=np.array([1.0, np.inf])), np.zeros(3), np.zeros(3), 0.0197)
    g = jax.grad(lambda c: optics.chi(Aberrations(C10=c), np.full(3, 0.01), np.zeros(3), 0.0197).sum())(5.0)
    assert np.isfinite(g) and g != 0
    from jaxem.optics import detector

    with pytest.raises(v.InputError, match=r"mtf: a must be finite"):
        detector.detector_mtf(np.zeros((4, 4)), np.zeros((4, 4)), 0.5, detector.DetectorMTF(a=float("nan")))
