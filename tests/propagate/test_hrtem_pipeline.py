"""End-to-end HRTEM: structure → potential → multislice → image (acceptance tests of issue 2)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import Grid
from jaxem.cli.sections.multislice import kirkland_five_atoms
from jaxem.optics import Aberrations
from jaxem.optics import hrtem_image, image_intensity
from jaxem.potential import potential, potential_builder
from jaxem.propagate import multislice, plane_wave
from jaxem.structure import Structure


@pytest.mark.parametrize("parametrization", ["kirkland", "lobato"])
def test_kirkland_fig_5_12(parametrization):
    # Kirkland (2010) Fig. 5.12: C, Si, Cu, Au, U in a 50×50×8 Å cell, 512², 200 kV,
    # Δf = 700 Å, Cs = 1.3 mm, 10.37 mrad objective aperture: image min 0.72, max 1.03
    pot = potential(kirkland_five_atoms(), gpts=512, slice_thickness=8.0, parametrization=parametrization)
    exit_wave = multislice(plane_wave(pot.grid, 200e3), pot)
    img = hrtem_image(exit_wave, Aberrations(C10=-700.0, C30=1.3e7), objective_aperture=10.37, method="coherent")
    assert img.axes[-1].units == "Å" and img.metadata["objective_aperture"]["semi_angle"]["value"] == 10.37
    assert float(jnp.min(img.array)) == pytest.approx(0.72, abs=0.01)
    assert float(jnp.max(img.array)) == pytest.approx(1.03, abs=0.01)


def test_gradients_positions_b_aberrations_defocus_float64():
    s = Structure.create([[1.1, 1.3, 0.3], [2.3, 2.4, 0.8]], ["Sr", "O"], [3.6, 3.6, 1.2], B=[0.5, 0.7])
    grid = Grid((18, 18), (0.2, 0.2))
    build = potential_builder(s, gpts=grid.gpts, slice_thickness=0.6, precision="float64", debye_waller=True)
    target = jnp.asarray(np.random.default_rng(2).uniform(0.8, 1.2, grid.gpts))

    def loss(positions, u2, c10, c12, c30):
        pot = build(s.replace(positions=positions, u2=u2))
        w = multislice(plane_wave(grid, 300e3, precision="float64"), pot)
        ab = Aberrations(C10=c10, C12=c12, C30=c30)
        img = image_intensity(w, ab, objective_aperture=40.0, focal_spread=20.0, method="focal_average",
                              precision="float64")
        return jnp.mean((img - target) ** 2)

    args = (s.positions, s.u2, jnp.float64(-80.0), jnp.float64(15.0), jnp.float64(2e4))
    check_grads(loss, args, order=1, modes=["rev"], eps=1e-4, atol=1e-4, rtol=2e-3)
