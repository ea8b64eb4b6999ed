"""Polar displacements from fitted column positions (e.g. Ti–O in a perovskite seen along [001]).

For each column that contains the cation B (Ti), the displacement is the vector from the centroid of
its ``n_neighbours`` nearest pure-anion (O) columns to the B column (periodic minimum image):

    d_B = r_B − (1/n) Σ_j r_O,j      [Å]

In ideal cubic perovskite [001] the four nearest O columns (at ±a/2 along x and y) sit symmetrically
about Ti, so d = 0; a polar shift of Ti against the O sublattice gives d ≠ 0.
"""
from __future__ import annotations

import numpy as np

from .. import validate


def polar_displacements(xy, species, lengths, cation: int = 22, anion: int = 8, n_neighbours: int = 4):
    """Displacements (n_B, 2) [Å] of the cation columns and their positions (n_B, 2) [Å].

    Args:
        xy: (C, 2) column positions (x, y) [Å].
        species: list of the atomic numbers in each column (length C).
        lengths: periodic cell lengths (lx, ly) [Å] (use large values for a non-periodic field).
        cation: atomic number marking B columns (22 = Ti).
        anion: atomic number of pure anion columns (8 = O).
        n_neighbours: anion columns averaged around each cation column.
    """
    xy = np.asarray(validate.array(xy, "xy", ndim=2, shape=(None, 2), kind="real", units="Å"), float)
    lengths = np.asarray(validate.pair(lengths, "lengths", "Å", positive=True), float)
    if len(species) != len(xy):
        raise validate.InputError(f"species must list the atomic numbers of each of the {len(xy)} columns of xy, "
                                  f"got {len(species)} entries")
    n_neighbours = validate.integer(n_neighbours, "n_neighbours", lo=1)
    b = [i for i, s in enumerate(species) if cation in s]
    o = [i for i, s in enumerate(species) if list(s) == [anion]]
    if not b or not o:
        raise validate.InputError(f"species: need columns containing Z={cation} and pure Z={anion} columns, "
                         f"got {len(b)} and {len(o)}")
    images = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], float) * lengths
    out = []
    for i in b:
        d = xy[o] - xy[i]
        d -= lengths * np.round(d / lengths)
        d = (d[None] + images[:, None]).reshape(-1, 2)  # periodic images (small cells)
        near = np.argsort(np.hypot(d[:, 0], d[:, 1]))[:n_neighbours]
        out.append(-d[near].mean(axis=0))
    return np.asarray(out), xy[b]
