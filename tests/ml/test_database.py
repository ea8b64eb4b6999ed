"""Database: atomic checksummed entries, resumable build, refusal of damaged entries and weights."""
import json

import numpy as np
import pytest

from jaxem import validate
from jaxem.ml import database as db
from jaxem.ml import train

from .conftest import SI


def test_build_resume_and_index(tmp_path):
    path = tmp_path / "db.zarr"
    seen = []
    st = db.build(path, [SI], max_sum=2, progress=lambda *a: seen.append(a))
    assert st["written"] == 2 and seen[-1][:2] == (2, 2)
    # a killed build resumes: complete entries are skipped
    st2 = db.build(path, [SI], max_sum=3)
    assert st2["skipped"] == 2 and st2["written"] == 2
    rows = json.loads((path / "index.json").read_text())
    assert {tuple(r["uvw"]) for r in rows} == {(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 0)}
    e = db.read_entry(path, db.entry_key(SI, (1, 1, 0)))
    assert e["table"].uvw == (1, 1, 0) and e["table"].allowed.dtype == bool
    c = db.load_candidates(path)
    assert (SI, (1, 1, 1)) in c.names


def test_failed_write_leaves_no_complete_entry(tmp_path, tables, monkeypatch):
    import zarr

    path = tmp_path / "db.zarr"
    t = tables[(SI, (1, 1, 0))]
    calls = {"n": 0}
    real = zarr.Group.create_array

    def failing(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return real(self, *a, **k)

    monkeypatch.setattr(zarr.Group, "create_array", failing)
    with pytest.raises(OSError, match="disk full"):
        db.write_entry(path, SI, t)
    monkeypatch.undo()
    assert db.entries(path) == []
    assert not (path / "entries" / db.entry_key(SI, (1, 1, 0))).exists()


def test_damaged_entry_and_database(tmp_path, tables):
    path = tmp_path / "db.zarr"
    target = db.write_entry(path, SI, tables[(SI, (1, 1, 0))])
    chunk = sorted((target / "amplitude").rglob("c/*"))[0]
    chunk.write_bytes(chunk.read_bytes()[:-3] + b"xyz")
    with pytest.raises(validate.FileFormatError, match="amplitude"):
        db.read_entry(path, target.name)
    # an entry without its completion mark is refused
    meta = target / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["complete"] = False
    meta.write_text(json.dumps(doc))
    with pytest.raises(validate.FileFormatError, match="incomplete"):
        db.read_entry(path, target.name)
    (path / "jaxem-ffnet-db.json").write_text("{not json")
    with pytest.raises(validate.FileFormatError, match="jaxem-ffnet-db.json"):
        db.entries(path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    with pytest.raises(validate.InputError, match="not a jaxem FFT database"):
        db.create(tmp_path / "other")


def test_damaged_weights(tmp_path):
    import jax

    from jaxem.ml.unet import UNetConfig, init_variables

    cfg = UNetConfig(2, (1, 1, 1, 1))
    shapes = jax.eval_shape(lambda k: init_variables(k, cfg, 16), jax.random.PRNGKey(0))  # no compilation
    variables = jax.tree_util.tree_map(lambda s: np.full(s.shape, 0.5, s.dtype), shapes)
    p = train.save_weights(tmp_path / "w", variables, cfg, {"x": 1})
    c2, v2, info = train.load_weights(p)
    assert c2 == cfg and info == {"x": 1}
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(validate.FileFormatError, match="checksum"):
        train.load_weights(p)
    with pytest.raises(FileNotFoundError, match="weights"):
        train.load_weights(tmp_path / "missing")
