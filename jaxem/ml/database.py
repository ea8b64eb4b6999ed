"""The FFT database: one zarr v3 group per (structure, zone axis), a small index table, annotations.

Layout of ``<db>.zarr/``::

    entries/<key>/            zarr group, key = "<source>_<name>__<u>_<v>_<w>" (minus signs as "m")
        hkl, g, amplitude, allowed, pairs, frame     kinematic tables (:mod:`.kinematic`)
        images, fft, spots, visible                  simulated HRTEM images (optional; :mod:`.render`)
        attrs: structure, uvw, provenance, sha256 of every array, complete=True (written last)
    annotations/<key or image name>/<time>.json     user annotations with provenance (GUI)
    index.json                                      the index table, rebuilt from complete entries

Atomicity: an entry is written into a temporary folder and swapped in whole
(:func:`jaxem.atomic.atomic_path`); its ``complete`` attribute is the last thing written, and
:func:`read_entry` checks it and every array's checksum, so a failed or killed write never leaves an
entry that looks complete. A build (:func:`build`) skips entries that are already complete, so a
killed build continues where it stopped.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import re
from pathlib import Path

import numpy as np

from .. import atomic, validate
from .kinematic import ZoneTable, zone_frame, zone_table

FORMAT = "jaxem-ffnet-db/1"
TABLE_ARRAYS = ("hkl", "g", "amplitude", "allowed", "pairs", "frame")
IMAGE_ARRAYS = ("images", "fft", "spots", "visible")


def entry_key(structure_id: str, uvw) -> str:
    if not isinstance(structure_id, str) or not structure_id:
        raise validate.InputTypeError(f"structure_id must be a non-empty string, got {structure_id!r}")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", structure_id.replace(":", "_"))
    return f"{name}__" + "_".join(str(x).replace("-", "m") for x in validate.miller(uvw, "uvw"))


def _sha(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


def create(path) -> Path:
    """Create an empty database folder (or check an existing one)."""
    path = validate.path(path, "path", must_exist=False)
    meta = path / "jaxem-ffnet-db.json"
    if path.exists():
        if not meta.exists():
            if any(path.iterdir()):
                raise validate.InputError(f"database {path} exists and is not a jaxem FFT database (no {meta.name})")
        else:
            check_database(path)
            return path
    (path / "entries").mkdir(parents=True, exist_ok=True)
    (path / "annotations").mkdir(exist_ok=True)
    if not meta.exists():
        atomic.atomic_write_text(meta, json.dumps({"format": FORMAT}))
    return path


def check_database(path) -> Path:
    path = validate.path(path, "path (database)", kind="dir")
    meta = path / "jaxem-ffnet-db.json"
    with validate.reading(meta, "FFT database description"):
        if not meta.exists():
            raise validate.FileFormatError(meta, "missing: not a jaxem FFT database")
        if json.loads(meta.read_text()).get("format") != FORMAT:
            raise validate.FileFormatError(meta, f"not a jaxem FFT database (format must be {FORMAT!r})")
    return path


@validate.typed
def write_entry(path, structure_id: str, table: ZoneTable, images: dict | None = None,
                provenance: dict | None = None) -> Path:
    """Write one entry atomically (see module docstring). ``images``: optional dict of IMAGE_ARRAYS."""
    import zarr

    validate.instance(table, "table", ZoneTable, "a ZoneTable (ml.zone_table)")
    path = create(path)
    key = entry_key(structure_id, table.uvw)
    arrays = {n: np.asarray(getattr(table, n)) for n in TABLE_ARRAYS}
    for n, a in (images or {}).items():
        if n not in IMAGE_ARRAYS:
            raise validate.InputError(f"images has unknown array {n!r}; expected {', '.join(IMAGE_ARRAYS)}")
        arrays[n] = np.asarray(a)
    target = path / "entries" / key
    with atomic.atomic_path(target, is_dir=True) as tmp:
        grp = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        for n, a in arrays.items():
            grp.create_array(n, data=a if a.dtype != bool else a.astype(np.uint8))
        grp.attrs.update({"structure": structure_id, "uvw": [int(x) for x in table.uvw],
                          "provenance": provenance or {}, "sha256": {n: _sha(a if a.dtype != bool else a.astype(np.uint8))
                                                                     for n, a in arrays.items()},
                          "bool_arrays": [n for n, a in arrays.items() if a.dtype == bool]})
        grp.attrs["complete"] = True  # last
    return target


def is_complete(entry_dir) -> bool:
    entry_dir = validate.path(entry_dir, "entry_dir", must_exist=False)
    try:
        attrs = json.loads((entry_dir / "zarr.json").read_text()).get("attributes", {})
    except (OSError, ValueError):
        return False
    return bool(attrs.get("complete"))


def read_entry(path, key: str, images: bool = True) -> dict:
    """Read an entry → {'structure', 'uvw', 'table': ZoneTable, arrays…, 'provenance'}; refuses incomplete
    or damaged entries with ``FileFormatError`` naming the entry."""
    import zarr

    path = check_database(path)
    d = path / "entries" / key
    if not d.is_dir():
        raise validate.InputError(f"database {path} has no entry {key!r}")
    if not is_complete(d):
        raise validate.FileFormatError(d, "entry is incomplete (its write did not finish); rebuild it")
    with validate.reading(d, "FFT database entry"):
        grp = zarr.open_group(str(d), mode="r")
        attrs = dict(grp.attrs)
        out = {"structure": attrs["structure"], "uvw": tuple(attrs["uvw"]), "provenance": attrs.get("provenance", {}),
               "key": key}
        names = [n for n in attrs["sha256"] if images or n in TABLE_ARRAYS]
        arrays = {}
        for n in names:
            with validate.reading(d / n, "FFT database array"):
                a = np.asarray(grp[n][...])
            if _sha(a) != attrs["sha256"][n]:
                raise validate.FileFormatError(d / n, "checksum mismatch (damaged array)")
            arrays[n] = a.astype(bool) if n in attrs.get("bool_arrays", []) else a
    out["table"] = ZoneTable(out["uvw"], *(arrays[n] for n in TABLE_ARRAYS))
    out.update({n: arrays[n] for n in IMAGE_ARRAYS if n in arrays})
    return out


def entries(path) -> list[str]:
    """Keys of the complete entries."""
    path = check_database(path)
    return sorted(p.name for p in (path / "entries").iterdir() if p.is_dir() and not p.name.startswith(".")
                  and is_complete(p))


def index_table(path) -> list[dict]:
    """Rebuild and write ``index.json``: one row per complete entry (key, structure, uvw, reflections,
    pairs, images)."""
    import zarr

    path = check_database(path)
    rows = []
    for key in entries(path):
        grp = zarr.open_group(str(path / "entries" / key), mode="r")
        a = dict(grp.attrs)
        rows.append({"key": key, "structure": a["structure"], "uvw": a["uvw"], "reflections": int(grp["hkl"].shape[0]),
                     "pairs": int(grp["pairs"].shape[0]), "images": int(grp["images"].shape[0]) if "images" in grp else 0})
    atomic.atomic_write_text(path / "index.json", json.dumps(rows, indent=0))
    return rows


def load_candidates(path, structures=None):
    """:class:`~jaxem.ml.index.Candidates` of every complete entry (optionally only ``structures``)."""
    from .index import candidates

    tables = {}
    for key in entries(path):
        e = read_entry(path, key, images=False)
        if structures is None or e["structure"] in structures:
            tables[(e["structure"], e["uvw"])] = e["table"]
    if not tables:
        raise validate.InputError(f"path: the database {path} has no complete entries"
                                  + ("" if structures is None else f" for structures {structures!r}"))
    return candidates(tables)


def build(path, structure_ids, max_sum: int = 7, n_images: int = 0, seed: int = 0, progress=None,
          render_config=None) -> dict:
    """Build or extend the database: kinematic tables for every symmetry-distinct zone with
    |u|+|v|+|w| ≤ ``max_sum`` of every structure; with ``n_images`` > 0 also that many simulated noisy
    HRTEM images + FFTs + spot labels per zone (multislice, rendered by :mod:`.render`). Complete entries
    are skipped (resumable). ``progress(done, total, key, status)`` is called after each entry.
    Returns {'written', 'skipped', 'failed': [(key, reason)]}."""
    from .library import get_structure, zone_axes

    structure_ids = validate.strings(structure_ids, "structure_ids")
    max_sum = validate.integer(max_sum, "max_sum", lo=1, hi=20)
    n_images = validate.integer(n_images, "n_images", lo=0)
    path = create(path)
    jobs = []
    for sid in structure_ids:
        s = get_structure(sid)
        jobs += [(sid, s, uvw) for uvw in zone_axes(s, max_sum=max_sum)]
    stats = {"written": 0, "skipped": 0, "failed": []}
    for i, (sid, s, uvw) in enumerate(jobs):
        key = entry_key(sid, uvw)
        if is_complete(path / "entries" / key):
            stats["skipped"] += 1
            status = "exists"
        else:
            try:
                _build_entry(path, sid, s, uvw, n_images, seed + i, render_config)
                stats["written"] += 1
                status = "written"
            except ValueError as exc:
                stats["failed"].append((key, str(exc).splitlines()[0][:200]))
                status = "failed"
        if progress is not None:
            progress(i + 1, len(jobs), key, status)
    index_table(path)
    return stats


def _build_entry(path, sid, s, uvw, n_images, seed, render_config):
    import jax

    from .. import __version__
    from .bank import simulate_zone
    from .render import RenderConfig, device_bank, render_batch

    prov = {"jaxem": __version__, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "kinematic": {"g_max": 1.25, "parametrization": "lobato", "debye_waller": True}}
    images = None
    if n_images:
        try:
            frame = zone_frame(s, uvw)
            b, _ = simulate_zone(s, uvw)
        except ValueError:
            frame, b = None, None
        if b is not None:
            cfg = render_config or RenderConfig(p_two_grains=0.0)
            smp = render_batch(jax.random.PRNGKey(seed), device_bank(b), n_images, cfg)
            images = {"images": np.asarray(smp.image, np.float32), "fft": np.asarray(smp.fft, np.float32),
                      "spots": np.asarray(smp.spots[:, : smp.spots.shape[1] // 2], np.float32),
                      "visible": np.asarray(smp.visible[:, : smp.visible.shape[1] // 2])}
            prov["simulation"] = {"thickness_A": b.thickness.tolist(), "defocus_A": b.defocus.tolist(),
                                  "cs_A": -1.5e5, "focal_spread_A": 30.0, "beam": "300 kV",
                                  "dose_e_per_px": np.asarray(smp.dose).tolist(),
                                  "rotation_rad": np.asarray(smp.rotation[:, 0]).tolist(),
                                  "scale": np.asarray(smp.scale[:, 0]).tolist(),
                                  "mirror": np.asarray(smp.mirror[:, 0]).tolist(), "render": repr(cfg)}
        table = zone_table(s, uvw, frame=frame)
    else:
        table = zone_table(s, uvw)
    write_entry(path, sid, table, images, prov)


def save_annotation(path, target: str, annotation: dict) -> Path:
    """Store a user annotation (spots, indexing decision…) for an entry key or image name, with provenance
    (time, jaxem version, user-supplied fields); written atomically as JSON; returns its path."""
    from .. import __version__

    path = check_database(path)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(target))[:120] or "image"
    now = datetime.datetime.now(datetime.timezone.utc)
    rec = dict(annotation)
    rec["provenance"] = {**dict(annotation.get("provenance", {})), "saved": now.isoformat(timespec="milliseconds"),
                         "jaxem": __version__, "target": str(target)}
    out = path / "annotations" / name / (now.strftime("%Y%m%dT%H%M%S%fZ") + ".json")
    atomic.atomic_write_text(out, json.dumps(rec, indent=1))
    return out


def annotations(path, target: str) -> list[dict]:
    """All annotations of ``target`` (oldest first)."""
    path = check_database(path)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(target))[:120] or "image"
    d = path / "annotations" / name
    out = []
    for f in sorted(d.glob("*.json")) if d.is_dir() else []:
        with validate.reading(f, "annotation"):
            out.append(json.loads(f.read_text()))
    return out
