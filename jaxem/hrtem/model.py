"""The HRTEM image model: fit parameters (a pytree) → simulated image, on a periodic supercell.

    structure(columns) → projected potential → multislice (exit planes every repeat unit)
    → thickness interpolation → partially coherent image (``jaxem.optics.imaging.hrtem_image``)

Partial coherence (``method``): ``"envelope"`` (quasi-coherent, default), ``"linear"`` (linear TCC:
beams interfere only with the central beam), ``"focal_average"`` (exact Gauss–Hermite focal
average, convergence as a quasi-coherent envelope per node), ``"explicit"`` (exact average over
focal spread *and* beam convergence: for each of the ``n_tilt``² tilt nodes θ·u_j the exit waves
are recomputed by multislice with that incident tilt (``jaxem.propagate.multislice_tilts``, under
``vmap`` in memory-budget batches), imaged with the tilt-shifted aberration function at each
defocus node and summed with the quadrature weights; cost ≈ n_tilt² multislices and
n_tilt²·n_focal images per render) or ``"coherent"``.
    → image spread, MTF → alignment (shift, optional rotation/scale) → background + contrast·I

Parameters (a dict; units in brackets; arrays per column C):

* optics: ``defocus`` Δf = −C10 [Å], ``Cs`` = C30 [Å], ``A1`` = C12 as a Cartesian pair
  (C12 cos 2φ12, C12 sin 2φ12) [Å], ``B2`` = C21 (C21 cos φ21, C21 sin φ21) [Å], ``A2`` = C23 (cos 3φ,
  sin 3φ) [Å], ``S3`` = C32 [Å], ``A3`` = C34 [Å] (all third-order coefficients), ``focal_spread``
  (rms Δ) [Å], ``convergence`` (1/e half-width) [mrad], ``image_spread`` (σ_y, σ_x) [Å];
* specimen: ``thickness`` [Å] (continuous: the image intensity is interpolated linearly between the
  two nearest exit planes, one per repeat unit along the beam), ``xy`` (C, 2) column positions
  (x, y) [Å], ``B`` (C,) Debye–Waller factors [Å²], ``occupancy`` (C,) column fraction (the
  continuous relaxation of the column atom count n = occupancy·thickness/c, see :func:`column_counts`);
* alignment nuisance: ``shift`` (y, x) [Å] (exact Fourier shift), ``rotation`` [rad] and ``scale``
  (used when the model is built with ``affine=True``; bilinear periodic resampling),
  ``background`` and ``contrast`` (dimensionless; vacuum = background + contrast).

Cartesian pairs avoid the wrap-around and the singular gradient of (C, φ) at C = 0. A column is a
set of atoms of the repeat unit with the same projected (x, y) (within ``column_tol`` [Å]); its atoms
move together. Depth (z) is not a parameter: in the projected-slice potential an atom's z only picks
its slice.

Synthetic data: :func:`synthesize` draws Poisson counts at a dose [e⁻/Å²] plus Gaussian readout
noise [counts] and returns the image in units of the incident intensity.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..optics import Aberrations
from ..optics.imaging import METHODS, hrtem_image, tilt_nodes
from ..potential import potential_builder
from ..propagate import multislice, multislice_tilts, plane_wave
from ..structure import Structure
from .params import Bounds

OPTICS = ("defocus", "Cs", "A1", "B2", "A2", "S3", "A3", "focal_spread", "convergence", "image_spread")
ALIGN = ("shift", "rotation", "scale", "background", "contrast")
SPECIMEN = ("thickness", "xy", "B", "occupancy")

UNITS = {"defocus": "Å", "Cs": "Å", "A1": "Å", "B2": "Å", "A2": "Å", "S3": "Å", "A3": "Å",
         "focal_spread": "Å", "convergence": "mrad", "image_spread": "Å", "thickness": "Å", "xy": "Å",
         "B": "Å²", "occupancy": "", "shift": "Å", "rotation": "rad", "scale": "", "background": "",
         "contrast": ""}


def _safe_polar(pair, m):
    """(C, φ) from a Cartesian pair (C cos mφ, C sin mφ), with finite gradients at C = 0.

    The aberration term C cos(m(φ − φ_m)) = a cos mφ + b sin mφ is linear in (a, b); a 1e-6 Å offset
    on ``a`` keeps the polar chain rule away from its singular point, so the gradient is the exact
    linear one (the offset changes χ by < 1e-6 Å·α^(n+1), far below any measurable effect).
    """
    a, b = pair[0] + 1e-6, pair[1]
    r2 = a * a + b * b
    nz = r2 > 0
    r2s = jnp.where(nz, r2, 1.0)
    c = jnp.where(nz, jnp.sqrt(r2s), 0.0)
    phi = jnp.arctan2(jnp.where(nz, b, 0.0), jnp.where(nz, a, 1.0)) / m
    return c, phi


def aberrations_from_params(p: dict) -> Aberrations:
    """:class:`jaxem.optics.Aberrations` from the optics entries of a parameter dict (traceable)."""
    c12, p12 = _safe_polar(p["A1"], 2)
    c21, p21 = _safe_polar(p["B2"], 1)
    c23, p23 = _safe_polar(p["A2"], 3)
    c32, p32 = _safe_polar(p["S3"], 2)
    c34, p34 = _safe_polar(p["A3"], 4)
    return Aberrations(C10=-p["defocus"], C12=c12, phi12=p12, C21=c21, phi21=p21, C23=c23, phi23=p23,
                       C30=p["Cs"], C32=c32, phi32=p32, C34=c34, phi34=p34)


def group_columns(xy: np.ndarray, lengths, tol: float):
    """Column index per atom: atoms whose periodic projected distance is < ``tol`` [Å] share a column."""
    lengths = np.asarray(lengths, float)
    col = -np.ones(len(xy), int)
    centres = []
    for i, p in enumerate(xy):
        for c, q in enumerate(centres):
            d = p - q
            d -= lengths * np.round(d / lengths)
            if np.hypot(*d) < tol:
                col[i] = c
                break
        else:
            col[i] = len(centres)
            centres.append(p)
    return col, np.asarray(centres)


class HRTEMModel:
    """A fixed imaging configuration and specimen layout; ``render(params)`` is pure and jit-able.

    Args:
        structure: the supercell seen along z, made by ``Structure.repeat(nx, ny, nz)`` so that
            ``z_repeats = nz``; nz sets the largest thickness (nz · c) [Å].
        energy: beam energy [eV].
        sampling: pixel size [Å] (the image grid; sets gpts = ceil(extent / sampling)).
        slice_thickness: largest slice thickness [Å] within one repeat unit.
        method: ``"envelope"``, ``"linear"``, ``"focal_average"``, ``"explicit"`` or ``"coherent"``
            (module docstring).
        n_focal: Gauss–Hermite defocus nodes for ``"focal_average"`` and ``"explicit"``.
        n_tilt: Gauss–Hermite tilt nodes per axis for ``"explicit"`` (n_tilt² multislices per render).
        objective_aperture: semi-angle [mrad] or None.
        mtf: :class:`jaxem.optics.DetectorMTF` or None.
        column_tol: projected distance [Å] below which atoms form one column (0 = every atom free).
        affine: include rotation and scale in the alignment (bilinear resampling).
        precision: ``"float32"`` (default) or ``"float64"``.
    """

    def __init__(self, structure: Structure, energy: float, sampling: float = 0.1, slice_thickness: float = 2.1,
                 method: str = "envelope", n_focal: int = 8, n_tilt: int = 3, objective_aperture=None, mtf=None,
                 column_tol: float = 0.05, affine: bool = False, precision: str = "float32"):
        if not isinstance(structure, Structure):
            raise TypeError(f"structure must be a jaxem Structure, got {type(structure).__name__}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if not (isinstance(energy, (int, float)) and math.isfinite(energy) and energy > 0):
            raise ValueError(f"energy must be a finite number > 0 [eV], got {energy!r}")
        if not (np.ndim(sampling) == 0 and 0.005 < float(sampling) < 2.0):
            raise ValueError(f"sampling must be a scalar pixel size in (0.005, 2) Å, got {sampling!r}")
        if precision not in ("float32", "float64"):
            raise ValueError(f"precision must be 'float32' or 'float64', got {precision!r}")
        self.structure = structure
        self.energy = float(energy)
        self.method, self.n_focal, self.n_tilt = method, int(n_focal), int(n_tilt)
        self._tilt_units = tilt_nodes(self.n_tilt)[0]
        self.objective_aperture, self.mtf = objective_aperture, mtf
        self.affine, self.precision = bool(affine), precision
        self.dtype = jnp.float64 if precision == "float64" else jnp.float32
        self._build = potential_builder(structure, sampling=sampling, slice_thickness=slice_thickness,
                                        debye_waller=True, precision=precision)
        pot0 = self._build(structure)
        self.grid = pot0.grid
        self.repeats = int(structure.z_repeats)
        self.unit_slices = pot0.n_slices // self.repeats
        self.exit_planes = tuple(self.unit_slices * (k + 1) for k in range(self.repeats))
        lx, ly, lz = structure.lengths
        self.unit_length = lz / self.repeats
        self.lengths = (lx, ly)
        self.n_unit = len(structure) // self.repeats
        pos = np.asarray(structure.positions)[:self.n_unit]
        self.columns, centres = group_columns(pos[:, :2], (lx, ly), column_tol)
        self.n_columns = len(centres)
        self.column_xy = centres
        self.column_species = [sorted({int(z) for z in np.asarray(structure.numbers)[:self.n_unit][self.columns == c]})
                               for c in range(self.n_columns)]
        self._offsets = pos[:, :2] - centres[self.columns]
        self._render = jax.jit(self._render_impl)

    # ---- parameters ----------------------------------------------------------------------------
    @property
    def gpts(self):
        return self.grid.gpts

    @property
    def thickness_range(self):
        """(smallest, largest) thickness the exit planes cover [Å]."""
        return self.unit_length, self.unit_length * self.repeats

    def default_params(self, aberrations: Aberrations | None = None, thickness=None, focal_spread=0.0,
                       convergence=0.0, image_spread=0.0) -> dict:
        """Parameters of the reference structure (column centres, its B, full occupancy)."""
        ab = aberrations if aberrations is not None else Aberrations()
        d = self.dtype

        def pair(c, phi, m):
            return jnp.asarray([c * np.cos(m * phi), c * np.sin(m * phi)], d)

        b_atoms = np.asarray(self.structure.B)[:self.n_unit]
        b_col = np.array([b_atoms[self.columns == c].mean() for c in range(self.n_columns)])
        t = self.thickness_range[1] if thickness is None else thickness
        return {
            "defocus": jnp.asarray(-float(ab.C10), d), "Cs": jnp.asarray(float(ab.C30), d),
            "A1": pair(float(ab.C12), float(ab.phi12), 2), "B2": pair(float(ab.C21), float(ab.phi21), 1),
            "A2": pair(float(ab.C23), float(ab.phi23), 3), "S3": pair(float(ab.C32), float(ab.phi32), 2),
            "A3": pair(float(ab.C34), float(ab.phi34), 4),
            "focal_spread": jnp.asarray(focal_spread, d), "convergence": jnp.asarray(convergence, d),
            "image_spread": jnp.broadcast_to(jnp.asarray(image_spread, d), (2,)),
            "thickness": jnp.asarray(t, d), "xy": jnp.asarray(self.column_xy, d),
            "B": jnp.asarray(b_col, d), "occupancy": jnp.ones(self.n_columns, d),
            "shift": jnp.zeros(2, d), "rotation": jnp.asarray(0.0, d), "scale": jnp.asarray(1.0, d),
            "background": jnp.asarray(0.0, d), "contrast": jnp.asarray(1.0, d),
        }

    def default_bounds(self, params: dict, names=None, position_window: float = 0.3) -> Bounds:
        """Physically sensible bounds for ``names`` (default: all) around ``params``.

        Positions get ``xy ± position_window`` [Å]; aberrations ± generous residual ranges.
        """
        t0, t1 = self.thickness_range
        xy = np.asarray(params["xy"], float)
        spec = {
            "defocus": (-2000.0, 2000.0), "Cs": (-2e5, 2e5), "A1": (-300.0, 300.0), "B2": (-5e3, 5e3),
            "A2": (-5e3, 5e3), "S3": (-1e5, 1e5), "A3": (-1e5, 1e5), "focal_spread": (0.0, 200.0),
            "convergence": (0.0, 2.0), "image_spread": (0.0, 2.0), "thickness": (t0, t1),
            "xy": (xy - position_window, xy + position_window), "B": (0.0, 5.0), "occupancy": (0.0, 1.1),
            "shift": (-2.0, 2.0), "rotation": (-0.05, 0.05), "scale": (0.95, 1.05), "background": (-1.0, 1.0),
            "contrast": (0.05, 5.0),
        }
        names = tuple(spec) if names is None else tuple(names)
        return Bounds.create({n: (*spec[n], UNITS[n]) for n in names}, like=params)

    def check_params(self, params: dict) -> None:
        """Raise ``ValueError`` for missing entries, wrong shapes, NaN or unphysical values."""
        ref = self.default_params()
        for n, v in ref.items():
            if n not in params:
                raise ValueError(f"params lacks {n!r}; expected keys {sorted(ref)}")
            a = np.asarray(params[n], float)
            if a.shape != np.shape(v):
                raise ValueError(f"params[{n!r}] must have shape {np.shape(v)}, got {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"params[{n!r}] contains NaN/inf")
        t0, t1 = self.thickness_range
        checks = [("focal_spread", 0, None), ("convergence", 0, None), ("image_spread", 0, None), ("B", 0, None),
                  ("occupancy", 0, None), ("thickness", t0 * (1 - 1e-9), t1 * (1 + 1e-9)), ("scale", 1e-6, None),
                  ("contrast", 1e-9, None)]
        for n, lo, hi in checks:
            a = np.asarray(params[n], float)
            if np.any(a < lo) or (hi is not None and np.any(a > hi)):
                rng = f"[{lo:.6g}, {hi:.6g}]" if hi is not None else f"≥ {lo:.6g}"
                raise ValueError(f"params[{n!r}] = {a} {UNITS[n]} is out of its physical range {rng} {UNITS[n]}")

    def check_data(self, image, sampling=None) -> jnp.ndarray:
        """Validate an experimental image against the model grid; returns it as an array."""
        a = np.asarray(image)
        if a.ndim != 2 or tuple(a.shape) != tuple(self.gpts):
            raise ValueError(f"image must have shape {tuple(self.gpts)} (the model grid, sampling "
                             f"{self.grid.sampling} Å), got {a.shape}")
        if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"image must be a real array, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"image contains {int(np.sum(~np.isfinite(a)))} NaN/inf pixels")
        if sampling is not None:
            s = np.broadcast_to(np.asarray(sampling, float), (2,))
            if not np.allclose(s, self.grid.sampling, rtol=1e-3):
                raise ValueError(f"image sampling {tuple(s)} Å does not match the model sampling "
                                 f"{self.grid.sampling} Å")
        return jnp.asarray(a, self.dtype)

    # ---- forward model -------------------------------------------------------------------------
    def structure_from_params(self, p: dict) -> Structure:
        """The supercell with the column positions, B and occupancies of ``p`` (traceable)."""
        st = self.structure
        d = self.dtype
        col = jnp.asarray(self.columns)
        xy = jnp.asarray(p["xy"], d)[col] + jnp.asarray(self._offsets, d)
        pos = jnp.asarray(st.positions, d).at[:self.n_unit, :2].set(xy)
        u2 = jnp.asarray(st.u2, d).at[:self.n_unit].set(
            jnp.repeat((jnp.asarray(p["B"], d)[col] / (8 * math.pi**2))[:, None], 3, axis=1))
        occ = jnp.asarray(st.occupancy, d).at[:self.n_unit].multiply(jnp.asarray(p["occupancy"], d)[col])
        return st.replace(positions=pos, u2=u2, occupancy=occ)

    def exit_waves(self, p: dict):
        """Exit waves (repeats, ny, nx) at the exit planes (one per repeat unit); for
        ``method="explicit"`` (n_tilt², repeats, ny, nx), one set per tilt node convergence·u_j [mrad]."""
        pot = self._build(self.structure_from_params(p))
        if self.method == "explicit":
            tilts = jnp.asarray(p["convergence"], self.dtype) * jnp.asarray(self._tilt_units, self.dtype)
            return multislice_tilts(pot, self.energy, tilts, exit_planes=list(self.exit_planes),
                                    precision=self.precision)
        wave = plane_wave(self.grid, self.energy, precision=self.precision)
        return multislice(wave, pot, exit_planes=list(self.exit_planes)).array

    def plane_weights(self, thickness, xp=jnp):
        """Linear interpolation between exit planes: (i0, w) such that the image at ``thickness`` [Å]
        is (1 − w)·I[i0] + w·I[i0 + 1] (planes at 1…repeats unit lengths; clipped to that range).
        ``xp`` = ``jnp`` (traceable) or ``np`` (per-pixel maps); for one repeat i0 = 0, w = 0."""
        if self.repeats == 1:
            return xp.zeros(xp.shape(thickness), xp.int32), xp.zeros(xp.shape(thickness), self.dtype)
        s = xp.clip(xp.asarray(thickness, self.dtype) / self.unit_length - 1.0, 0.0, self.repeats - 1.0)
        i0 = xp.clip(xp.floor(s), 0, self.repeats - 2).astype(xp.int32)
        return i0, s - i0

    def _intensity(self, waves, p):
        axis = 1 if self.method == "explicit" else 0  # (tilt node, plane, ny, nx) for "explicit"
        i0, w = self.plane_weights(p["thickness"])
        pair = jax.lax.dynamic_slice_in_dim(waves, i0, min(2, self.repeats), axis=axis)
        img = hrtem_image(pair, self.grid, self.energy, aberrations_from_params(p),
                          objective_aperture=self.objective_aperture, focal_spread=p["focal_spread"],
                          source_angle=p["convergence"], image_spread=p["image_spread"], mtf=self.mtf,
                          method=self.method, n_focal=self.n_focal, n_tilt=self.n_tilt,
                          tilted_exit_waves=self.method == "explicit", precision=self.precision)
        return img[0] if self.repeats == 1 else (1 - w) * img[0] + w * img[1]

    def _align(self, img, p):
        d = self.dtype
        ky, kx = self.grid.frequencies(d)
        sh = jnp.asarray(p["shift"], d)
        phase = jnp.exp(-2j * jnp.pi * (ky[:, None] * sh[0] + kx[None, :] * sh[1]))
        img = jnp.fft.ifft2(jnp.fft.fft2(img) * phase).real.astype(d)
        if self.affine:
            ny, nx = self.gpts
            yy, xx = jnp.meshgrid(jnp.arange(ny, dtype=d), jnp.arange(nx, dtype=d), indexing="ij")
            cy, cx = (ny - 1) / 2, (nx - 1) / 2
            c, s_ = jnp.cos(p["rotation"]), jnp.sin(p["rotation"])
            sc = p["scale"]
            dy, dx = yy - cy, xx - cx
            src_y = cy + (c * dy - s_ * dx) / sc
            src_x = cx + (s_ * dy + c * dx) / sc
            img = jax.scipy.ndimage.map_coordinates(img, [src_y, src_x], order=1, mode="wrap")
        return p["background"] + p["contrast"] * img

    def _render_impl(self, p):
        return self._align(self._intensity(self.exit_waves(p), p), p).astype(self.dtype)

    def render(self, params: dict):
        """Simulated image (ny, nx) [units of the incident intensity] for ``params`` (pure, jit-compiled)."""
        return self._render(params)


def column_counts(model: HRTEMModel, params: dict):
    """Continuous column atom counts n_c = occupancy_c · thickness / c (atoms per column) (C,)."""
    return jnp.asarray(params["occupancy"]) * params["thickness"] / model.unit_length


def round_counts(model: HRTEMModel, params: dict) -> dict:
    """Snap the relaxed counts to integers: thickness to whole unit cells, occupancy·n_cells to integers."""
    n_cells = jnp.clip(jnp.round(params["thickness"] / model.unit_length), 1, model.repeats)
    counts = jnp.round(column_counts(model, params))
    occ = jnp.clip(counts / n_cells, 0.0, 1.0)
    return {**params, "thickness": n_cells * model.unit_length, "occupancy": occ.astype(params["occupancy"].dtype)}


def synthesize(key, image, dose: float, sampling, readout_noise: float = 0.0, conversion: float = 1.0):
    """Noisy image: Poisson electron counts at ``dose`` [e⁻/Å²], × ``conversion`` [counts/e⁻], plus
    Gaussian readout noise of rms ``readout_noise`` [counts]; returned in incident-intensity units.

    Args:
        key: ``jax.random`` key.
        image: noise-free intensity (ny, nx) (vacuum = 1), ≥ 0.
        dose: electrons per Å² [e⁻/Å²], > 0.
        sampling: pixel size [Å] (scalar or (dy, dx)).
        readout_noise: rms readout noise [counts], ≥ 0.
        conversion: detector counts per electron, > 0.
    """
    if not (math.isfinite(dose) and dose > 0):
        raise ValueError(f"dose must be finite and > 0 [e⁻/Å²], got {dose!r}")
    if not (math.isfinite(readout_noise) and readout_noise >= 0):
        raise ValueError(f"readout_noise must be ≥ 0 [counts], got {readout_noise!r}")
    if not (math.isfinite(conversion) and conversion > 0):
        raise ValueError(f"conversion must be > 0 [counts/e⁻], got {conversion!r}")
    img = jnp.asarray(image)
    if not bool(jnp.all(jnp.isfinite(img))) or bool(jnp.any(img < 0)):
        raise ValueError("image must be finite and non-negative to draw Poisson counts")
    s = np.broadcast_to(np.asarray(sampling, float), (2,))
    n_e = dose * float(s[0] * s[1])
    k1, k2 = jax.random.split(key)
    counts = jax.random.poisson(k1, n_e * img).astype(img.dtype) * conversion
    counts = counts + readout_noise * jax.random.normal(k2, img.shape, img.dtype)
    return counts / (n_e * conversion)


def discrete_check(model: HRTEMModel, params: dict, data, loss=None) -> dict:
    """Final discrete check of the relaxed counts: losses of the relaxed and of the rounded model.

    Returns ``{"relaxed": loss, "rounded": loss, "params": rounded params, "counts": integer counts}``;
    a rounded loss far above the relaxed one says the data prefer a non-integer (mixed) column.
    """
    from .losses import l2

    lossf = l2 if loss is None else loss
    data = model.check_data(data)
    r = round_counts(model, params)
    return {"relaxed": float(lossf(model.render(params), data)), "rounded": float(lossf(model.render(r), data)),
            "params": r, "counts": np.asarray(jnp.round(column_counts(model, r))).astype(int)}
