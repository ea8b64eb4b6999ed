import jax.numpy as jnp
import pytest

import jaxem as jx
import jaxem.potential  # noqa: F401  (the subpackage import must not hide jx.potential())


def test_lazy_front_door_runs_the_architecture_example():
    sto = jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1]).repeat(2, 2, 2)
    pot = jx.potential(sto, sampling=0.15, slice_thickness=1.96)
    exit_wave = jx.multislice(jx.plane_wave(pot.grid, energy=300e3), pot)
    image = jx.hrtem_image(exit_wave.array, pot.grid, 300e3, jx.Aberrations.create(defocus=50.0))
    assert image.shape == pot.grid.gpts and bool(jnp.all(jnp.isfinite(image)))
    assert "multislice" in dir(jx)
    with pytest.raises(AttributeError):
        jx.not_a_thing
