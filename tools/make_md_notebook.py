"""Writes notebooks/md_snapshots.ipynb (outputs cleared). Run: python tools/make_md_notebook.py"""
from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# MD snapshots for frozen phonons\n\n"
        "Run a short classical MD of 3C-SiC with LAMMPS (Tersoff 1989 potential shipped with LAMMPS), read the "
        "dump back as a `jaxem.md.Trajectory`, measure mean-square displacements and Debye–Waller factors per "
        "species, band-pass the displacements in frequency, and use snapshots as a frozen-phonon ensemble in "
        "multislice. Set `RUN_LAMMPS = False` (or run without LAMMPS installed) to use the small dump shipped "
        "with jaxem instead."),
    nbf.v4.new_code_cell(
        "RUN_LAMMPS = True  # needs `lmp` (apt-get install lammps / conda install -c conda-forge lammps)\n"
        "import numpy as np\nimport matplotlib.pyplot as plt\nimport jax.numpy as jnp\n"
        "from ase.build import bulk\n"
        "import jaxem.md as md\nfrom jaxem.structure import Structure\n"
        "from jaxem.potential import potential\nfrom jaxem.propagate import multislice, plane_wave"),
    nbf.v4.new_code_cell(
        "sic = Structure.from_ase(bulk('SiC', 'zincblende', a=4.36, cubic=True)).repeat(2, 2, 2)\n"
        "try:\n"
        "    use_lammps = RUN_LAMMPS and bool(md.find_lammps())\n"
        "except md.LammpsNotFoundError as err:\n"
        "    print(err)\n    use_lammps = False\n"
        "if use_lammps:\n"
        "    traj = md.run_md(sic, temperature=300.0, timestep_fs=0.5, equilibration_steps=1000,\n"
        "                     production_steps=2000, dump_every=10, seed=3)\n"
        "    print('LAMMPS', md.lammps_version())\n"
        "else:\n"
        "    from jaxem.cli.sections.md import SHIPPED\n"
        "    traj = md.read_dump(SHIPPED, timestep_fs=0.5)\n"
        "print(traj.n_frames, 'frames of', traj.n_atoms, 'atoms; frame interval', traj.frame_interval_fs, 'fs')"),
    nbf.v4.new_markdown_cell("## Mean-square displacements and B = 8π²⟨u²⟩\n"
                             "Measured from each atom's time-averaged position, centre-of-mass drift removed."),
    nbf.v4.new_code_cell(
        "for s, u2 in md.msd_per_species(traj).items():\n"
        "    print(f'{s}: <u^2> (x, y, z) = {np.round(u2, 5)} A^2,  B = {md.b_factor(u2):.3f} A^2')\n"
        "fig, ax = plt.subplots(figsize=(6, 3.5))\n"
        "for s, u2t in md.msd_vs_time(traj).items():\n"
        "    ax.plot(traj.times / 1000, u2t.sum(1), label=s)\n"
        "ax.set_xlabel('time [ps]'); ax.set_ylabel('<|u|^2> [A^2]'); ax.legend();"),
    nbf.v4.new_markdown_cell("## Vibrational spectrum and a band-pass filter\n"
                             "Power spectrum of the displacements per species; then keep only vibrations "
                             "near the optical-phonon band (Gaussian window around ±f₀)."),
    nbf.v4.new_code_cell(
        "u = md.displacements(traj)\n"
        "f = np.fft.rfftfreq(traj.n_frames, traj.frame_interval_fs) * 1000  # THz\n"
        "power = np.abs(np.fft.rfft(u, axis=0)) ** 2\n"
        "fig, ax = plt.subplots(figsize=(6, 3.5))\n"
        "for z, s in ((6, 'C'), (14, 'Si')):\n"
        "    ax.plot(f, power[:, traj.numbers == z].sum((1, 2)), label=s)\n"
        "ax.set_xlim(0, 40); ax.set_xlabel('frequency [THz]'); ax.set_ylabel('power [a.u.]'); ax.legend()\n"
        "f0 = 27.0  # THz: the optical band of Tersoff SiC (C-dominated)\n"
        "optical = md.bandpass_trajectory(traj, center_thz=f0, width_thz=3.0)\n"
        "print('B of the band near', f0, 'THz:', md.debye_waller_factors(optical))"),
    nbf.v4.new_markdown_cell("## Snapshots as a frozen-phonon ensemble\n"
                             "Average intensity ⟨|Ψ|²⟩, elastic part |⟨Ψ⟩|² and the thermal diffuse part."),
    nbf.v4.new_code_cell(
        "ens = md.snapshots_as_ensemble(traj, 6, burn_in=10)\n"
        "template = traj.frame(0)\n"
        "waves = []\n"
        "for p in ens:\n"
        "    pot = potential(template.with_positions(p), sampling=0.1, slice_thickness=1.09)\n"
        "    waves.append(np.fft.fft2(np.asarray(multislice(plane_wave(pot.grid, 300e3), pot).array)))\n"
        "waves = np.stack(waves) / np.prod(pot.grid.gpts)\n"
        "total = np.mean(np.abs(waves) ** 2, 0)\n"
        "elastic = np.abs(waves.mean(0)) ** 2\n"
        "tds = total - elastic\n"
        "print(f'TDS fraction of the intensity: {tds.sum() / total.sum():.2e}')\n"
        "fig, axes = plt.subplots(1, 2, figsize=(9, 4))\n"
        "for ax, img, t in zip(axes, (total, tds), ('total', 'thermal diffuse')):\n"
        "    ax.imshow(np.log10(np.fft.fftshift(img) + 1e-9), cmap='magma'); ax.set_title(t); ax.axis('off')"),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
path = Path(__file__).resolve().parents[1] / "notebooks" / "md_snapshots.ipynb"
nbf.write(nb, path)
print("wrote", path)
