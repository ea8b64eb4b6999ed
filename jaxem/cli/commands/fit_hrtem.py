"""``jaxem fit-hrtem``: fit an HRTEM image of BaTiO3/SrTiO3 [001] (or a synthetic one) by the hybrid
TuRBO + L-BFGS workflow and write the fitted parameters as JSON (atomically).

Usage::

    jaxem fit-hrtem CONFIG.toml            # [problem], [start], [fit] tables (below)
    jaxem fit-hrtem --synthetic --out fit.json
    jaxem fit-hrtem --image img.npy --sampling 0.1 --crystal BaTiO3 --cells 3 --repeats 8 \\
        --defocus 100 --cs -120000 --thickness 20 --out fit.json

TOML schema: ``[problem]`` synthetic (bool) | image (path to .npy, (ny, nx) on the model grid),
crystal ('BaTiO3' | 'SrTiO3'), cells, repeats, sampling [Å], energy [eV], method, focal_spread [Å];
``[start]`` defocus [Å], Cs [Å], A1 = [x, y] [Å], thickness [Å]; ``[fit]`` bo_budget, batch,
grad_steps, loss ('l2' | 'ncc' | 'ssim'), windows = {defocus = 100.0, ...}.
"""
from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("fit-hrtem", help="fit an HRTEM image (BO for imaging parameters, gradients for columns)")
    p.add_argument("config", nargs="?", help="TOML file (see the module docstring)")
    p.add_argument("--synthetic", action="store_true", help="fit the built-in synthetic BaTiO3 [001] problem")
    p.add_argument("--image", help=".npy image on the model grid")
    p.add_argument("--sampling", type=float, help="image pixel size [Å]")
    p.add_argument("--crystal", default="BaTiO3", choices=["BaTiO3", "SrTiO3"])
    p.add_argument("--cells", type=int, default=3)
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--energy", type=float, default=300e3, help="[eV]")
    p.add_argument("--defocus", type=float, help="start Δf [Å]")
    p.add_argument("--cs", type=float, help="start Cs [Å]")
    p.add_argument("--thickness", type=float, help="start thickness [Å]")
    p.add_argument("--focal-spread", type=float, default=20.0, help="rms focal spread [Å] (held fixed)")
    p.add_argument("--bo-budget", type=int, default=120)
    p.add_argument("--grad-steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--out", default="hrtem_fit.json", help="output JSON")
    p.set_defaults(func=run)


def _config_from_args(args) -> dict:
    cfg = {"problem": {}, "start": {}, "fit": {}}
    if args.config:
        import tomllib

        with open(args.config, "rb") as f:
            cfg.update(tomllib.load(f))
    pr, st, fi = cfg.setdefault("problem", {}), cfg.setdefault("start", {}), cfg.setdefault("fit", {})
    if args.synthetic:
        pr["synthetic"] = True
    for key, val in (("image", args.image), ("sampling", args.sampling)):
        if val is not None:
            pr[key] = val
    pr.setdefault("crystal", args.crystal)
    pr.setdefault("cells", args.cells)
    pr.setdefault("repeats", args.repeats)
    pr.setdefault("energy", args.energy)
    pr.setdefault("focal_spread", args.focal_spread)
    for key, val in (("defocus", args.defocus), ("Cs", args.cs), ("thickness", args.thickness)):
        if val is not None:
            st[key] = val
    fi.setdefault("bo_budget", args.bo_budget)
    fi.setdefault("grad_steps", args.grad_steps)
    fi.setdefault("batch", args.batch)
    return cfg


def build(cfg: dict):
    """(model, data, start params, truth or None) from a config dict; clear errors for bad input."""
    import jax.numpy as jnp
    import numpy as np

    from ...hrtem.model import HRTEMModel
    from ...optics import Aberrations
    from ...structure import crystals

    pr, st = cfg["problem"], cfg["start"]
    if pr.get("synthetic"):
        from ...hrtem.synthetic import batio3_problem

        p = batio3_problem(cells=int(pr.get("cells", 3)), repeats=int(pr.get("repeats", 8)),
                           sampling=float(pr.get("sampling", 0.1)))
        start = dict(p.start)
        for k, v in st.items():
            start[k] = jnp.asarray(v, p.model.dtype)
        return p.model, p.data, start, p.truth
    if "image" not in pr:
        raise ValueError("give an image (--image / [problem] image) or --synthetic")
    if "sampling" not in pr:
        raise ValueError("the image sampling [Å] is required (--sampling / [problem] sampling)")
    image = np.load(pr["image"])
    name = pr.get("crystal", "BaTiO3")
    if name not in ("BaTiO3", "SrTiO3"):
        raise ValueError(f"crystal must be 'BaTiO3' or 'SrTiO3', got {name!r}")
    s = getattr(crystals, name)().repeat(int(pr["cells"]), int(pr["cells"]), int(pr["repeats"]))
    model = HRTEMModel(s, float(pr["energy"]), sampling=float(pr["sampling"]), method=pr.get("method", "envelope"))
    data = model.check_data(image, pr["sampling"])
    start = model.default_params(Aberrations(C10=-float(st.get("defocus", 0.0)), C30=float(st.get("Cs", 0.0))),
                                 thickness=st.get("thickness"), focal_spread=float(pr.get("focal_spread", 20.0)))
    if "A1" in st:
        start["A1"] = jnp.asarray(st["A1"], model.dtype)
    model.check_params(start)
    return model, data, start, None


def run(args):
    import numpy as np

    from ...hrtem.synthetic import errors
    from ...hrtem.workflow import fit_stepwise
    from ...io import atomic_write_text

    cfg = _config_from_args(args)
    model, data, start, truth = build(cfg)
    fi = cfg["fit"]
    r = fit_stepwise(model, data, start, bo_budget=int(fi["bo_budget"]), batch=int(fi["batch"]),
                     grad_steps=int(fi["grad_steps"]), loss=fi.get("loss", "l2"),
                     windows=fi.get("windows", {"defocus": 100.0, "Cs": 5e4, "A1": 40.0}))
    out = {"loss": r.loss, "units": {"defocus": "Å", "Cs": "Å", "A1": "Å", "thickness": "Å", "xy": "Å"},
           "params": {k: np.asarray(v).tolist() for k, v in r.params.items()},
           "history": [list(h) for h in r.history]}
    if truth is not None:
        out["errors"] = errors(model, r.params, truth)
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    print(f"loss {r.loss:.5g}; defocus {float(r.params['defocus']):.2f} Å, Cs {float(r.params['Cs']):.1f} Å, "
          f"thickness {float(r.params['thickness']):.2f} Å -> {args.out}")
    if truth is not None:
        print("errors vs truth:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out["errors"].items()})
    return 0
