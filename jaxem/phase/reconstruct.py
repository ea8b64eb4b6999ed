"""The front door of direct phase retrieval: one call from a dataset to an image with its axes.

:func:`reconstruct` runs one method (``"ssb"``, ``"obf"``, ``"parallax"``, ``"wdd"``, ``"icom"``, ``"wiener"``
— the channel-resolved Wiener estimate of :mod:`jaxem.phase.wiener` — or ``"dpc"``, the
Wiener-regularised CoM integration of :mod:`jaxem.phase.com_integration`)
and returns a :class:`~jaxem.measurement.Measurement`: the phase image [rad] with axes ``y, x`` [Å]
and the metadata of the reconstruction (method, beam, aberrations, rotation, upsampling, options)
including ``bad_data``, the report of the non-finite values that were masked
(:mod:`jaxem.phase.masking`). The functions it calls (:func:`~jaxem.phase.ssb`, :func:`~jaxem.phase.wdd`,
…) are the array-level API for composing jitted programs.
"""
from __future__ import annotations

import numpy as np

from .. import validate
from ..measurement import Axis, Measurement
from . import geometry
from .com import com_field_with_report, icom
from .dataset import Dataset4D
from .direct import obf, parallax, ssb
from .stack import BFStack, bright_field_stack
from .wdd import wdd_with_report
from .com_integration import dpc
from .wiener import wiener_direct

METHODS = ("ssb", "obf", "parallax", "wdd", "icom", "wiener", "dpc")


def reconstruct(data, method: str = "ssb", aberrations=None, rotation=None, upsampling: int = 1,
                flip: bool = False, epsilon: float = 1e-2, descan_order: int | None = None,
                memory_budget=None, precision=None) -> Measurement:
    """Phase image [rad] of a 4D-STEM dataset by one direct method, with axes and metadata.

    Args:
        data: a calibrated :class:`~jaxem.phase.Dataset4D` (any method) or a
            :class:`~jaxem.phase.BFStack` (``ssb``, ``obf``, ``parallax``).
        method: ``"ssb"``, ``"obf"``, ``"parallax"``, ``"wdd"``, ``"icom"``, ``"wiener"`` or ``"dpc"``
            (``dpc`` deconvolves the probe autocorrelation only when ``aberrations`` is given).
        aberrations: probe aberrations (default: the dataset's; none for a stack).
        rotation: detector rotation θ [rad] (default: the dataset's; 0 for a stack).
        upsampling: output upsampling u ≥ 1 (``ssb``, ``obf``, ``parallax``).
        flip: parallax: multiply by sgn(sin χ(q)) (positive transfer).
        epsilon: WDD's relative Wiener regulariser (> 0).
        descan_order: iCoM: None, 0 or 1 (descan removal, :func:`~jaxem.phase.fit_descan`).
        memory_budget: bytes (or '2G') for the batches (default: accel policy).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default: follows the data).
    Returns:
        Measurement (u·Sy, u·Sx) [rad], axes ``y, x`` [Å]; ``metadata["bad_data"]`` lists the masked
        non-finite values (count, scan positions, detector pixels).
    """
    method = validate.choice(method, "method", METHODS)
    if isinstance(data, BFStack):
        if method not in ("ssb", "obf", "parallax", "wiener"):
            raise validate.InputError(f"method {method!r} needs the 4D data (a Dataset4D), got a BFStack")
        stack, ds = data, None
    elif isinstance(data, Dataset4D):
        ds, stack = data, None
    else:
        raise validate.InputTypeError(f"data must be a Dataset4D or a BFStack, got {type(data).__name__}")
    default_ab = ds.aberrations if ds is not None else None
    ab = geometry.check_aberrations(aberrations, default_ab)
    rot = geometry.check_rotation(rotation if rotation is not None else (ds.rotation if ds is not None else 0.0))
    u = validate.integer(upsampling, "upsampling", lo=1)
    options = {}
    if method in ("ssb", "obf", "parallax", "wiener"):
        if stack is None:
            stack = bright_field_stack(ds, precision=precision)
        if method == "wiener":
            img = wiener_direct(stack, ab, rot, u, memory_budget=memory_budget)
        elif method == "parallax":
            img = parallax(stack, ab, rot, u, flip=flip, memory_budget=memory_budget)
            options["flip"] = bool(flip)
        else:
            img = (ssb if method == "ssb" else obf)(stack, ab, rot, u, memory_budget=memory_budget)
        bad, beam, sampling = stack.bad, stack.beam, stack.scan_sampling
        origin = stack.scan_origin
    elif method == "wdd":
        if u != 1:
            raise validate.InputError(f"upsampling must be 1 for WDD, got {upsampling!r}")
        img, bad = wdd_with_report(ds, ab, rot, epsilon, memory_budget=memory_budget, precision=precision)
        options["epsilon"] = float(epsilon)
        beam, sampling, origin = ds.beam, ds.scan_sampling, ds.scan_origin
    elif method == "dpc":
        if u != 1:
            raise validate.InputError(f"upsampling must be 1 for DPC, got {upsampling!r}")
        res = dpc(ds, ab if aberrations is not None else None, rot, descan_order=descan_order,
                  memory_budget=memory_budget)
        img, bad = res.image, res.bad
        options.update(descan_order=descan_order, rotation_source=res.rotation_source)
        beam, sampling, origin = ds.beam, ds.scan_sampling, ds.scan_origin
    else:
        if u != 1:
            raise validate.InputError(f"upsampling must be 1 for iCoM, got {upsampling!r}")
        field, bad = com_field_with_report(ds, descan_order, rot, memory_budget=memory_budget)
        img = icom(field, ds.scan_sampling)
        options["descan_order"] = descan_order
        beam, sampling, origin = ds.beam, ds.scan_sampling, ds.scan_origin
    # pixel (0, 0) of the phase image is the first scan position (the dataset's scan_origin)
    axes = (Axis("y", sampling[0] / u, "Å", origin[0]), Axis("x", sampling[1] / u, "Å", origin[1]))
    md = {"quantity": "phase", "units": "rad", "title": f"{method.upper()} phase", "method": method,
          "rotation": {"value": float(rot), "units": "rad"}, "upsampling": u,
          "aberrations": {k: {"value": float(v), "units": "rad" if k.startswith("phi") else "Å"}
                          for k, v in ab.to_dict().items() if float(np.asarray(v))},
          "bad_data": bad.to_dict(), **options}
    if beam is not None:
        md["energy"] = {"value": beam.energy, "units": "eV"}
        md["beam"] = beam.to_dict()
    return Measurement(img, axes, md)
