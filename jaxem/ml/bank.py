"""Periodic HRTEM images of crystals along zone axes, simulated by jaxem's multislice with partial
coherence and kept as Fourier series (the "bank" the on-device renderer draws from).

Physics. For an oriented orthorhombic cell (:func:`jaxem.structure.zone_axis`, beam ∥ z) of
in-plane size Lx × Ly [Å], the exit waves at several thicknesses come from one multislice run
(``exit_planes``); each is imaged with the objective lens (C10 = −Δf, C30 = Cs [Å]) and a Gaussian
focal spread (:func:`jaxem.optics.image_intensity`, ``focal_average``). The image intensity of a
periodic specimen is periodic, so it is exactly the Fourier series

    I(r) = c₀ + Σ_k 2|c_k| cos(2π k·r + φ_k),   k = (n/Lx, m/Ly) [1/Å]   (half plane, k ≠ 0)

with c_k its discrete Fourier coefficients. We keep the ``n_components`` largest |c_k| with
|k| ≤ ``k_max`` (the canonical FFT's Nyquist frequency), normalised to c₀ = 1 (vacuum-like mean). The
series can be evaluated at any rotation, scale or shift without interpolation (:mod:`.render`), and
its k are exact spot positions (labels).
"""
from __future__ import annotations

import numpy as np

from .. import pytree, validate
from ..beam import Beam

K_MAX = 1.25  # [1/Å]: Nyquist of the canonical 0.4 Å pixel (see render.CANONICAL_PIXEL)
MAX_CELL = 48.0  # [Å] largest in-plane zone-axis cell simulated


@pytree.dataclass(eq=False)
class Bank:
    """Fourier series of periodic HRTEM images, one row per (structure, zone, thickness, defocus).

    Attributes:
        k: (E, K, 2) frequencies (k_x, k_y) [1/Å] in the zone-axis cell frame (zero-padded).
        amplitude: (E, K) |c_k| relative to the mean intensity (0 for padding).
        phase: (E, K) φ_k [rad].
        entry: (E,) index of the (structure, zone) each row belongs to (labels for indexing tests).
        thickness: (E,) specimen thickness [Å].
        defocus: (E,) Δf = −C10 [Å].
    """

    k: np.ndarray = pytree.field(units="1/Å")
    amplitude: np.ndarray
    phase: np.ndarray = pytree.field(units="rad")
    entry: np.ndarray
    thickness: np.ndarray = pytree.field(units="Å")
    defocus: np.ndarray = pytree.field(units="Å")

    def __len__(self) -> int:
        return int(np.shape(self.amplitude)[0])

    @staticmethod
    def concatenate(banks) -> "Bank":
        banks = list(banks)
        return Bank(*(np.concatenate([np.asarray(getattr(b, f)) for b in banks])
                      for f in ("k", "amplitude", "phase", "entry", "thickness", "defocus")))


def image_series(image: np.ndarray, extent, n_components: int = 64, k_max: float = K_MAX):
    """Largest Fourier components of a periodic image (ny, nx) over ``extent`` (Ly, Lx) [Å].

    Returns (k (K, 2) [1/Å], amplitude (K,), phase (K,)) on the half plane, normalised by the mean."""
    img = np.asarray(image, np.float64)
    ny, nx = img.shape
    c = np.fft.fft2(img) / img.size
    c0 = c[0, 0].real
    ky = np.fft.fftfreq(ny, d=extent[0] / ny)
    kx = np.fft.fftfreq(nx, d=extent[1] / nx)
    KY, KX = np.meshgrid(ky, kx, indexing="ij")
    half = (KX > 0) | ((KX == 0) & (KY > 0))
    ok = half & (np.hypot(KX, KY) <= k_max)
    amp = np.abs(c[ok]) / c0
    order = np.argsort(-amp, kind="stable")[:n_components]
    k = np.stack([KX[ok][order], KY[ok][order]], axis=1)
    out_k = np.zeros((n_components, 2))
    out_a = np.zeros(n_components)
    out_p = np.zeros(n_components)
    out_k[: len(order)] = k
    out_a[: len(order)] = amp[order]
    out_p[: len(order)] = np.angle(c[ok][order])
    return out_k, out_a, out_p


def simulate_zone(structure, uvw, thicknesses=(40.0, 100.0, 180.0), defoci=(-150.0, 0.0, 150.0), *,
                  beam="300 kV", cs: float = -1.5e5, focal_spread: float = 30.0, sampling: float = 0.2,
                  n_components: int = 64, entry: int = 0, k_max: float = K_MAX):
    """Simulate a zone's periodic HRTEM images (multislice + partial coherence) → (:class:`Bank`, oriented
    structure). One multislice run gives every thickness [Å]; each defocus Δf [Å] is one image.

    ``cs`` = C30 [Å] (default −15 µm, a corrected microscope), ``focal_spread`` [Å] rms,
    ``sampling`` [Å] of the simulation grid. Raises ``InputError`` for zones whose orthogonal cell is
    larger than ``MAX_CELL`` in plane."""
    from ..optics import Aberrations, image_intensity
    from ..potential import potential
    from ..propagate import multislice, plane_wave
    from ..structure import zone_axis

    thicknesses = np.sort(np.asarray([validate.scalar(t, "thicknesses", "Å", positive=True) for t in thicknesses]))
    defoci = [validate.scalar(f, "defoci", "Å") for f in defoci]
    beam = Beam(beam) if not isinstance(beam, Beam) else beam   # checked before any simulation
    oriented = zone_axis(structure, uvw)
    cell = np.diag(np.asarray(oriented.cell, float))
    if max(cell[0], cell[1]) > MAX_CELL:
        raise validate.InputError(f"zone axis {list(uvw)}: oriented cell {cell[0]:.1f} × {cell[1]:.1f} Å is larger "
                                  f"than {MAX_CELL} Å in plane; not simulated")
    nz = int(np.ceil(thicknesses[-1] / cell[2]))
    slab = oriented.repeat(1, 1, nz)
    dz = cell[2] / max(1, int(np.ceil(cell[2] / 2.0)))
    pot = potential(slab, sampling=sampling, slice_thickness=dz)
    n_slices = int(round(nz * cell[2] / dz))
    counts = sorted({int(np.clip(round(t / dz), 1, n_slices)) for t in thicknesses})
    beam = Beam(beam) if not isinstance(beam, Beam) else beam
    exits = multislice(plane_wave(pot.grid, beam), pot, exit_planes=counts)
    rows = []
    for f in defoci:
        img = np.asarray(image_intensity(exits, Aberrations(C10=-float(f), C30=float(cs)),
                                         focal_spread=focal_spread, n_focal=8))
        for i, c in enumerate(counts):
            k, a, p = image_series(img[i], (cell[1], cell[0]), n_components, k_max)
            rows.append((k, a, p, c * dz, f))
    bank = Bank(np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]), np.stack([r[2] for r in rows]),
                np.full(len(rows), entry, np.int32), np.array([r[3] for r in rows]), np.array([r[4] for r in rows]))
    return bank, oriented
