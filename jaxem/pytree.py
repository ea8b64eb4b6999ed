"""The one mechanism for parameters, states and static configuration: frozen pytree dataclasses.

Every parameter set, algorithm state and configuration object in jaxem is declared with
:func:`dataclass` (a frozen :mod:`dataclasses` class registered with
``jax.tree_util.register_dataclass``). Fields are pytree leaves (traced, differentiable) unless
declared ``field(static=True)``: static fields are part of the tree structure, must be hashable,
and fix shapes or choices (a grid, a method name). A class whose fields are all static is hashable
and can be passed as a static argument to ``jax.jit`` (e.g. :class:`~jaxem.grid.Grid`,
:class:`~jaxem.beam.Beam`, detectors). ``field(units="Å")`` records a field's unit in its metadata
(:func:`units_of` reads them back) so parameters carry their units with them.

Why our own 30 lines rather than ``flax.struct``: it is the same idea on plain JAX, without pulling
Flax (and orbax/tensorstore) into every import, and with units in the field metadata.
"""
from __future__ import annotations

import dataclasses

import jax

__all__ = ["dataclass", "field", "replace", "units_of", "static_fields", "data_fields"]


def field(*, static: bool = False, units: str | None = None, **kwargs):
    """A dataclass field; ``static=True`` keeps it out of the traced leaves; ``units`` is recorded."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata["static"] = bool(static)
    if units is not None:
        metadata["units"] = units
    return dataclasses.field(metadata=metadata, **kwargs)


def _replace(self, **changes):
    return dataclasses.replace(self, **changes)


def dataclass(cls=None, *, eq: bool = True):
    """Declare a frozen pytree dataclass (see the module docstring)."""

    def wrap(cls):
        cls = dataclasses.dataclass(frozen=True, eq=eq)(cls)
        fields = dataclasses.fields(cls)
        meta = [f.name for f in fields if f.metadata.get("static", False)]
        data = [f.name for f in fields if not f.metadata.get("static", False)]
        jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)
        if "replace" not in cls.__dict__:
            cls.replace = _replace
        return cls

    return wrap if cls is None else wrap(cls)


def replace(obj, **changes):
    """A copy of the pytree dataclass ``obj`` with ``changes`` (validated by its ``__post_init__``)."""
    return dataclasses.replace(obj, **changes)


def units_of(obj_or_cls) -> dict:
    """{field name: units} of a pytree dataclass (fields declared with ``units=``)."""
    return {f.name: f.metadata["units"] for f in dataclasses.fields(obj_or_cls) if "units" in f.metadata}


def static_fields(obj_or_cls) -> tuple:
    return tuple(f.name for f in dataclasses.fields(obj_or_cls) if f.metadata.get("static", False))


def data_fields(obj_or_cls) -> tuple:
    return tuple(f.name for f in dataclasses.fields(obj_or_cls) if not f.metadata.get("static", False))
