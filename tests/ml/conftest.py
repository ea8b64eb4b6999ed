"""Shared fixtures for the FFT-database/U-Net/indexing tests (small sizes: CI budget)."""
import numpy as np
import pytest

from jaxem.ml import bank as B
from jaxem.ml import database as db
from jaxem.ml import kinematic, library

SI = "ncrystal:Si_sg227"
CORUNDUM = "ncrystal:Al2O3_sg167_Corundum"
# one render configuration (and bank shape: 1 entry × 32 components) for every test: one compilation
# (labels judged at the image's own dose: these tests look at what the image shows)
EASY = dict(dose=(1e7, 1e7), p_two_grains=0.0, p_full=1.0, amorphous=(0.0, 0.0), drift=0.0, label_dose=None)


def kinematic_bank(tables, strength: float = 0.08, n_components: int = 32, keep: int = 32) -> B.Bank:
    """A bank whose 'periodic images' are kinematic: Σ |F| cos(2π g·r) over allowed reflections
    (no multislice; for fast tests with known spot positions)."""
    ks, amps, phs = [], [], []
    for t in tables:
        g = np.asarray(t.g)
        half = ((g[:, 0] > 1e-12) | ((np.abs(g[:, 0]) <= 1e-12) & (g[:, 1] > 0))) & np.asarray(t.allowed)
        half &= np.linalg.norm(g, axis=1) <= 1.0
        order = np.flatnonzero(half)[np.argsort(-t.amplitude[half], kind="stable")][:min(keep, n_components)]
        k = np.zeros((n_components, 2)); a = np.zeros(n_components)
        k[: len(order)] = g[order]
        a[: len(order)] = strength * t.amplitude[order] / t.amplitude[order].max()
        ks.append(k); amps.append(a); phs.append(np.zeros(n_components))
    n = len(tables)
    return B.Bank(np.stack(ks), np.stack(amps), np.stack(phs), np.arange(n, dtype=np.int32), np.full(n, 50.0),
                  np.zeros(n))


@pytest.fixture(scope="session")
def si():
    return library.get_structure(SI)


@pytest.fixture(scope="session")
def tables(si):
    """Si [100], [110], [111] and corundum [001], [100] tables (the candidates of the indexing tests)."""
    al = library.get_structure(CORUNDUM)
    out = {(SI, uvw): kinematic.zone_table(si, uvw) for uvw in [(1, 0, 0), (1, 1, 0), (1, 1, 1)]}
    out.update({(CORUNDUM, uvw): kinematic.zone_table(al, uvw) for uvw in [(0, 0, 1), (1, 0, 0)]})
    return out


@pytest.fixture(scope="session")
def gui_db(tmp_path_factory, tables):
    """A database with the candidate tables and one rendered image of Si [110] (kinematic bank)."""
    import jax

    from jaxem.ml import render

    path = tmp_path_factory.mktemp("ffnet") / "db.zarr"
    for (sid, uvw), t in tables.items():
        images = None
        if (sid, uvw) == (SI, (1, 1, 0)):
            cfg = render.RenderConfig(**EASY)
            smp = render.render_batch(jax.random.PRNGKey(5), render.device_bank(kinematic_bank([t])), 1, cfg)
            images = {"images": np.asarray(smp.image, np.float32), "fft": np.asarray(smp.fft, np.float32),
                      "spots": np.asarray(smp.spots, np.float32), "visible": np.asarray(smp.visible)}
        db.write_entry(path, sid, t, images, {"test": True})
    return path
