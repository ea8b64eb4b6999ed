"""``jaxem fit-hrtem``: fit an HRTEM image of BaTiO3/SrTiO3 [001] (or a synthetic one) by the hybrid
TuRBO + L-BFGS workflow and write the fitted parameters, with units, as JSON (atomically).

Usage::

    jaxem fit-hrtem CONFIG.toml            # [problem], [start], [fit] tables (below)
    jaxem fit-hrtem --synthetic --out fit.json
    jaxem fit-hrtem --image img.dm4 --crystal BaTiO3 --cells 3 --repeats 8 \\
        --defocus 100 --cs -120000 --thickness 20 --out fit.json

The image is any 2-D image rosettasciio reads (.dm3/.dm4, .tif, .emd, .hspy, .mrc, .ser …) or a .npy
array; its pixel calibration is read from the file (``--sampling`` [Å] for files without one). Its
field of view must be the model supercell (``cells`` × ``cells`` unit cells) within
``--fov-tolerance`` (default 2 %); the model grid has the image's pixels, or ``--model-sampling``
[Å], in which case the image is Fourier-resampled onto the model grid (both reported in the output).

TOML schema (every key checked; an unknown key names the closest valid one)::

    [problem]
    synthetic = false         # fit the built-in synthetic BaTiO3 problem instead of an image
                              # (its pixel size: model_sampling or sampling, default 0.1 Å)
    image = "img.dm4"         # path (relative to the TOML file)
    signal = 0                # which signal of a multi-signal file (index or title)
    sampling = 0.1            # [Å] pixel size, for files without a calibration
    model_sampling = 0.1      # [Å] model pixel size (default: the image's pixels)
    fov_tolerance = 0.02      # accepted relative field-of-view mismatch
    crystal = "BaTiO3"        # or "SrTiO3"
    cells = 3                 # unit cells along x and y in the image
    repeats = 8               # unit cells along the beam (largest thickness)
    energy = 300e3            # [eV] or "300 kV"
    method = "envelope"       # partial-coherence model
    focal_spread = 20.0       # [Å] rms (held fixed)
    [start]                   # any HRTEMParams field, e.g. defocus [Å], Cs [Å], A1 = [x, y] [Å], thickness [Å]
    [fit]
    bo_max_evaluations = 120  # TuRBO image evaluations
    batch = 8
    grad_steps = 40
    loss = "l2"               # "l2" | "ncc" | "ssim"
    windows = { defocus = 100.0, Cs = 5e4, A1 = 40.0 }   # BO half-widths [parameter units]
"""
from __future__ import annotations

import json
from pathlib import Path

DEFAULTS = {
    "problem": {"synthetic": False, "image": None, "signal": None, "sampling": None, "model_sampling": None,
                "fov_tolerance": 0.02, "crystal": "BaTiO3", "cells": 3, "repeats": 8, "energy": 300e3,
                "method": "envelope", "focal_spread": 20.0},
    "start": {},
    "fit": {"bo_max_evaluations": 120, "batch": 8, "grad_steps": 40, "loss": "l2",
            "windows": {"defocus": 100.0, "Cs": 5e4, "A1": 40.0}},
}
CRYSTALS = ("BaTiO3", "SrTiO3")


def register(sub):
    from ..args import (energy_ev, finite_length, length_angstrom, nonnegative_float, nonnegative_length,
                        positive_int)

    p = sub.add_parser("fit-hrtem", help="fit an HRTEM image (BO for imaging parameters, gradients for columns)")
    p.add_argument("config", nargs="?", help="TOML file (see the module docstring)")
    p.add_argument("--synthetic", action="store_true", default=None,
                   help="fit the built-in synthetic BaTiO3 [001] problem")
    p.add_argument("--image", help="image file (.dm3/.dm4, .tif, .emd, .hspy, .mrc, .npy …)")
    p.add_argument("--signal", help="signal of a multi-signal file (index or title)")
    p.add_argument("--sampling", type=length_angstrom, help="image pixel size [Å] for files without a calibration")
    p.add_argument("--model-sampling", type=length_angstrom, help="model pixel size [Å] (default: the image's pixels)")
    p.add_argument("--fov-tolerance", type=nonnegative_float,
                   help="accepted relative field-of-view mismatch (default 0.02)")
    p.add_argument("--crystal", help=f"one of {', '.join(CRYSTALS)} (default BaTiO3)")
    p.add_argument("--cells", type=positive_int, help="unit cells along x and y in the image (default 3)")
    p.add_argument("--repeats", type=positive_int, help="unit cells along the beam (default 8)")
    p.add_argument("--energy", type=energy_ev, help="[eV] or e.g. '300 kV' (default 300 kV)")
    p.add_argument("--defocus", type=finite_length, help="start Δf [Å]")
    p.add_argument("--cs", type=finite_length, help="start Cs [Å]")
    p.add_argument("--thickness", type=length_angstrom, help="start thickness [Å]")
    p.add_argument("--focal-spread", type=nonnegative_length, help="rms focal spread [Å] (held fixed; default 20)")
    p.add_argument("--bo-max-evaluations", type=positive_int, help="TuRBO image evaluations (default 120)")
    p.add_argument("--grad-steps", type=positive_int, help="L-BFGS steps (default 40)")
    p.add_argument("--batch", type=positive_int, help="TuRBO batch size (default 8)")
    p.add_argument("--out", default="hrtem_fit.json", help="output JSON")
    p.set_defaults(func=run)


def _check_keys(table: dict, known, where: str) -> None:
    from ...validate import InputError, InputTypeError, closest

    if not isinstance(table, dict):
        raise InputTypeError(f"{where} must be a table, got {type(table).__name__}")
    for key in table:
        if key not in known:
            hint = closest(key, known)
            raise InputError(f"unknown key {key!r} in {where}; valid keys: {', '.join(known)}"
                             + (f" (did you mean {hint!r}?)" if hint else ""))


def _config_from_args(args) -> dict:
    """The configuration: built-in defaults < TOML file < command-line options (keys checked)."""
    import tomllib

    from ... import validate

    cfg = {k: dict(v) for k, v in DEFAULTS.items()}
    base = Path(".")
    if args.config:
        path = validate.path(args.config, "config", kind="file")
        with validate.reading(path, "TOML configuration"), open(path, "rb") as f:
            user = tomllib.load(f)
        _check_keys(user, tuple(DEFAULTS), f"{path}")
        for section, table in user.items():
            _check_keys(table, tuple(DEFAULTS[section]) if section != "start" else tuple(table), f"[{section}]")
            cfg[section].update(table)
        base = path.parent
        if isinstance(cfg["problem"].get("image"), str):
            cfg["problem"]["image"] = str(base / cfg["problem"]["image"])
    pr, st, fi = cfg["problem"], cfg["start"], cfg["fit"]
    for key, val in (("synthetic", args.synthetic), ("image", args.image), ("signal", args.signal),
                     ("sampling", args.sampling), ("model_sampling", args.model_sampling),
                     ("fov_tolerance", args.fov_tolerance), ("crystal", args.crystal), ("cells", args.cells),
                     ("repeats", args.repeats), ("energy", args.energy), ("focal_spread", args.focal_spread)):
        if val is not None:
            pr[key] = val
    for key, val in (("defocus", args.defocus), ("Cs", args.cs), ("thickness", args.thickness)):
        if val is not None:
            st[key] = val
    for key, val in (("bo_max_evaluations", args.bo_max_evaluations), ("grad_steps", args.grad_steps),
                     ("batch", args.batch)):
        if val is not None:
            fi[key] = val
    return _validated(cfg)


def _validated(cfg: dict) -> dict:
    """Types and ranges of every key (names the key, the value and the expected range)."""
    import numpy as np

    from ... import pytree, validate
    from ...hrtem.params import HRTEMParams
    from ...optics.imaging import METHODS

    pr, fi = cfg["problem"], cfg["fit"]
    if not isinstance(pr["synthetic"], bool):
        raise validate.InputTypeError(f"[problem] synthetic must be true or false, got {pr['synthetic']!r}")
    pr["crystal"] = validate.choice(pr["crystal"], "[problem] crystal (--crystal)", CRYSTALS)
    pr["cells"] = validate.integer(_num(pr["cells"]), "[problem] cells (--cells)", lo=1, hi=64)
    pr["repeats"] = validate.integer(_num(pr["repeats"]), "[problem] repeats (--repeats)", lo=1, hi=512)
    pr["energy"] = validate.scalar(_num(pr["energy"]), "[problem] energy (--energy)", "eV", positive=True)
    pr["method"] = validate.choice(pr["method"], "[problem] method", METHODS)
    pr["focal_spread"] = validate.scalar(_num(pr["focal_spread"]), "[problem] focal_spread (--focal-spread)", "Å",
                                         nonnegative=True)
    pr["fov_tolerance"] = validate.scalar(_num(pr["fov_tolerance"]), "[problem] fov_tolerance (--fov-tolerance)",
                                          lo=0.0, hi=0.2)
    for key, flag in (("sampling", "--sampling"), ("model_sampling", "--model-sampling")):
        if pr[key] is not None:
            pr[key] = validate.scalar(_num(pr[key]), f"[problem] {key} ({flag})", "Å", positive=True)
    if isinstance(pr["signal"], str) and pr["signal"].strip().lstrip("-").isdigit():
        pr["signal"] = int(pr["signal"])
    units = pytree.units_of(HRTEMParams)
    for k, v in cfg["start"].items():
        v = _num(v) if isinstance(v, str) else v
        flag = {"defocus": " (--defocus)", "Cs": " (--cs)", "thickness": " (--thickness)"}.get(k, "")
        if k in units:  # unknown names are reported by the parameter set (closest field)
            cfg["start"][k] = (validate.scalar(v, f"[start] {k}{flag}", units[k]) if np.ndim(v) == 0 and not
                               isinstance(v, list) else validate.array(v, f"[start] {k}", kind="real", units=units[k]))
    fi["bo_max_evaluations"] = validate.integer(_num(fi["bo_max_evaluations"]),
                                                "[fit] bo_max_evaluations (--bo-max-evaluations)", lo=1)
    fi["grad_steps"] = validate.integer(_num(fi["grad_steps"]), "[fit] grad_steps (--grad-steps)", lo=1)
    fi["batch"] = validate.integer(_num(fi["batch"]), "[fit] batch (--batch)", lo=1)
    fi["loss"] = validate.choice(fi["loss"], "[fit] loss", ("l2", "ncc", "ssim"))
    if not isinstance(fi["windows"], dict):
        raise validate.InputTypeError(f"[fit] windows must be a table of half-widths, got {fi['windows']!r}")
    return cfg


def _num(v):
    """A number from a command-line string (plain numbers only; units are parsed where a key has them)."""
    if isinstance(v, str):
        try:
            return float(v) if any(c in v for c in ".eE") or "inf" in v.lower() or "nan" in v.lower() else int(v)
        except ValueError:
            return v
    return v


def build(cfg: dict):
    """(model, data (ny, nx), start params, truth or None, image info) from a checked configuration."""
    import jax.numpy as jnp

    from ... import validate
    from ...beam import Beam
    from ...hrtem.data import image_on_model_grid
    from ...io.images import read_image
    from ...hrtem.model import HRTEMModel
    from ...hrtem.params import from_mapping
    from ...optics import Aberrations
    from ...structure import crystals

    pr, st = cfg["problem"], cfg["start"]
    if pr["synthetic"]:
        from ...hrtem.synthetic import batio3_problem

        sampling = next((v for v in (pr["model_sampling"], pr["sampling"]) if v is not None), 0.1)
        p = batio3_problem(cells=pr["cells"], repeats=pr["repeats"], sampling=sampling, beam=pr["energy"])
        start = from_mapping(p.start, {k: jnp.asarray(v, p.model.dtype) for k, v in st.items()}, "[start]")
        p.model.check_params(start, "[start]")
        return p.model, p.data, start, p.truth, {"synthetic": True}
    if pr["image"] is None:
        raise validate.InputError("give an image (--image / [problem] image) or --synthetic")
    image = read_image(pr["image"], signal=pr["signal"], sampling=pr["sampling"])
    s = getattr(crystals, pr["crystal"])().repeat(pr["cells"], pr["cells"], pr["repeats"])
    beam = Beam(pr["energy"])
    if pr["model_sampling"] is None:
        model = HRTEMModel(s, beam, gpts=image.shape, method=pr["method"])
    else:
        model = HRTEMModel(s, beam, sampling=pr["model_sampling"], method=pr["method"])
    on_grid = image_on_model_grid(model, image, tolerance=pr["fov_tolerance"])
    data = model.check_data(on_grid)
    base = {k: st[k] for k in ("defocus", "Cs", "thickness") if k in st}
    start = model.default_params(Aberrations(C10=-float(base.get("defocus", 0.0)), C30=float(base.get("Cs", 0.0))),
                                 thickness=base.get("thickness"), focal_spread=pr["focal_spread"])
    start = from_mapping(start, {k: jnp.asarray(v, model.dtype) for k, v in st.items()}, "[start]")
    model.check_params(start, "[start]")
    info = {k: on_grid.metadata.get(k) for k in ("source", "reader", "signal", "title", "calibration",
                                                 "calibration_scale", "resampled_from", "image_sampling")}
    return model, data, start, None, info


def run(args):
    import numpy as np

    from ... import validate
    from ...hrtem.params import to_json
    from ...hrtem.synthetic import errors
    from ...hrtem.workflow import fit_stepwise
    from ...io import atomic_write_text

    out_path = Path(args.out)
    validate.path(out_path.parent if str(out_path.parent) else Path("."), "--out (its folder)", kind="dir")
    cfg = _config_from_args(args)
    model, data, start, truth, info = build(cfg)
    fi = cfg["fit"]
    r = fit_stepwise(model, data, start, bo_max_evaluations=fi["bo_max_evaluations"], batch=fi["batch"],
                     grad_steps=fi["grad_steps"], loss=fi["loss"], windows=fi["windows"])
    out = {"loss": float(r.loss), "params": to_json(r.params), "beam": model.beam.to_dict(),
           "model": {"crystal": cfg["problem"]["crystal"], "cells": cfg["problem"]["cells"],
                     "repeats": cfg["problem"]["repeats"], "gpts": list(model.gpts),
                     "sampling": {"value": list(model.grid.sampling), "units": "Å"}, "method": model.method},
           "image": info,
           "history": {"columns": ["wall time [s]", "evaluations", "best loss"],
                       "rows": np.asarray(r.history).tolist(), "stage": list(r.stages)}}
    if truth is not None:
        out["errors"] = errors(model, r.params, truth)
    atomic_write_text(out_path, json.dumps(out, indent=1) + "\n")
    p = r.params
    print(f"loss {r.loss:.5g}; defocus {float(p.defocus):.2f} Å, Cs {float(p.Cs):.1f} Å, "
          f"thickness {float(p.thickness):.2f} Å -> {out_path}")
    if info.get("resampled_from"):
        print(f"note: the image ({info['resampled_from'][0]} × {info['resampled_from'][1]} px) was resampled onto "
              f"the model grid {tuple(model.gpts)}")
    if truth is not None:
        print("errors vs truth:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out["errors"].items()})
    return 0
