"""Simulation described by a TOML file (``jaxem simulate CONFIG.toml``).

Schema (units in brackets; every key is checked: an unknown or misspelt key is an error that names
it and the closest valid key, a value of the wrong type names the key and the expected type)::

    [structure]                 # exactly one of: crystal / file / atoms
    crystal = "SrTiO3"          # a built-in crystal (jaxem.structure.crystals)
    file = "cell.cif"           # or any file ASE reads (relative to the TOML file)
    zone_axis = [0, 0, 1]       # optional orientation [uvw]
    repeat = [4, 4, 10]         # supercell (x, y, z), positive integers
    B = { Sr = 0.6, O = 0.7 }   # optional Debye–Waller factors [Å²] per species
    # atoms = [{symbol = "Au", position = [5, 5, 1], B = 0.5}], cell = [10, 10, 2]

    [potential]
    sampling = 0.05             # [Å] (or gpts = [ny, nx])
    slice_thickness = 1.0       # [Å]
    parametrization = "lobato"  # or "kirkland"
    debye_waller = false        # smear the potential by the Debye–Waller factors

    [beam]
    energy = 300e3              # [eV], or a string with units: "300 kV"
    tilt = [0.0, 0.0]           # (y, x) [mrad]

    [output]
    path = "results"            # run folder (relative to the TOML file), swapped in whole at the end
    exit_planes = 0             # 0: exit wave only; N: every N slices (thickness series)
    diffraction_max_angle = 60  # [mrad]

    [hrtem]                     # optional: HRTEM image with partial coherence
    defocus = 100.0             # Δf [Å] (C10 = −Δf); any Aberrations coefficient (C10, C30 = Cs, C12, phi12 …)
    objective_aperture = 20.0   # [mrad]
    focal_spread = 30.0         # [Å]
    source_angle = 0.2          # [mrad]
    method = "focal_average"    # partial-coherence model

A run is atomic: every file goes into a temporary run folder beside ``path`` that replaces the old
folder in one step when the run is complete (``jaxem.atomic``), so ``path`` always holds one whole
run; ``jaxem-run.json`` (written last) lists the files, the parameters with units and a hash of the
configuration. A folder that exists but is not a jaxem run folder is never replaced.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import tomllib
from pathlib import Path

from ..validate import InputError, InputTypeError, closest

RUN_MANIFEST = "jaxem-run.json"

# ---- schema -----------------------------------------------------------------------------------
_NUM = "a number"
_ABERRATIONS = ("C10", "C12", "phi12", "C21", "phi21", "C23", "phi23", "C30", "C32", "phi32", "C34", "phi34",
                "C41", "phi41", "C43", "phi43", "C45", "phi45", "C50", "C52", "phi52", "C54", "phi54", "C56",
                "phi56", "Cs", "C5", "astigmatism", "astigmatism_angle", "coma", "coma_angle")


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(lo=None, lo_open=False, units=""):
    def check(key, v):
        if not _is_num(v):
            raise InputTypeError(f"{key} must be {_NUM}{f' [{units}]' if units else ''}, got {type(v).__name__} {v!r}")
        if not math.isfinite(v):
            raise InputError(f"{key} must be finite{f' [{units}]' if units else ''}, got {v!r}")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise InputError(f"{key} must be {'>' if lo_open else '≥'} {lo:g}{f' {units}' if units else ''}, got {v!r}")
        return float(v)
    check.expected = f"{_NUM}{f' [{units}]' if units else ''}"
    return check


def _integer(lo=None):
    def check(key, v):
        if not isinstance(v, int) or isinstance(v, bool):
            raise InputTypeError(f"{key} must be an integer, got {type(v).__name__} {v!r}")
        if lo is not None and v < lo:
            raise InputError(f"{key} must be ≥ {lo}, got {v}")
        return v
    return check


def _vector(n, item, what):
    def check(key, v):
        if not isinstance(v, list) or len(v) != n:
            raise InputTypeError(f"{key} must be a list of {n} {what}, got {v!r}")
        return [item(f"{key}[{i}]", x) for i, x in enumerate(v)]
    return check


def _string(options=None):
    def check(key, v):
        if not isinstance(v, str):
            raise InputTypeError(f"{key} must be a string, got {type(v).__name__} {v!r}")
        if options is not None and v not in options:
            hint = closest(v, options)
            raise InputError(f"{key} must be one of {', '.join(map(repr, options))}, got {v!r}"
                             + (f" (did you mean {hint!r}?)" if hint else ""))
        return v
    return check


def _bool(key, v):
    if not isinstance(v, bool):
        raise InputTypeError(f"{key} must be true or false, got {v!r}")
    return v


def _energy(key, v):
    from ..validate import scalar

    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise InputTypeError(f"{key} must be a number [eV] or a string with units such as '300 kV', got {v!r}")
    return scalar(v, key, "eV", positive=True)


def _scalar_or_pair(item, what):
    def check(key, v):
        if isinstance(v, list):
            return _vector(2, item, what)(key, v)
        return item(key, v)
    return check


def _species_table(key, v):
    if not isinstance(v, dict):
        raise InputTypeError(f"{key} must be a table {{element = B [Å²]}}, got {v!r}")
    return {el: _number(0.0, units="Å²")(f"{key}.{el}", b) for el, b in v.items()}


def _atoms(key, v):
    if not isinstance(v, list) or not v:
        raise InputTypeError(f"{key} must be a non-empty list of tables {{symbol, position}}, got {v!r}")
    spec = {"symbol": _string(), "position": _vector(3, _number(units="Å"), "numbers [Å]"),
            "B": _number(0.0, units="Å²"), "occupancy": _number(0.0, units="")}
    out = []
    for i, atom in enumerate(v):
        if not isinstance(atom, dict):
            raise InputTypeError(f"{key}[{i}] must be a table {{symbol, position}}, got {atom!r}")
        checked = _check_table(f"{key}[{i}]", atom, spec)
        for req in ("symbol", "position"):
            if req not in checked:
                raise InputError(f"{key}[{i}] needs {req!r}")
        out.append(checked)
    return out


SCHEMA = {
    "structure": {"crystal": _string(), "file": _string(), "atoms": _atoms,
                  "cell": _vector(3, _number(0.0, lo_open=True, units="Å"), "positive numbers [Å]"),
                  "zone_axis": _vector(3, _integer(), "integers"),
                  "repeat": _vector(3, _integer(1), "positive integers (x, y, z)"),
                  "B": _species_table},
    "potential": {"sampling": _scalar_or_pair(_number(0.0, lo_open=True, units="Å"), "numbers [Å]"),
                  "gpts": _scalar_or_pair(_integer(1), "integers"),
                  "slice_thickness": _number(0.0, lo_open=True, units="Å"),
                  "parametrization": _string(("lobato", "kirkland")), "debye_waller": _bool},
    "beam": {"energy": _energy, "tilt": _vector(2, _number(units="mrad"), "numbers [mrad]")},
    "output": {"path": _string(), "exit_planes": _integer(0),
               "diffraction_max_angle": _number(0.0, lo_open=True, units="mrad")},
    "hrtem": {"defocus": _number(units="Å"), "objective_aperture": _number(0.0, lo_open=True, units="mrad"),
              "focal_spread": _number(0.0, units="Å"), "source_angle": _number(0.0, units="mrad"),
              "image_spread": _number(0.0, units="Å"),
              "method": _string(("coherent", "envelope", "focal_average", "explicit", "linear")),
              **{k: _number(units="rad" if k.startswith("phi") or k.endswith("_angle") else "Å") for k in _ABERRATIONS}},
}
REQUIRED = {"structure": (), "potential": (), "beam": ("energy",)}


def _check_table(where: str, table: dict, spec: dict) -> dict:
    out = {}
    for key, value in table.items():
        if key not in spec:
            hint = closest(key, spec)
            raise InputError(f"unknown key {key!r} in {where}" + (f"; did you mean {hint!r}?" if hint else "")
                             + f" (valid keys: {', '.join(sorted(spec))})")
        out[key] = spec[key](f"{where}.{key}" if not where.startswith("[") else f"{where[1:-1]}.{key}", value)
    return out


def validate_config(cfg: dict, source: str = "config") -> dict:
    """Check every section and key of a parsed config against :data:`SCHEMA`; returns a checked copy."""
    out = {}
    for section, table in cfg.items():
        if section not in SCHEMA:
            hint = closest(section, SCHEMA)
            raise InputError(f"unknown section [{section}] in {source}" + (f"; did you mean [{hint}]?" if hint else "")
                             + f" (valid sections: {', '.join(sorted(SCHEMA))})")
        if not isinstance(table, dict):
            raise InputTypeError(f"[{section}] in {source} must be a table, got {table!r}")
        out[section] = _check_table(f"[{section}]", table, SCHEMA[section])
    for section, keys in REQUIRED.items():
        if section not in out:
            raise InputError(f"{source} needs a [{section}] section")
        for key in keys:
            if key not in out[section]:
                raise InputError(f"[{section}] in {source} needs {key!r}")
    s = out["structure"]
    sources = [k for k in ("crystal", "file", "atoms") if k in s]
    if len(sources) != 1:
        raise InputError(f"[structure] needs exactly one of crystal / file / atoms, got {sources or 'none'}")
    if "atoms" in s and "cell" not in s:
        raise InputError("[structure] atoms need a cell = [Lx, Ly, Lz] [Å]")
    if "cell" in s and "atoms" not in s:
        raise InputError("[structure] cell is only used with atoms")
    p = out["potential"]
    if ("sampling" in p) == ("gpts" in p):
        raise InputError("[potential] needs exactly one of sampling [Å] or gpts")
    return out


def read_toml(path):
    """(checked path, parsed TOML dict, SHA-256 of the bytes (16 hex digits)) of a config file.

    The file is read once: the dict and the hash come from the same bytes (a file edited in between
    cannot give a hash of one version and the values of another). Unreadable TOML is an error naming
    the file."""
    from ..validate import path as check_path

    path = check_path(path, "config", kind="file")
    raw = path.read_bytes()
    try:
        return path, tomllib.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()[:16]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as TOML: {exc}") from None


def stamp(cfg: dict, path, digest: str) -> dict:
    """Record where a config came from: its folder (relative paths) and the hash of its bytes."""
    cfg["_base"] = str(path.parent)
    cfg["_hash"] = digest
    return cfg


def check_config(path, raw: dict, digest: str) -> dict:
    """Validate an already parsed plane-wave/HRTEM config (``read_toml``'s output)."""
    return stamp(validate_config(raw, str(path)), path, digest)


def load_config(path) -> dict:
    """Read and validate a TOML config (errors name the file, the key and the expected value)."""
    return check_config(*read_toml(path))


def load_any_config(path) -> dict:
    """Read a config once and check it with the schema its sections call for: a ``[stem]`` section
    makes it a 4D-STEM scan (:func:`jaxem.cli.stem_config.check_stem_config`), otherwise a
    plane-wave/HRTEM run. Dispatch on ``"stem" in cfg`` afterwards."""
    path, raw, digest = read_toml(path)
    if "stem" in raw:
        from .stem_config import check_stem_config

        return check_stem_config(path, raw, digest)
    return check_config(path, raw, digest)


def build_structure(section: dict, base: str):
    from ..structure import Structure

    B = section.get("B")
    if "crystal" in section:
        from ..structure import crystals

        s = crystals.crystal(section["crystal"])
        if B is not None:
            s = Structure.create(s.positions, s.numbers, s.cell, B=B, occupancy=s.occupancy)
    elif "file" in section:
        import ase.io

        from ..validate import path as check_path, reading

        f = check_path(Path(base) / section["file"], "[structure] file", kind="file")
        with reading(f, "structure file"):
            atoms = ase.io.read(f)
        s = Structure.from_ase(atoms, B=B)
    else:
        atoms = section["atoms"]
        s = Structure.create([a["position"] for a in atoms], [a["symbol"] for a in atoms], section["cell"],
                             B=[a.get("B", 0.0) for a in atoms] if B is None else B,
                             occupancy=[a.get("occupancy", 1.0) for a in atoms])
    if "zone_axis" in section:
        from ..structure import zone_axis

        s = zone_axis(s, section["zone_axis"])
    if "repeat" in section:
        s = s.repeat(*section["repeat"])
    return s


def _pause_for_tests(stage: str) -> None:
    """Test hook: ``JAXEM_TEST_RUN_PAUSE=seconds`` sleeps after each file so kill tests can interrupt
    a run between files (prints the stage to stderr first)."""
    pause = os.environ.get("JAXEM_TEST_RUN_PAUSE")
    if pause:
        import sys

        print(f"jaxem-run-stage {stage}", file=sys.stderr, flush=True)
        time.sleep(float(pause))


def output_dir(cfg: dict) -> Path:
    return Path(cfg["_base"]) / cfg.get("output", {}).get("path", "results")


def _check_replaceable(outdir: Path) -> None:
    if outdir.exists():
        if not outdir.is_dir():
            raise NotADirectoryError(f"[output] path {outdir} exists and is a file; a run writes a folder")
        if any(outdir.iterdir()) and not (outdir / RUN_MANIFEST).is_file():
            raise InputError(f"[output] path {outdir} exists and is not a jaxem run folder (no {RUN_MANIFEST}); "
                             f"choose another path or remove it (a run replaces its folder whole)")


def _q(value, units):
    return {"value": value, "units": units}


def _check_against_grid(cfg: dict, pot, beam, exit_planes) -> None:
    """The physical ranges of the configuration on the potential's grid, named by their keys."""
    from ..optics import Aberrations
    from ..optics._checks import check_aberrations
    from ..optics.apertures import as_aperture, check_on_grid
    from ..optics.ctf import check_coherence
    from ..propagate.multislice import exit_slice_counts

    try:
        beam.check_tilt(pot.grid)
    except InputError as err:
        raise InputError(f"beam.tilt: {err}") from None
    if exit_planes:
        exit_slice_counts(exit_planes, pot.n_slices, "output.exit_planes")
    max_angle = cfg.get("output", {}).get("diffraction_max_angle")
    if max_angle is not None:
        beam.check_angle(max_angle, pot.grid, "output.diffraction_max_angle", limit="nyquist")
    if "hrtem" in cfg:
        h = dict(cfg["hrtem"])
        ap = as_aperture(h.pop("objective_aperture", None), "hrtem.objective_aperture")
        check_on_grid(ap, pot.grid, beam, "hrtem.objective_aperture")
        check_coherence(h.pop("focal_spread", 0.0), h.pop("source_angle", 0.0))
        for k in ("image_spread", "method"):
            h.pop(k, None)
        check_aberrations(Aberrations.create(**h))


def run_config(cfg: dict, progress: bool = True) -> dict:
    """Run the simulation of a loaded config; returns {name: path} of what was written.

    The run is written into a temporary folder that replaces ``[output] path`` whole at the end.
    """
    import jax.numpy as jnp
    from tqdm.auto import tqdm

    from .. import __version__
    from ..atomic import atomic_path
    from ..beam import Beam
    from ..io import save
    from ..optics import Aberrations
    from ..potential import potential
    from ..propagate import diffraction_pattern, intensity, multislice, plane_wave
    from ..propagate.multislice import exit_plane_axis, exit_slice_counts

    outdir = output_dir(cfg)
    _check_replaceable(outdir)
    # every check (structure, potential, beam against the grid, outputs, imaging) runs before the
    # progress bar appears, so a bad configuration is reported in one line
    structure = build_structure(cfg["structure"], cfg["_base"])
    pcfg = dict(cfg["potential"])
    pot = potential(structure, sampling=pcfg.pop("sampling", None), gpts=pcfg.pop("gpts", None), **pcfg)
    bcfg = cfg["beam"]
    beam = Beam(bcfg["energy"], tilt=tuple(bcfg.get("tilt", (0.0, 0.0))))
    out_cfg = cfg.get("output", {})
    exit_planes = int(out_cfg.get("exit_planes", 0)) or None
    _check_against_grid(cfg, pot, beam, exit_planes)
    steps = tqdm(total=4, initial=1, desc="jaxem simulate", disable=not progress)
    waves = multislice(plane_wave(pot.grid, beam), pot, exit_planes=exit_planes)
    steps.update()
    batch, run_meta = None, {"beam": beam.to_dict(), "config_sha256_16": cfg.get("_hash"), "jaxem_version": __version__}
    if exit_planes:
        # the exit planes' axis: thickness [Å] when evenly spaced, else an index with the thicknesses in
        # the metadata (every N slices plus the last is uneven when N does not divide the slice count)
        exits = exit_slice_counts(exit_planes, pot.n_slices)
        batch = [exit_plane_axis(exits, pot.slice_thickness)]
        run_meta.update(thickness=_q([e * float(pot.slice_thickness) for e in exits], "Å"), exit_slices=list(exits))

    def finish(m, **extra):
        return type(m)(m.array, m.axes, {**m.metadata, **run_meta, **extra})

    files = {}
    with atomic_path(outdir, is_dir=True) as tmp:
        files["exit_intensity"] = "exit_intensity.zarr"
        save(finish(intensity(waves, batch_axes=batch)), tmp / files["exit_intensity"])
        _pause_for_tests("exit_intensity")
        files["diffraction"] = "diffraction.zarr"
        save(finish(diffraction_pattern(waves, max_angle=out_cfg.get("diffraction_max_angle"), batch_axes=batch)),
             tmp / files["diffraction"])
        _pause_for_tests("diffraction")
        steps.update()
        hrtem_params = {}
        if "hrtem" in cfg:
            from ..optics.imaging import hrtem_image

            h = dict(cfg["hrtem"])
            kw = {k: h.pop(k) for k in ("objective_aperture", "focal_spread", "source_angle", "image_spread",
                                        "method") if k in h}
            units = {"objective_aperture": "mrad", "focal_spread": "Å", "source_angle": "mrad", "image_spread": "Å"}
            hrtem_params = {**{k: _q(v, units[k]) if k in units else v for k, v in kw.items()},
                            **{k: _q(v, "rad" if k.startswith("phi") or k.endswith("_angle") else "Å")
                               for k, v in h.items()}}
            img = hrtem_image(waves, Aberrations.create(**h), batch_axes=batch, **kw)
            files["hrtem"] = "hrtem_image.zarr"
            save(finish(img, hrtem=hrtem_params), tmp / files["hrtem"])
            _pause_for_tests("hrtem")
        summary = {"grid": {"gpts": list(pot.grid.gpts), "sampling": _q(list(pot.grid.sampling), "Å")},
                   "beam": beam.to_dict(), "n_slices": pot.n_slices,
                   "slice_thickness": _q(float(pot.slice_thickness), "Å"),
                   "thickness": _q(float(pot.thickness), "Å"), "n_atoms": len(structure),
                   "transmitted_fraction": float(jnp.mean(jnp.abs(waves.array) ** 2)),
                   "hrtem": hrtem_params, "files": files}
        files["summary"] = "summary.json"
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        _pause_for_tests("summary")
        manifest = {"jaxem_version": __version__, "config_sha256_16": cfg.get("_hash"), "complete": True,
                    "files": sorted(files.values())}
        (tmp / RUN_MANIFEST).write_text(json.dumps(manifest, indent=2))
    steps.update()
    steps.close()
    return {k: outdir / v for k, v in files.items()}
