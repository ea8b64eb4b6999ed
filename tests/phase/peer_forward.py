"""Test helper: an independent float64 NumPy 4D-STEM forward model for the differential tests
(``test_peer_diff.py``): a periodic weak-phase object of any (non-square) size, probe windows of
m × m pixels cut from it at every scan position (so the detector is isotropic whatever the scan),
its own relativistic wavelength and aberration function χ (Krivanek notation, C10 = −Δf), and a
physical descan (a phase ramp on the exit wave moves the pattern by d(r) pixels exactly)."""
import numpy as np

H, ME, QE, C = 6.62607015e-34, 9.1093837015e-31, 1.602176634e-19, 299792458.0


def wavelength(energy):
    """Relativistic electron wavelength [Å] at ``energy`` [eV]."""
    return H / np.sqrt(2 * ME * QE * energy * (1 + QE * energy / (2 * ME * C * C))) * 1e10


def noise_phase(shape, sampling, qmax, sigma=0.02, seed=0):
    """White-noise phase [rad] of RMS ``sigma`` band-limited to |q| < ``qmax`` [1/Å]."""
    w = np.random.default_rng(seed).standard_normal(shape)
    q = np.hypot(*np.meshgrid(np.fft.fftfreq(shape[0], sampling), np.fft.fftfreq(shape[1], sampling), indexing="ij"))
    p = np.real(np.fft.ifft2(np.fft.fft2(w) * (q < qmax)))
    p -= p.mean()
    return sigma * p / p.std()


def chi(ky, kx, lam, C10=0.0, C12=0.0, phi12=0.0, C30=0.0):
    """χ(k) [rad] = 2π/λ (½ α² (C10 + C12 cos 2(φ − φ12)) + ¼ C30 α⁴), α = λ|k|."""
    a2 = lam * lam * (ky * ky + kx * kx)
    phi = np.arctan2(ky, kx)
    return 2 * np.pi / lam * (0.5 * a2 * (C10 + C12 * np.cos(2 * (phi - phi12))) + 0.25 * C30 * a2 * a2)


def simulate(phase, sampling, energy, semiangle, m, step=1, ab=None, descan=None):
    """Patterns (Sy, Sx, m, m), k = 0 at (m//2, m//2), detector pixel 1/(m·sampling) [1/Å]; each sums
    to 1. ``descan(iy, ix)`` → (dy, dx) [px]: the pattern of scan position (iy, ix) moved by d."""
    lam = wavelength(energy)
    k = np.fft.fftfreq(m, sampling)
    ky, kx = np.meshgrid(k, k, indexing="ij")
    kr, kc, ew = np.hypot(ky, kx), semiangle * 1e-3 / lam, 1 / (m * sampling)
    amp = np.where(kr < kc - ew / 2, 1.0, np.where(kr > kc + ew / 2, 0.0, 0.5 * (1 + np.cos(np.pi * (kr - kc + ew / 2) / ew))))
    psi = np.fft.ifft2(amp * np.exp(-1j * chi(ky, kx, lam, **(ab or {}))))
    psi /= np.sqrt(np.sum(np.abs(psi) ** 2))
    t = np.exp(1j * phase)
    ny, nx = phase.shape
    i = np.arange(m)
    i = np.where(i < m // 2, i, i - m)
    pys, pxs = np.arange(0, ny, step), np.arange(0, nx, step)
    rows = (pys[:, None] + i[None]) % ny
    cols = (pxs[:, None] + i[None]) % nx
    # all windows at once: (Sy, Sx, m, m)
    ex = psi * t[rows[:, None, :, None], cols[None, :, None, :]]
    if descan is not None:
        d = np.array([[descan(a, b) for b in range(len(pxs))] for a in range(len(pys))])
        ex = ex * np.exp(2j * np.pi * (d[..., 0, None, None] * i[:, None] + d[..., 1, None, None] * i[None, :]) / m)
    return np.fft.fftshift(np.abs(np.fft.fft2(ex)) ** 2, axes=(-2, -1))


def band_corr(img, truth, sampling, qlo, qhi):
    """Correlation of two images over the scan frequencies qlo < |q| < qhi [1/Å]."""
    f, t = np.fft.fft2(img), np.fft.fft2(truth)
    q = np.hypot(*np.meshgrid(np.fft.fftfreq(img.shape[0], sampling[0]), np.fft.fftfreq(img.shape[1], sampling[1]),
                              indexing="ij"))
    m = (q > qlo) & (q < qhi)
    return float(np.real(np.sum(f[m] * np.conj(t[m]))) / np.sqrt(np.sum(np.abs(f[m]) ** 2) * np.sum(np.abs(t[m]) ** 2)))
