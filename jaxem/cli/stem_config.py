"""``jaxem simulate CONFIG.toml`` with a ``[stem]`` section: a resumable 4D-STEM scan.

Schema of the section (the other sections as in :mod:`jaxem.cli.simulate_config`)::

    [stem]
    semi_angle = 20.0          # probe convergence semi-angle [mrad]
    scan_gpts = [32, 32]       # probe positions (y, x)
    scan_start = [0.0, 0.0]    # first position (y, x) [Å]
    scan_end = [3.905, 3.905]  # far corner (y, x) [Å], excluded (default: the cell)
    max_angle = 40.0           # pixelated detector: patterns up to this angle [mrad]
    haadf = [70.0, 200.0]      # annular detector (inner, outer) [mrad] (optional)
    haadf_weighting = "centre" # its pixel weights: "centre" (default) or "fraction" (area inside the
                               # annulus; jaxem.stem.AnnularDetector(weighting=)); needs haadf
    thermal = "einstein"       # frozen phonons (optional), with n_configs
    n_configs = 8
    block_rows = 4             # scan rows per block (default from the memory budget)
    memory_budget = "2G"       # bytes per batched computation (CLI --memory-budget wins)

The run folder ``[output] path`` gets ``4dstem.zarr`` (the one 4D-STEM layout), ``haadf.zarr``,
``summary.json`` and ``jaxem-run.json``, swapped in whole at the end. Until then the scan is built
block by block in ``.<path>.scan.zarr.resume`` beside it: a killed run continues with ``--resume``
(only the missing blocks are computed; the output is identical to an uninterrupted run).
``--dry-run`` prints the memory estimate and stops.
"""
from __future__ import annotations

import json
import os

from ..validate import InputError
from .simulate_config import (RUN_MANIFEST, _check_replaceable, _check_table, _integer, _number, _string, _vector,
                              build_structure, output_dir, read_toml, stamp, validate_config)

SCHEMA = {"semi_angle": _number(0.0, lo_open=True, units="mrad"),
          "scan_gpts": _vector(2, _integer(1), "positive integers (y, x)"),
          "scan_start": _vector(2, _number(units="Å"), "numbers [Å]"),
          "scan_end": _vector(2, _number(units="Å"), "numbers [Å]"),
          "max_angle": _number(0.0, lo_open=True, units="mrad"),
          "haadf": _vector(2, _number(0.0, units="mrad"), "numbers [mrad] (inner, outer)"),
          "haadf_weighting": _string(("centre", "fraction")),  # = jaxem.stem.WEIGHTINGS (stem is imported lazily)
          "thermal": _string(("einstein",)), "n_configs": _integer(1), "block_rows": _integer(1),
          "memory_budget": _string(), "precision": _string()}
REQUIRED = ("semi_angle", "scan_gpts", "max_angle")


def check_stem_config(path, raw: dict, digest: str) -> dict:
    """Check an already parsed config with a [stem] section (``read_toml``'s output; errors name the key)."""
    raw = dict(raw)
    stem = raw.pop("stem")
    if "hrtem" in raw:
        raise InputError(f"{path}: [stem] and [hrtem] are separate runs; use two configs")
    cfg = validate_config(raw, str(path))
    cfg["stem"] = _check_table("[stem]", stem, SCHEMA)
    for key in REQUIRED:
        if key not in cfg["stem"]:
            raise InputError(f"[stem] in {path} needs {key!r}")
    if "haadf_weighting" in cfg["stem"] and "haadf" not in cfg["stem"]:
        raise InputError(f"[stem] haadf_weighting in {path} weights the annular detector's pixels: it needs "
                         f"haadf = [inner, outer] [mrad]")
    return stamp(cfg, path, digest)


def load_stem_config(path) -> dict:
    """Read and check a config with a [stem] section (errors name the key)."""
    path, raw, digest = read_toml(path)
    if "stem" not in raw:
        raise InputError(f"{path} has no [stem] section (a plane-wave run: jaxem.cli.simulate_config.load_config)")
    return check_stem_config(path, raw, digest)


def _setup(cfg, memory_budget):
    from ..beam import Beam
    from ..potential import potential
    from ..stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation

    s = cfg["stem"]
    structure = build_structure(cfg["structure"], cfg["_base"])
    pcfg = dict(cfg["potential"])
    pot = potential(structure, sampling=pcfg.pop("sampling", None), gpts=pcfg.pop("gpts", None),
                    precision=s.get("precision"), **pcfg)
    b = cfg["beam"]
    beam = Beam(b["energy"], tilt=tuple(b.get("tilt", (0.0, 0.0))))
    dets = [PixelatedDetector(s["max_angle"], 1)]
    if "haadf" in s:
        dets.append(AnnularDetector(s["haadf"][0], s["haadf"][1], "HAADF",
                                    weighting=s.get("haadf_weighting", "centre")))
    sim = STEMSimulation(beam, s["semi_angle"], tuple(dets))
    scan = GridScan.create(tuple(s.get("scan_start", (0.0, 0.0))), tuple(s.get("scan_end", pot.grid.extent)),
                           gpts=tuple(s["scan_gpts"]))
    kwargs = {"memory_budget": memory_budget or s.get("memory_budget"), "precision": s.get("precision")}
    if s.get("thermal"):
        kwargs.update(thermal=s["thermal"], n_configs=s.get("n_configs", 8), structure=structure)
    elif "n_configs" in s:
        raise InputError("[stem] n_configs is only used with thermal = \"einstein\"")
    return sim, scan, pot, {k: v for k, v in kwargs.items() if v is not None}


def run_stem_config(cfg: dict, *, resume: bool = False, dry_run: bool = False, memory_budget=None,
                    progress: bool = True) -> dict:
    """Run (or, with ``dry_run``, estimate) the scan of a loaded config; returns {name: path}."""
    from .. import __version__
    from ..atomic import atomic_path
    from ..io import save
    from ..parallel.estimate import estimate_stem
    from ..stem.store import stem_scan_to_zarr

    outdir = output_dir(cfg)
    _check_replaceable(outdir)
    sim, scan, pot, kwargs = _setup(cfg, memory_budget)
    est = estimate_stem(sim, scan, pot, block_rows=cfg["stem"].get("block_rows"), **kwargs)
    print(est.report(), flush=True)
    if dry_run:
        return {}
    store = outdir.with_name(f".{outdir.name}.scan.zarr")
    counts = {"computed": 0, "resumed": 0}

    def count(block, rows, computed):
        counts["computed" if computed else "resumed"] += 1

    other = stem_scan_to_zarr(store, sim, scan, pot, resume=resume, block_rows=cfg["stem"].get("block_rows"),
                              on_block=count, progress=progress, **kwargs)
    files = {"4dstem": "4dstem.zarr"}
    with atomic_path(outdir, is_dir=True) as tmp:
        os.replace(store, tmp / files["4dstem"])
        for name, m in other.items():
            files[name.lower()] = f"{name.lower()}.zarr"
            save(m, tmp / files[name.lower()])
        summary = {"blocks": {"total": counts["computed"] + counts["resumed"], **counts},
                   "scan": scan.to_dict(), "beam": sim.beam.to_dict(), "files": files,
                   "memory_estimate": {"peak": est.peak, "budget": est.budget, "units": "bytes"}}
        files["summary"] = "summary.json"
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        (tmp / RUN_MANIFEST).write_text(json.dumps({"jaxem_version": __version__, "complete": True,
                                                    "config_sha256_16": cfg.get("_hash"),
                                                    "files": sorted(files.values())}, indent=2))
    print(f"blocks: {counts['computed']} computed, {counts['resumed']} resumed of "
          f"{counts['computed'] + counts['resumed']}", flush=True)
    return {k: outdir / v for k, v in files.items()}
