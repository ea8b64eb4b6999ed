"""Simulation described by a TOML file (``jaxem simulate CONFIG.toml``).

Schema (units in brackets)::

    [structure]                 # one of: crystal / file / atoms
    crystal = "SrTiO3"          # a built-in crystal (jaxem.structure.crystals)
    file = "cell.cif"           # or any file ASE reads (relative to the TOML file)
    zone_axis = [0, 0, 1]       # optional orientation [uvw]
    repeat = [4, 4, 10]         # supercell (x, y, z)
    B = { Sr = 0.6, O = 0.7 }   # optional Debye–Waller factors [Å²] per species
    # atoms = [{symbol = "Au", position = [5, 5, 1]}], cell = [10, 10, 2]

    [potential]
    sampling = 0.05             # [Å]
    slice_thickness = 1.0       # [Å]
    parametrization = "lobato"  # or "kirkland"
    debye_waller = false

    [beam]
    energy = 300e3              # [eV]
    tilt = [0.0, 0.0]           # (y, x) [mrad]

    [output]
    path = "results"            # folder; files are written atomically
    exit_planes = 0             # 0: exit wave only; N: every N slices
    diffraction_max_angle = 60  # [mrad]

    [hrtem]                     # optional: HRTEM image with partial coherence
    defocus = 100.0             # Δf [Å] (C10 = −Δf); any Aberrations field also accepted (C30 = Cs …)
    objective_aperture = 20.0   # [mrad]
    focal_spread = 30.0         # [Å]
    source_angle = 0.2          # [mrad]
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path


_SECTIONS = {"structure", "potential", "beam", "output", "hrtem"}


def load_config(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path} as TOML: {exc}") from None
    unknown = set(cfg) - _SECTIONS
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)} in {path}; expected {sorted(_SECTIONS)}")
    for required in ("structure", "potential", "beam"):
        if required not in cfg:
            raise ValueError(f"{path} needs a [{required}] section")
    cfg["_base"] = str(path.parent)
    return cfg


def build_structure(section: dict, base: str):
    from ..structure import Structure

    sources = [k for k in ("crystal", "file", "atoms") if k in section]
    if len(sources) != 1:
        raise ValueError(f"[structure] needs exactly one of crystal / file / atoms, got {sources}")
    B = section.get("B")
    if "crystal" in section:
        from ..structure import crystals

        s = crystals.crystal(section["crystal"])
        if B is not None:
            s = Structure.create(s.positions, s.numbers, s.cell, B=B, occupancy=s.occupancy)
    elif "file" in section:
        import ase.io

        f = Path(base) / section["file"]
        if not f.is_file():
            raise FileNotFoundError(f"[structure] file not found: {f}")
        s = Structure.from_ase(ase.io.read(f), B=B)
    else:
        atoms = section["atoms"]
        if "cell" not in section:
            raise ValueError("[structure] atoms need a cell = [Lx, Ly, Lz] [Å]")
        s = Structure.create([a["position"] for a in atoms], [a["symbol"] for a in atoms], section["cell"],
                             B=[a.get("B", 0.0) for a in atoms] if B is None else B)
    if "zone_axis" in section:
        from ..structure import zone_axis

        s = zone_axis(s, section["zone_axis"])
    if "repeat" in section:
        s = s.repeat(*section["repeat"])
    return s


def run_config(cfg: dict, progress: bool = True) -> dict:
    """Run the simulation of a loaded config; returns {name: path} of what was written."""
    import jax.numpy as jnp
    from tqdm.auto import tqdm

    from ..io import atomic_write_text, save
    from ..optics import Aberrations
    from ..potential import potential
    from ..propagate import diffraction_pattern, intensity, multislice, plane_wave

    steps = tqdm(total=4, desc="jaxem simulate", disable=not progress)
    structure = build_structure(cfg["structure"], cfg["_base"])
    pcfg = dict(cfg["potential"])
    pot = potential(structure, sampling=pcfg.pop("sampling", None), gpts=pcfg.pop("gpts", None), **pcfg)
    steps.update()
    beam = cfg["beam"]
    if "energy" not in beam:
        raise ValueError("[beam] needs energy [eV]")
    out_cfg = cfg.get("output", {})
    exit_planes = int(out_cfg.get("exit_planes", 0)) or None
    waves = multislice(plane_wave(pot.grid, beam["energy"], tilt=beam.get("tilt", (0.0, 0.0))), pot,
                       exit_planes=exit_planes)
    steps.update()
    outdir = Path(cfg["_base"]) / out_cfg.get("path", "results")
    outdir.mkdir(parents=True, exist_ok=True)
    batch = ["thickness"] if exit_planes else None
    written = {
        "exit_intensity": save(intensity(waves, batch_axes=batch), outdir / "exit_intensity.zarr"),
        "diffraction": save(diffraction_pattern(waves, max_angle=out_cfg.get("diffraction_max_angle"),
                                                batch_axes=batch), outdir / "diffraction.zarr"),
    }
    steps.update()
    if "hrtem" in cfg:
        from ..measurement import real_space_axes, Axis, Measurement
        from ..optics.imaging import hrtem_image

        h = dict(cfg["hrtem"])
        kw = {k: h.pop(k) for k in ("objective_aperture", "focal_spread", "source_angle", "image_spread", "method")
              if k in h}
        img = hrtem_image(waves.array, pot.grid, beam["energy"], Aberrations.create(**h), **kw)
        axes = tuple(Axis("thickness") for _ in range(img.ndim - 2)) + real_space_axes(pot.grid)
        written["hrtem"] = save(Measurement(img, axes, {"energy": beam["energy"], **cfg["hrtem"]}),
                                outdir / "hrtem_image.zarr")
    summary = {"grid": {"gpts": list(pot.grid.gpts), "sampling": list(pot.grid.sampling)},
               "n_slices": pot.n_slices, "thickness_A": pot.thickness, "n_atoms": len(structure),
               "transmitted_fraction": float(jnp.mean(jnp.abs(waves.array[..., :, :]) ** 2)),
               "files": {k: str(v) for k, v in written.items()}}
    atomic_write_text(outdir / "summary.json", json.dumps(summary, indent=2))
    steps.update()
    steps.close()
    written["summary"] = outdir / "summary.json"
    return written
