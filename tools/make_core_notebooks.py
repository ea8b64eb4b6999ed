"""Generate the notebooks of the simulation core (run by maintainers; outputs are left cleared)."""
from pathlib import Path

import nbformat as nbf

NB = Path(__file__).resolve().parents[1] / "notebooks"


def write(name, cells):
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, NB / name)


write("multislice_hrtem.ipynb", [
    "md:# Multislice and HRTEM with jaxem\n\nSrTiO3 [001] at 300 kV: potential, exit waves through a thickness "
    "series, diffraction patterns, HRTEM images with partial coherence, and gradients through the whole "
    "simulation. Small sizes so it runs in CI; raise `N_CELLS`/`NZ` for real work.",
    "import jax, jax.numpy as jnp, numpy as np, matplotlib.pyplot as plt\n"
    "from jaxem.structure import crystals, zone_axis\n"
    "from jaxem.potential import potential, potential_builder\n"
    "from jaxem.propagate import plane_wave, multislice, diffraction_pattern, intensity\n"
    "from jaxem.optics import Aberrations\n"
    "from jaxem.optics.imaging import hrtem_image\n"
    "N_CELLS, NZ = 3, 12",
    "sto = zone_axis(crystals.SrTiO3(), [0, 0, 1]).repeat(N_CELLS, N_CELLS, NZ)\n"
    "pot = potential(sto, sampling=0.06, slice_thickness=3.905 / 2, debye_waller=True)\n"
    "print(pot.grid, pot.n_slices, 'slices,', pot.array.shape[0], 'distinct')",
    "waves = multislice(plane_wave(pot.grid, 300e3), pot, exit_planes=4)\n"
    "dp = diffraction_pattern(waves, max_angle=50, batch_axes=['thickness'])\n"
    "fig, axes = plt.subplots(1, 3, figsize=(12, 4))\n"
    "for ax, i in zip(axes, [0, 2, -1]):\n"
    "    ax.imshow(np.log10(np.asarray(dp.array[i]) + 1e-7), extent=dp.extent(), cmap='magma')\n"
    "    ax.set_title(f'exit plane {i}')",
    "img = hrtem_image(waves.array[-1], pot.grid, 300e3, Aberrations.create(defocus=50.0, Cs=-2e4),\n"
    "                  objective_aperture=25.0, focal_spread=30.0, source_angle=0.3, method='focal_average')\n"
    "plt.imshow(np.asarray(img), cmap='gray'); plt.colorbar(); plt.title('HRTEM, Δf = 50 Å, Cs = −2 µm')",
    "md:## Gradients through the physics\n\nThe derivative of an image loss with respect to defocus and to "
    "the atomic positions, by autodiff through potential, multislice and partially coherent imaging.",
    "build = potential_builder(sto, sampling=0.06, slice_thickness=3.905 / 2, debye_waller=True)\n"
    "target = img\n"
    "def loss(positions, c10):\n"
    "    p = build(sto.replace(positions=positions))\n"
    "    w = multislice(plane_wave(p.grid, 300e3), p)\n"
    "    im = hrtem_image(w.array, p.grid, 300e3, Aberrations(C10=c10, C30=-2e4), objective_aperture=25.0,\n"
    "                     focal_spread=30.0, source_angle=0.3)\n"
    "    return jnp.mean((im - target) ** 2)\n"
    "g_pos, g_c10 = jax.grad(loss, argnums=(0, 1))(sto.positions, jnp.float32(-40.0))\n"
    "print('dL/dC10 =', float(g_c10), ' max |dL/dr| =', float(jnp.abs(g_pos).max()))",
])

write("stem_thermal.ipynb", [
    "md:# STEM with three thermal models\n\nSrTiO3 [001] at 300 kV: HAADF/BF/DPC signals with a static "
    "potential and with Einstein frozen phonons; 4D-STEM streamed to zarr. Small sizes for CI.",
    "import jax, numpy as np, matplotlib.pyplot as plt, tempfile, pathlib\n"
    "from jaxem.structure import crystals\n"
    "from jaxem.potential import potential\n"
    "from jaxem.stem import (STEMSimulation, GridScan, AnnularDetector, SegmentedDetector, PixelatedDetector,\n"
    "                        CenterOfMassDetector, stem_scan, stem_scan_to_zarr)",
    "sto = crystals.SrTiO3().repeat(2, 2, 4)\n"
    "pot = potential(sto, sampling=0.05, slice_thickness=3.905 / 2)\n"
    "sim = STEMSimulation(300e3, 20.0, (AnnularDetector(0, 20, 'BF'), AnnularDetector(70, 125, 'HAADF'),\n"
    "                                   SegmentedDetector(5, 20, 4, name='DPC'), CenterOfMassDetector()))\n"
    "scan = GridScan.create((0, 0), (3.905, 3.905), gpts=(6, 6))\n"
    "static = stem_scan(sim, scan, pot)\n"
    "fp = stem_scan(sim, scan, pot, structure=sto, thermal='einstein', n_configs=4, key=jax.random.key(0))\n"
    "fig, axes = plt.subplots(1, 2, figsize=(8, 4))\n"
    "static['HAADF'].show(ax=axes[0], title='HAADF, static'); fp['HAADF'].show(ax=axes[1], title='HAADF, frozen phonons')",
    "with tempfile.TemporaryDirectory() as d:\n"
    "    path = pathlib.Path(d) / 'scan.zarr'\n"
    "    res = stem_scan_to_zarr(path, STEMSimulation(300e3, 20.0, (PixelatedDetector(40.0, 2),)), scan, potential=pot)\n"
    "    import zarr\n"
    "    data = zarr.open_group(str(path), mode='r')['pixelated'][...]\n"
    "print('4D-STEM', data.shape, 'PACBED total', data.mean((0, 1)).sum())\n"
    "plt.imshow(np.log10(data.mean((0, 1)) + 1e-7)); plt.title('PACBED (log)')",
])
print("ok")
