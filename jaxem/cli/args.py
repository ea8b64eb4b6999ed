"""argparse value types that check ranges, so a bad option is reported with the option's name
(argparse prefixes the message with ``argument --cells:``) and the expected range."""
from __future__ import annotations

import argparse

from .. import validate


def _wrap(fn):
    def parse(text):
        try:
            return fn(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = fn.__name__
    return parse


def _number(text: str, units: str = ""):
    try:
        return float(text)
    except ValueError:
        if units:
            return validate.quantity(text, "value", units)
        raise validate.InputError(f"must be a number, got {text!r}") from None


def _check(v, lo=None, lo_open=False):
    if v != v or v in (float("inf"), float("-inf")):
        raise validate.InputError(f"must be finite, got {v!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise validate.InputError(f"must be {'>' if lo_open else '≥'} {lo:g}, got {v:g}")
    return v


@_wrap
def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise validate.InputError(f"must be an integer ≥ 1, got {text!r}") from None
    if v < 1:
        raise validate.InputError(f"must be an integer ≥ 1, got {v}")
    return v


@_wrap
def positive_float(text: str) -> float:
    return _check(_number(text), 0.0, lo_open=True)


@_wrap
def nonnegative_float(text: str) -> float:
    return _check(_number(text), 0.0)


@_wrap
def finite_float(text: str) -> float:
    return _check(_number(text))


@_wrap
def energy_ev(text: str) -> float:
    """An energy [eV]: a number, or a string with units such as '300 kV'."""
    return _check(_number(text, "eV"), 0.0, lo_open=True)


@_wrap
def length_angstrom(text: str) -> float:
    """A length [Å] > 0: a number, or a string with units such as '0.01 nm'."""
    return _check(_number(text, "Å"), 0.0, lo_open=True)


@_wrap
def nonnegative_length(text: str) -> float:
    """A length [Å] ≥ 0: a number, or a string with units."""
    return _check(_number(text, "Å"), 0.0)


@_wrap
def finite_length(text: str) -> float:
    """A signed length [Å] (e.g. a defocus or Cs): a number, or a string with units."""
    return _check(_number(text, "Å"))


@_wrap
def memory_bytes(text: str) -> int:
    """A memory budget: bytes, or a string such as '512M', '2 GiB' (≥ 1 byte)."""
    from ..accel.memory import parse_bytes

    return parse_bytes(text, "memory budget")
