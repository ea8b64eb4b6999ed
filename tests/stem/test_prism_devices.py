"""The S-matrix build shares its plane waves out over several CPU devices (the test session has 4 fake
ones, conftest) and gives the single-device result exactly: the same per-wave arithmetic."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxem.beam import as_beam
from jaxem.potential import potential
from jaxem.propagate.multislice import fresnel_propagator, transmission_functions
from jaxem.stem.prism import band_gpts, plane_wave_indices, smatrix_array
from jaxem.stem.prism_run import build_smatrix
from jaxem.structure import crystals


def test_sharded_smatrix_equals_one_device():
    assert len(jax.local_devices()) > 1 and jax.local_devices()[0].platform == "cpu"
    pot = potential(crystals.SrTiO3().repeat(2, 2, 2), gpts=(48, 48), slice_thickness=3.905 / 2, precision="float64")
    beam = as_beam(200e3)
    s = build_smatrix(pot, beam, 15.0, interpolation=2, precision="float64")
    assert len(s.array.sharding.device_set) == 1  # gathered on one device for the reduction
    grid = pot.grid
    idx = plane_wave_indices(grid, beam, 15.0, (2, 2))
    ref = smatrix_array(jnp.asarray(idx, jnp.int32), transmission_functions(pot.array, beam, grid, jnp.complex128),
                        jnp.asarray(pot.sequence, jnp.int32), fresnel_propagator(grid, beam, float(pot.slice_thickness),
                                                                                 jnp.complex128),
                        gpts=grid.gpts, band=band_gpts(grid, (2, 2)))
    np.testing.assert_array_equal(np.asarray(s.array), np.asarray(ref))
