"""The validation vocabulary used at every public boundary (floor 0).

Every public function checks its inputs here, outside ``jit``, and raises an error that names the
argument, the value found and what was expected (range and units). Values that are JAX tracers
(inside ``jit``/``grad``) cannot be inspected and pass unchecked: checks belong to the public
wrapper, the pure kernels below it never raise.

Error classes (all subclass the builtin a caller would catch anyway):

* :class:`InputError` (``ValueError``): a value out of range, NaN/inf, a wrong shape.
* :class:`InputTypeError` (``TypeError``): a value of the wrong kind.
* :class:`FileFormatError` (``ValueError``): a file that is truncated, damaged or not what its
  suffix says; the message names the file, the expected and the found size/count.

Strings with units are parsed with pint (``'300 kV'`` → 300000 eV, ``'0.5 nm'`` → 5 Å) and
converted to the unit the argument expects; a string without a unit, or with a unit of the wrong
dimension, is rejected naming the argument.

The helpers return plain Python/NumPy values so callers can use them directly::

    energy = validate.scalar(energy, "energy", "eV", positive=True)
    image = validate.array(image, "image", ndim=2, kind="real")
    path = validate.path(path, "path", kind="file")
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import math
import os
from pathlib import Path

import numpy as np

__all__ = [
    "InputError", "InputTypeError", "FileFormatError", "is_traced", "scalar", "integer", "pair",
    "choice", "closest", "array", "finite_report", "path", "reading", "check_size", "quantity",
    "expected_errors", "allocation", "MAX_ELEMENTS", "instance", "function", "batch", "miller", "strings",
]


class InputError(ValueError):
    """A public argument has a value outside what the function accepts."""


class InputTypeError(TypeError):
    """A public argument is of the wrong kind."""


class FileFormatError(ValueError):
    """A file is truncated, damaged, incomplete or not of the format its name says."""

    def __init__(self, path, message: str):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


#: the error classes a command-line front end reports in one line (no traceback)
def expected_errors() -> tuple:
    return (InputError, InputTypeError, FileFormatError, ValueError, TypeError, KeyError, OSError)


def is_traced(value) -> bool:
    """True if ``value`` (or any leaf of it) is a JAX tracer, i.e. has no concrete value."""
    try:
        import jax
    except ImportError:  # pragma: no cover - jax is a dependency
        return False
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value))


# ---- units ------------------------------------------------------------------------------------
#: jaxem unit strings → pint expressions
_PINT_NAMES = {"Å": "angstrom", "1/Å": "1/angstrom", "Å²": "angstrom**2", "1/Å²": "1/angstrom**2",
               "mrad": "milliradian", "rad": "radian", "eV": "eV", "keV": "keV", "deg": "degree",
               "e⁻/Å²": "1/angstrom**2", "fs": "femtosecond", "g/cm²": "g/cm**2", "nm": "nm",
               "µm": "micrometer", "K": "kelvin", "V": "volt", "V·Å": "volt*angstrom", "s": "second"}


@functools.lru_cache(maxsize=1)
def _registry():
    import pint

    return pint.UnitRegistry()


def quantity(value: str, name: str, units: str) -> float:
    """Parse a string with units (``'300 kV'``, ``'5 nm'``, ``'20 mrad'``) into a number in ``units``.

    A beam energy given as a voltage (kV, MV) is read as the electron's kinetic energy in eV. A
    string without a unit is rejected (the unit would be a guess).
    """
    text = str(value).strip()
    for a, b in (("Å", "angstrom"), ("µ", "u"), ("μ", "u"), ("⁻", "-"), ("²", "**2")):
        text = text.replace(a, b)
    ureg = _registry()
    try:
        q = ureg.Quantity(text)
    except Exception:
        raise InputError(f"{name} must be a number in {units} or a string with units, e.g. "
                         f"'{_example(units)}'; could not parse {value!r}") from None
    if q.unitless:
        raise InputError(f"{name} given as the string {value!r} has no unit; give a number in {units} or "
                         f"a string with units, e.g. '{_example(units)}'")
    target = ureg.Quantity(1, _PINT_NAMES.get(units, units))
    if units == "eV" and q.check("[electric_potential]"):  # accelerating voltage → kinetic energy
        q = q * ureg.elementary_charge
    try:
        out = (q / target).to("dimensionless").magnitude
    except Exception:
        raise InputError(f"{name} = {value!r} has units of {q.dimensionality}, which cannot be converted "
                         f"to {units}") from None
    return float(out)


def _example(units: str) -> str:
    return {"eV": "300 kV", "Å": "0.05 nm", "mrad": "20 mrad", "1/Å": "2 1/angstrom"}.get(units, f"1 {units}")


# ---- scalars ----------------------------------------------------------------------------------
def _bounds_text(lo, hi, lo_open, hi_open, units):
    u = f" {units}" if units else ""
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}{u}"
    if lo is not None:
        return f"{'>' if lo_open else '≥'} {lo:g}{u}"
    return f"{'<' if hi_open else '≤'} {hi:g}{u}"


def scalar(value, name: str, units: str = "", *, positive: bool = False, nonnegative: bool = False,
           lo=None, hi=None, lo_open: bool = False, hi_open: bool = False, finite: bool = True,
           allow_traced: bool = True):
    """A real scalar argument as a Python float, checked.

    Args:
        value: a number, a 0-d array, or a string with units (parsed into ``units``).
        name: argument name used in the message.
        units: unit the function works in (``"eV"``, ``"Å"``, ``"mrad"`` …), shown in messages.
        positive, nonnegative: require > 0 or ≥ 0.
        lo, hi, lo_open, hi_open: an explicit range.
        finite: reject NaN/inf (default).
        allow_traced: pass JAX tracers through unchecked (else an error: the value fixes a shape).
    """
    if is_traced(value):
        if allow_traced:
            return value
        raise InputTypeError(f"{name} [{units}] must be a concrete number (it fixes shapes or a static "
                             f"quantity); it cannot be traced under jit/grad")
    if isinstance(value, str):
        v = quantity(value, name, units) if units else _parse_plain(value, name)
    else:
        if isinstance(value, (bool, np.bool_)):
            raise InputTypeError(f"{name} must be a real number{f' [{units}]' if units else ''}, got {value!r}")
        try:
            arr = np.asarray(value)
        except Exception:
            arr = None
        if arr is None or arr.ndim != 0 or arr.dtype.kind not in "iuf":
            if arr is not None and arr.dtype.kind == "c":
                raise InputTypeError(f"{name} must be real{f' [{units}]' if units else ''}, got the complex "
                                     f"value {value!r}")
            if arr is not None and arr.ndim != 0 and arr.dtype.kind in "iuf":
                raise InputTypeError(f"{name} must be a scalar{f' [{units}]' if units else ''}, got an array "
                                     f"of shape {arr.shape}")
            raise InputTypeError(f"{name} must be a real number{f' [{units}]' if units else ''}, got "
                                 f"{type(value).__name__} {value!r}")
        v = float(arr)
    u = f" [{units}]" if units else ""
    if finite and not math.isfinite(v):
        raise InputError(f"{name} must be finite{u}, got {value!r}")
    if positive and not v > 0:
        raise InputError(f"{name} must be > 0{u}, got {value!r}")
    if nonnegative and not v >= 0:
        raise InputError(f"{name} must be ≥ 0{u}, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)) or hi is not None and (v > hi or (hi_open and v == hi)):
        raise InputError(f"{name} must be {_bounds_text(lo, hi, lo_open, hi_open, units)}, got {value!r}")
    return v


def _parse_plain(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputTypeError(f"{name} must be a number, got the string {text!r}") from None


def integer(value, name: str, *, lo=None, hi=None) -> int:
    """An integer argument (bools and non-integral floats rejected), optionally in [lo, hi]."""
    if isinstance(value, (bool, np.bool_)) or is_traced(value):
        raise InputTypeError(f"{name} must be an integer, got {value!r}")
    try:
        arr = np.asarray(value)
    except Exception:
        arr = np.asarray(None)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and (not np.isfinite(arr) or arr != np.round(arr))):
        raise InputTypeError(f"{name} must be an integer, got {value!r}")
    v = int(arr)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InputError(f"{name} must be {_bounds_text(lo, hi, False, False, '')}, got {value!r}")
    return v


def pair(value, name: str, units: str = "", kind=float, **checks) -> tuple:
    """A scalar or (y, x) pair, each element checked with :func:`scalar` (or :func:`integer`)."""
    if isinstance(value, str) or np.ndim(value) == 0:
        value = (value, value)
    try:
        value = tuple(value)
    except TypeError:
        raise InputTypeError(f"{name} must be a scalar or a (y, x) pair, got {value!r}") from None
    if len(value) != 2:
        raise InputError(f"{name} must be a scalar or a (y, x) pair{f' [{units}]' if units else ''}, got "
                         f"{len(value)} values {value!r}")
    if kind is int:
        return tuple(integer(v, name, **checks) for v in value)
    return tuple(scalar(v, name, units, **checks) for v in value)


def closest(word: str, options) -> str | None:
    """The option closest to ``word`` (for 'did you mean …?'), or None. Case is ignored when the
    exact-case match finds nothing (``"zn"`` → ``"Zn"``, ``"haadf"`` → ``"HAADF"``)."""
    opts = [str(o) for o in options]
    word = str(word)
    folded = {}
    for o in opts:
        folded.setdefault(o.casefold(), o)
    if word.casefold() in folded:
        return folded[word.casefold()]
    m = difflib.get_close_matches(word, opts, n=1, cutoff=0.5)
    if m:
        return m[0]
    m = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.5)
    return folded[m[0]] if m else None


def choice(value, name: str, options):
    """``value`` if it is one of ``options``, else an error listing them and the closest one
    (also when only the case differs: the options are case-sensitive)."""
    options = list(options)
    try:
        if value in options:
            return value
    except (TypeError, ValueError):  # unhashable or array-valued: not an option
        pass
    hint = closest(value, options) if isinstance(value, str) else None
    raise InputError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}"
                     + (f" (did you mean {hint!r}?)" if hint else ""))


def flag(value, name: str) -> bool:
    """``value`` as a Python bool if it is ``True``/``False`` (or a NumPy bool), else an
    :class:`InputTypeError` naming the argument: a string such as ``"no"`` or a number is truthy and
    would otherwise switch the option on silently."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputTypeError(f"{name} must be True or False, got {value!r}")


def instance(value, name: str, cls, what: str | None = None):
    """``value`` if it is an instance of ``cls`` (a class or a tuple of classes), else an
    :class:`InputTypeError` naming the argument, what was expected (``what``, e.g. "a Harmonic from
    phonons.harmonic_phonons") and the type found. Tracers are never instances of jaxem's classes, so
    this also catches a state or model passed where an array was traced."""
    if isinstance(value, cls):
        return value
    if what is None:
        what = " or ".join(_described(c) for c in (cls if isinstance(cls, tuple) else (cls,)))
    found = "a traced array" if is_traced(value) else type(value).__name__
    raise InputTypeError(f"{name} must be {what}, got {found}")


def _described(cls) -> str:
    """'an Aberrations (jaxem.optics.Aberrations)': the class with its article and, for jaxem's, its public path."""
    text = ("an " if cls.__name__[0] in "AEIOU" else "a ") + cls.__name__
    parts = cls.__module__.split(".")
    return text + (f" ({'.'.join(parts[:2] + [cls.__name__])})" if parts[0] == "jaxem" else "")


def _jaxem_classes(hint) -> tuple[tuple, bool]:
    """(jaxem classes, None allowed) of an annotation that names only jaxem classes (and None); ((), False) else."""
    import types
    import typing

    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = typing.get_args(hint) if union else (hint,)
    rest = [a for a in args if a is not type(None)]
    classes = tuple(a for a in rest if isinstance(a, type) and a.__module__.split(".")[0] == "jaxem")
    if not classes or len(classes) != len(rest):
        return (), False
    return classes, type(None) in args


#: classes that public functions coerce from other inputs (``structure.as_structure``: an ase.Atoms,
#: ``beam.as_beam``: an energy, ``optics.as_aperture``: a semi-angle), often through a helper: :func:`typed` leaves
#: them to their coercers, which give the clear error
COERCED = ("Structure", "Beam", "Aperture")


def _class_checks(fn) -> dict:
    """{parameter: (classes, None allowed)} for the parameters of ``fn`` annotated with jaxem classes, except the
    classes in :data:`COERCED` and parameters that ``fn`` itself passes to an ``as_…`` coercer or a ``check_…``
    validator (which may accept more, e.g. None for the default aberrations, and give their own messages)."""
    import inspect
    import re
    import typing

    inner = inspect.unwrap(fn)
    try:
        hints = typing.get_type_hints(inner)
    except Exception:  # noqa: BLE001 - an unresolvable annotation elsewhere: resolve each on its own
        hints = {}
        for k, v in getattr(inner, "__annotations__", {}).items():
            try:
                hints[k] = eval(v, inner.__globals__) if isinstance(v, str) else v  # noqa: S307 - own annotations
            except Exception:  # noqa: BLE001
                continue
    params = inspect.signature(inner).parameters
    try:
        source = inspect.getsource(inner)
    except (OSError, TypeError):
        source = ""
    out = {}
    for k, hint in hints.items():
        if k in params:
            classes, optional = _jaxem_classes(hint)
            if any(c.__name__ in COERCED for c in classes) or re.search(rf"\b(_?as_\w+|_?check_\w+)\(\s*{re.escape(k)}\b", source):
                continue
            if classes:
                out[k] = (classes, optional)
    return out


def typed(fn=None, *, duck: tuple = ()):
    """Decorator for public functions: each call checks that the arguments annotated with a jaxem class (a
    ``Grid``, ``Aberrations``, model, state or problem; ``X | None`` also allows None) are instances of it, and
    raises :class:`InputTypeError` naming the argument, the class and the type found (an ``AttributeError`` deep
    inside the function otherwise). Annotations are resolved at the first call. Put it directly above the
    ``def`` (below ``jax.jit``): under jit it runs when the function is traced, where a jaxem pytree is still an
    instance of its class and a wrong argument is a tracer or another type. ``duck``: parameters that take any
    object with the class's interface by design (``@typed(duck=("sim",))``), left unchecked. A class may define
    ``__jaxem_check__(value, name)`` (a static method) to check the values of an instance too (e.g. finite
    aberration coefficients: a pytree's constructor cannot, since JAX rebuilds pytrees through it with tracers
    and placeholders); typed calls it on every checked argument of that class."""
    import inspect

    if fn is None:
        return functools.partial(typed, duck=tuple(duck))
    sig = inspect.signature(fn)
    checks = None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        nonlocal checks
        if checks is None:
            checks = {k: v for k, v in _class_checks(fn).items() if k not in duck}
        if checks:
            try:
                bound = sig.bind_partial(*args, **kwargs).arguments
            except TypeError:
                bound = {}
            for k, (classes, optional) in checks.items():
                if k in bound and not (optional and bound[k] is None):
                    what = " or ".join(_described(c) for c in classes) + (" (or None)" if optional else "")
                    instance(bound[k], k, classes, what)
                    check = getattr(type(bound[k]), "__jaxem_check__", None)
                    if check is not None:  # the class's own value check (concrete leaves; traced ones pass)
                        check(bound[k], k)
        return fn(*args, **kwargs)

    wrapper.__jaxem_typed__ = True
    return wrapper


def miller(value, name: str = "uvw", n: int = 3) -> tuple:
    """``n`` integer indices (a zone axis [uvw] or a reflection (hkl)), not all zero."""
    if isinstance(value, (str, bytes, dict)) or value is None or np.ndim(value) != 1 or len(value) != n:
        count = {3: "three", 4: "four"}.get(n, str(n))
        hint = " (use [U-T, V-T, W] for four-index hexagonal directions)" if n == 3 else ""
        raise InputError(f"{name} must be {count} integers{hint}, e.g. {(0,) * (n - 1) + (1,)}, got {value!r}")
    out = tuple(integer(v, name) for v in value)
    if not any(out):
        raise InputError(f"{name} must be a non-zero lattice direction, got {value!r} (a direction or a "
                         f"reflection needs a non-zero index, e.g. {list((0,) * (n - 1) + (1,))})")
    return out


def strings(value, name: str, *, min_len: int = 1) -> list:
    """A sequence of non-empty strings (a single string is refused: it would be read letter by letter)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or isinstance(value, dict):
        raise InputTypeError(f"{name} must be a list of strings, got {type(value).__name__} {_short(value)}")
    out = list(value)
    bad = [v for v in out if not isinstance(v, str) or not v]
    if bad:
        raise InputTypeError(f"{name} must hold non-empty strings, got {bad[0]!r}")
    if len(out) < min_len:
        raise InputError(f"{name} must hold at least {min_len} string(s), got {len(out)}")
    return out


def function(value, name: str, what: str = "a function"):
    """``value`` if it is callable, else an :class:`InputTypeError` naming the argument."""
    if callable(value) and not isinstance(value, (type, np.ndarray)):
        return value
    raise InputTypeError(f"{name} must be {what}, got {type(value).__name__} {_short(value)}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- arrays -----------------------------------------------------------------------------------
def _on_device(a) -> bool:
    """True for a JAX array (reduce it on its device rather than copying it to the host)."""
    return type(a).__module__.split(".")[0] in ("jax", "jaxlib") and hasattr(a, "devices")


def _device_min(a) -> float:
    import jax

    with jax.ensure_compile_time_eval():
        return float(a.min())


def finite_report(a) -> tuple[int, tuple | None]:
    """(number of NaN/inf values, index of the first one) of a concrete array."""
    if _on_device(a):
        import jax
        import jax.numpy as jnp

        with jax.ensure_compile_time_eval():  # a concrete array met while tracing: evaluate now
            if bool(jnp.all(jnp.isfinite(a))):
                return 0, None
    a = np.asarray(a)
    bad = ~np.isfinite(a)
    n = int(np.count_nonzero(bad))
    if not n:
        return 0, None
    return n, tuple(int(i) for i in np.unravel_index(int(np.argmax(bad.ravel())), a.shape))


_KINDS = {"real": "iuf", "complex": "c", "numeric": "iufc", "integer": "iu", "bool": "b"}


def array(value, name: str, *, ndim=None, min_ndim=None, shape=None, kind: str = "numeric",
          finite: bool = True, units: str = "", nonnegative: bool = False, min_size: int = 1):
    """A concrete array argument, checked; returns it unchanged (NumPy or JAX).

    Args:
        ndim: required number of dimensions (int or tuple of allowed ints).
        min_ndim: minimum number of dimensions.
        shape: required shape; ``None`` entries match any length (compared from the last axis).
        kind: ``"real"``, ``"complex"``, ``"numeric"`` (either), ``"integer"`` or ``"bool"``.
        finite: reject NaN/inf, reporting the count and the first index.
        nonnegative: reject negative values.
        min_size: minimum number of elements.
    """
    if is_traced(value):
        return value
    u = f" [{units}]" if units else ""
    if value is None or isinstance(value, (str, bytes, dict)):
        raise InputTypeError(f"{name} must be an array{u}, got {type(value).__name__}")
    try:
        a = value if hasattr(value, "dtype") and hasattr(value, "shape") else np.asarray(value)
        dt = np.dtype(a.dtype)
    except Exception:
        raise InputTypeError(f"{name} must be a numeric array{u}, got {type(value).__name__}") from None
    if dt.kind not in _KINDS[kind] and not (kind == "numeric" and dt.kind == "b"):
        raise InputTypeError(f"{name} must be a {kind} array{u}, got dtype {dt}")
    nd = len(a.shape)
    if ndim is not None and nd not in (ndim if isinstance(ndim, tuple) else (ndim,)):
        raise InputError(f"{name} must have {ndim} dimensions{u}, got shape {tuple(a.shape)}")
    if min_ndim is not None and nd < min_ndim:
        raise InputError(f"{name} must have at least {min_ndim} dimensions{u}, got shape {tuple(a.shape)}")
    if shape is not None:
        want = tuple(shape)
        got = tuple(a.shape)
        if len(got) < len(want) or any(w is not None and w != g for w, g in zip(want[::-1], got[::-1])):
            pretty = "(" + ", ".join("any" if w is None else str(w) for w in want) + ("," if len(want) == 1 else "") + ")"
            raise InputError(f"{name} must have shape {pretty}{u}, got {got}")
    size = int(np.prod(a.shape)) if nd else 1
    if size < min_size:
        raise InputError(f"{name} must have at least {min_size} element(s), got shape {tuple(a.shape)}")
    if finite and dt.kind in "fc":
        n, first = finite_report(a)
        if n:
            raise InputError(f"{name} holds {n} NaN/inf value(s){u} (first at index {first}); "
                             f"clean or mask them first")
    if nonnegative and dt.kind in "iuf" and size:
        lowest = _device_min(a) if _on_device(a) else float(np.min(np.asarray(a)))
        if lowest < 0:
            raise InputError(f"{name} must be ≥ 0{u}, got a minimum of {lowest!r}")
    return value


def batch(tree, name: str, *, multiple_of: int = 1, finite: bool = True) -> int:
    """The common leading (batch) length of every leaf of ``tree`` (a pytree of numeric arrays), checked:
    at least one leaf, each an array with ≥ 1 dimension, all of the same leading length ≥ 1 (a multiple
    of ``multiple_of``), NaN/inf rejected unless ``finite=False``. Tracers pass (their shapes are
    still checked)."""
    import jax

    if tree is None or isinstance(tree, (str, bytes)):
        raise InputTypeError(f"{name} must be an array or a pytree of arrays with a leading batch axis, got "
                             f"{type(tree).__name__}")
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    if not leaves:
        raise InputError(f"{name} holds no arrays (empty {type(tree).__name__}); it needs a leading batch axis")
    n = None
    for key, leaf in leaves:
        where = name + jax.tree_util.keystr(key)
        a = array(leaf, where, min_ndim=1, finite=finite, min_size=0)
        length = int(a.shape[0]) if hasattr(a, "shape") else int(np.shape(a)[0])
        if n is None:
            n = length
        elif length != n:
            raise InputError(f"{name}: every leaf must share the leading (batch) length {n}, {where} has "
                             f"{length}")
    if n < 1:
        raise InputError(f"{name} has a batch of length 0 (leading axis of shape {n}); give at least one item")
    if n % multiple_of:
        raise InputError(f"{name} has a batch of length {n}, which must be a multiple of {multiple_of}")
    return n


#: most elements of an array whose size follows from an argument (2³¹: 16 GiB of float64)
MAX_ELEMENTS = 1 << 31


def allocation(shape, name: str, value, units: str = "", hint: str = "") -> int:
    """The number of elements of ``shape`` (an int or a shape) that the argument ``name`` = ``value``
    asks for, or an :class:`InputError` naming it when that is beyond :data:`MAX_ELEMENTS` (a step far
    too small or a count far too large is reported before NumPy tries to allocate it)."""
    dims = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    total = 1.0
    for d in dims:
        total *= max(float(d), 0.0)
    if total > MAX_ELEMENTS:
        u = f" {units}" if units else ""
        raise InputError(f"{name} = {value!r}{u} asks for {total:.3g} elements (at most {MAX_ELEMENTS:.3g})"
                         + (f"; {hint}" if hint else ""))
    return int(total)


# ---- files ------------------------------------------------------------------------------------
def path(value, name: str = "path", *, kind: str = "file", must_exist: bool = True, suffixes=None) -> Path:
    """A filesystem path argument, checked: ``kind`` is ``"file"``, ``"dir"`` or ``"any"``."""
    if not isinstance(value, (str, os.PathLike)):
        raise InputTypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")
    p = Path(value)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise InputError(f"{name} {str(p)!r} has suffix {p.suffix!r}; expected one of {', '.join(suffixes)}")
    if not must_exist:
        return p
    if not p.exists():
        raise FileNotFoundError(f"{name}: no such {'directory' if kind == 'dir' else 'file'}: {p}")
    if kind == "file" and p.is_dir():
        raise IsADirectoryError(f"{name}: {p} is a directory, expected a file")
    if kind == "dir" and not p.is_dir():
        raise NotADirectoryError(f"{name}: {p} is a file, expected a directory")
    if not os.access(p, os.R_OK):
        raise PermissionError(f"{name}: {p} is not readable (permission denied)")
    return p


@contextlib.contextmanager
def reading(path, what: str = "file"):
    """Wrap a reader: a foreign library's error (h5py, zarr, zstd, JSON, struct, NumPy …) becomes a
    :class:`FileFormatError` naming the file; jaxem's own errors pass through unchanged."""
    try:
        yield
    except (InputError, InputTypeError, FileFormatError, FileNotFoundError, PermissionError,
            IsADirectoryError, NotADirectoryError):
        raise
    except MemoryError:
        raise FileFormatError(path, f"cannot read this {what}: its header asks for more memory than "
                                    f"exists (damaged header?)") from None
    except Exception as exc:  # noqa: BLE001 - foreign errors are re-raised with the path
        raise FileFormatError(path, f"cannot read this {what} ({type(exc).__name__}: {exc})") from exc


def check_size(path, expected: int, found: int, what: str = "bytes", hint: str = "") -> None:
    """Raise :class:`FileFormatError` unless ``found == expected`` (a count or a byte size)."""
    if int(found) != int(expected):
        state = "truncated or incomplete" if found < expected else "longer than its header says"
        raise FileFormatError(path, f"{state}: expected {int(expected)} {what}, found {int(found)}"
                                    + (f" ({hint})" if hint else ""))
