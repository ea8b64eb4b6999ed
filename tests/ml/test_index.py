"""Indexing against known transforms of kinematic tables: phase, zone, rotation, scale and strain."""
import numpy as np
import pytest

from jaxem import validate
from jaxem.ml import index

from .conftest import CORUNDUM, SI


def _spots(table, A, gmax=0.9, allowed_only=True):
    g = np.asarray(table.g)
    keep = np.linalg.norm(g, axis=1) <= gmax
    if allowed_only:
        keep &= np.asarray(table.allowed)
    return g[keep] @ A.T


def _matrix(theta_deg, s=1.0, strain=(0.0, 0.0, 0.0), mirror=False):
    th = np.radians(theta_deg)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    E = np.eye(2) + np.array([[strain[0], strain[2]], [strain[2], strain[1]]])
    return s * R @ E @ (np.diag([1.0, -1.0]) if mirror else np.eye(2))


@pytest.mark.parametrize("key, theta, s, mirror", [((SI, (1, 1, 0)), 23.0, 1.012, False),
                                                   ((CORUNDUM, (0, 0, 1)), -71.5, 0.985, True)])
def test_phase_zone_rotation_scale(tables, key, theta, s, mirror):
    c = index.candidates(tables)
    g = _spots(tables[key], _matrix(theta, s, mirror=mirror))
    grains = index.index_spots(g, c)
    G = grains[0]
    assert (G.phase, G.uvw) == key
    assert len(G.spots) == len(g) and np.max(G.residual) < 1e-8
    assert abs(G.scale - s) < 1e-6


def test_refinement_recovers_strain(tables):
    c = index.candidates(tables)
    strain = (0.004, -0.003, 0.002)
    A = _matrix(40.0, 1.0, strain)
    G = index.index_spots(_spots(tables[(SI, (1, 1, 0))], A), c)[0]
    # the refined map may differ from A by a symmetry S of the zone (M = A·S, S orthogonal, mirrors
    # included), but the image-side metric M·Mᵀ = A·Aᵀ is unique: it carries the strain
    np.testing.assert_allclose(G.matrix @ G.matrix.T, A @ A.T, atol=1e-8)
    assert np.max(G.residual) < 1e-8


def test_two_grains_and_bad_input(tables):
    c = index.candidates(tables)
    g = np.concatenate([_spots(tables[(SI, (1, 1, 0))], _matrix(10.0)),
                        _spots(tables[(CORUNDUM, (0, 0, 1))], _matrix(37.0), gmax=0.6)])
    found = {(G.phase, G.uvw) for G in index.index_spots(g, c)}
    assert found == {(SI, (1, 1, 0)), (CORUNDUM, (0, 0, 1))}
    with pytest.raises(validate.InputError, match="g"):
        index.index_spots(np.array([[np.nan, 0.1]]), c)
    with pytest.raises(validate.InputError, match="tol_d"):
        index.index_spots(g, c, tol_d=-1)
