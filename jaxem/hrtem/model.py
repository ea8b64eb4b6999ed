"""The HRTEM image model: fit parameters (a pytree) → simulated image, on a periodic supercell.

    structure(columns) → projected potential → multislice (exit planes every repeat unit)
    → thickness interpolation → partially coherent image (``jaxem.optics.image_intensity``)

Partial coherence (``method``): ``"envelope"`` (quasi-coherent, default), ``"linear"`` (linear TCC:
beams interfere only with the central beam), ``"focal_average"`` (exact Gauss–Hermite focal
average, convergence as a quasi-coherent envelope per node), ``"explicit"`` (exact average over
focal spread *and* beam convergence: for each of the ``n_tilt``² tilt nodes θ·u_j the exit waves
are recomputed by multislice with that incident tilt (``jaxem.propagate.multislice_tilts``, under
``vmap`` in memory-budget batches), imaged with the tilt-shifted aberration function at each
defocus node and summed with the quadrature weights; cost ≈ n_tilt² multislices and
n_tilt²·n_focal images per render) or ``"coherent"``.
    → image spread, MTF → alignment (shift, optional rotation/scale) → background + contrast·I

The beam (energy [eV], tilt [mrad]) travels as one :class:`jaxem.Beam`: the model stores it, the
waves carry it, and the imaging reads λ from it.

Parameters (:class:`jaxem.hrtem.HRTEMParams`, a pytree dataclass whose fields carry their units;
arrays per column C):

* optics: ``defocus`` Δf = −C10 [Å], ``Cs`` = C30 [Å], ``A1`` = C12 as a Cartesian pair
  (C12 cos 2φ12, C12 sin 2φ12) [Å], ``B2`` = C21 (C21 cos φ21, C21 sin φ21) [Å], ``A2`` = C23 (cos 3φ,
  sin 3φ) [Å], ``S3`` = C32 [Å], ``A3`` = C34 [Å] (all third-order coefficients), ``focal_spread``
  (rms Δ) [Å], ``convergence`` (1/e half-width) [mrad], ``image_spread`` (σ_y, σ_x) [Å];
* specimen: ``thickness`` [Å] (continuous: the image intensity is interpolated linearly between the
  two nearest exit planes, one per repeat unit along the beam), ``xy`` (C, 2) column positions
  (x, y) [Å], ``B`` (C,) Debye–Waller factors [Å²], ``occupancy`` (C,) column fraction (the
  continuous relaxation of the column atom count n = occupancy·thickness/c, see :func:`column_counts`);
* alignment nuisance: ``shift`` (y, x) [Å] (exact Fourier shift, ``jaxem.optics.fourier_shift``),
  ``rotation`` [rad] and ``scale``
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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, noise, pytree, validate
from ..beam import as_beam
from ..optics import Aberrations, DetectorMTF, fourier_shift, image_intensity
from ..optics.apertures import as_aperture, check_on_grid
from ..optics.imaging import MAX_NODES, MAX_TILT_NODES, METHODS, tilt_nodes
from ..potential import potential_builder
from ..propagate import Waves, multislice, multislice_tilts, plane_wave
from ..structure import Structure
from .params import Bounds, HRTEMParams

OPTICS = ("defocus", "Cs", "A1", "B2", "A2", "S3", "A3", "focal_spread", "convergence", "image_spread")
ALIGN = ("shift", "rotation", "scale", "background", "contrast")
SPECIMEN = ("thickness", "xy", "B", "occupancy")


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


@validate.typed
def aberrations_from_params(p: HRTEMParams) -> Aberrations:
    """:class:`jaxem.optics.Aberrations` from the optics fields of ``p`` (traceable)."""
    if not isinstance(p, HRTEMParams):
        raise validate.InputTypeError(f"p must be HRTEMParams, got {type(p).__name__}")
    c12, p12 = _safe_polar(p.A1, 2)
    c21, p21 = _safe_polar(p.B2, 1)
    c23, p23 = _safe_polar(p.A2, 3)
    c32, p32 = _safe_polar(p.S3, 2)
    c34, p34 = _safe_polar(p.A3, 4)
    return Aberrations(C10=-p.defocus, C12=c12, phi12=p12, C21=c21, phi21=p21, C23=c23, phi23=p23,
                       C30=p.Cs, C32=c32, phi32=p32, C34=c34, phi34=p34)


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
    """A fixed imaging configuration and specimen layout; ``render(params)`` is pure and jit-compiled.

    Args:
        structure: the supercell seen along z, made by ``Structure.repeat(nx, ny, nz)`` so that
            ``z_repeats = nz``; nz sets the largest thickness (nz · c) [Å].
        beam: :class:`jaxem.Beam`, or an energy [eV] / a string such as ``"300 kV"``.
        sampling: largest pixel size [Å] in (0.005, 2) (the grid is rounded up to FFT-friendly sizes).
        gpts: exact image grid (ny, nx) instead of ``sampling`` (e.g. the pixels of an experimental
            image that covers the supercell).
        slice_thickness: largest slice thickness [Å] (the repeat unit along z is cut into equal slices).
        method: partial-coherence model (module docstring): "envelope", "linear", "focal_average",
            "explicit" or "coherent".
        n_focal: Gauss–Hermite defocus nodes (focal_average, explicit), ≥ 1.
        n_tilt: Gauss–Hermite tilt nodes per axis (explicit), ≥ 1.
        objective_aperture: semi-angle [mrad], a :class:`jaxem.optics.Aperture`, or None.
        mtf: :class:`jaxem.optics.DetectorMTF` or None.
        column_tol: atoms closer than this in projection form one column [Å], > 0.
        affine: fit rotation and scale (bilinear resampling) besides the shift.
        precision: any alias of ``jaxem.accel.PRECISION_ALIASES`` (default float32).
        memory_budget: bytes (or "2G") for batching tilt and focal nodes (default from ``jaxem.accel``).
    """

    def __init__(self, structure: Structure, beam, sampling=0.1, gpts=None, slice_thickness=2.1,
                 method: str = "envelope", n_focal: int = 8, n_tilt: int = 3, objective_aperture=None, mtf=None,
                 column_tol=0.05, affine: bool = False, precision=None, memory_budget=None):
        if not isinstance(structure, Structure):
            raise validate.InputTypeError(f"structure must be a jaxem Structure, got {type(structure).__name__}")
        self.beam = as_beam(beam)
        self.method = validate.choice(method, "method", METHODS)
        self.n_focal = validate.integer(n_focal, "n_focal", lo=1, hi=MAX_NODES)
        self.n_tilt = validate.integer(n_tilt, "n_tilt", lo=1, hi=MAX_TILT_NODES)
        self._tilt_units = tilt_nodes(self.n_tilt)[0]
        if gpts is None:
            sampling = validate.scalar(sampling, "sampling", "Å", lo=0.005, hi=2.0, lo_open=True, hi_open=True)
        else:
            gpts = validate.pair(gpts, "gpts", kind=int, lo=2)
            sampling = None
        slice_thickness = validate.scalar(slice_thickness, "slice_thickness", "Å", positive=True)
        column_tol = validate.scalar(column_tol, "column_tol", "Å", positive=True)
        if mtf is not None and not isinstance(mtf, DetectorMTF):
            raise validate.InputTypeError(f"mtf must be a jaxem.optics.DetectorMTF or None, got {type(mtf).__name__}")
        self.precision = accel.resolve_precision(precision)
        self.dtype, self.cdtype = accel.dtypes(self.precision)
        self.memory_budget = memory_budget
        self.objective_aperture, self.mtf = as_aperture(objective_aperture, "objective_aperture"), mtf
        self.affine = bool(affine)
        self.structure = structure
        self._build = potential_builder(structure, sampling=sampling, gpts=gpts, slice_thickness=slice_thickness,
                                        debye_waller=True, precision=self.precision)
        pot0 = self._build(structure)
        self.grid = pot0.grid
        self.beam.check_tilt(self.grid)
        check_on_grid(self.objective_aperture, self.grid, self.beam, "objective_aperture")
        self.repeats = int(structure.z_repeats)
        if pot0.n_slices % self.repeats:
            raise validate.InputError(f"structure: {pot0.n_slices} slices do not divide into z_repeats = "
                                      f"{self.repeats} equal units; build it with Structure.repeat(nx, ny, nz)")
        self.unit_slices = pot0.n_slices // self.repeats
        self.exit_planes = tuple(self.unit_slices * (k + 1) for k in range(self.repeats))
        lx, ly, lz = (float(v) for v in structure.lengths)
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
    def energy(self) -> float:
        """Beam energy [eV] (from :attr:`beam`)."""
        return self.beam.energy

    @property
    def thickness_range(self):
        """(smallest, largest) thickness the exit planes cover [Å]."""
        return self.unit_length, self.unit_length * self.repeats

    def default_params(self, aberrations: Aberrations | None = None, thickness=None, focal_spread=0.0,
                       convergence=0.0, image_spread=0.0) -> HRTEMParams:
        """Parameters of the reference structure (column centres, its B, full occupancy).

        Args:
            aberrations: :class:`jaxem.optics.Aberrations` (default: none).
            thickness: [Å] (default: the largest, all repeat units).
            focal_spread: rms [Å], ≥ 0.  convergence: [mrad], ≥ 0.  image_spread: [Å], ≥ 0.
        """
        ab = aberrations if aberrations is not None else Aberrations()
        if not isinstance(ab, Aberrations):
            raise validate.InputTypeError(f"aberrations must be jaxem.optics.Aberrations or None, got "
                                          f"{type(ab).__name__}")
        d = self.dtype
        focal_spread = validate.scalar(focal_spread, "focal_spread", "Å", nonnegative=True)
        convergence = validate.scalar(convergence, "convergence", "mrad", nonnegative=True)
        image_spread = validate.pair(image_spread, "image_spread", "Å", nonnegative=True)
        t0, t1 = self.thickness_range
        t = t1 if thickness is None else validate.scalar(thickness, "thickness", "Å", lo=t0 * (1 - 1e-9),
                                                         hi=t1 * (1 + 1e-9))

        def pair(c, phi, m):
            return jnp.asarray([c * np.cos(m * phi), c * np.sin(m * phi)], d)

        def f(name):
            return float(np.asarray(getattr(ab, name)))

        b_atoms = np.asarray(self.structure.B)[:self.n_unit]
        b_col = np.array([b_atoms[self.columns == c].mean() for c in range(self.n_columns)])
        return HRTEMParams(
            defocus=jnp.asarray(-f("C10"), d), Cs=jnp.asarray(f("C30"), d),
            A1=pair(f("C12"), f("phi12"), 2), B2=pair(f("C21"), f("phi21"), 1),
            A2=pair(f("C23"), f("phi23"), 3), S3=pair(f("C32"), f("phi32"), 2), A3=pair(f("C34"), f("phi34"), 4),
            focal_spread=jnp.asarray(focal_spread, d), convergence=jnp.asarray(convergence, d),
            image_spread=jnp.asarray(image_spread, d), thickness=jnp.asarray(t, d),
            xy=jnp.asarray(self.column_xy, d), B=jnp.asarray(b_col, d), occupancy=jnp.ones(self.n_columns, d),
            shift=jnp.zeros(2, d), rotation=jnp.asarray(0.0, d), scale=jnp.asarray(1.0, d),
            background=jnp.asarray(0.0, d), contrast=jnp.asarray(1.0, d))

    def param_shapes(self) -> HRTEMParams:
        """The shape of every parameter (as a parameter set of tuples)."""
        c = self.n_columns
        return HRTEMParams(defocus=(), Cs=(), A1=(2,), B2=(2,), A2=(2,), S3=(2,), A3=(2,), focal_spread=(),
                           convergence=(), image_spread=(2,), thickness=(), xy=(c, 2), B=(c,), occupancy=(c,),
                           shift=(2,), rotation=(), scale=(), background=(), contrast=())

    def default_bounds(self, params: HRTEMParams, names=None, position_window=0.3) -> Bounds:
        """Physically sensible bounds for ``names`` (default: all) around ``params``.

        Positions get ``xy ± position_window`` [Å]; aberrations ± generous residual ranges.
        """
        position_window = validate.scalar(position_window, "position_window", "Å", positive=True)
        t0, t1 = self.thickness_range
        xy = np.asarray(params.xy, float)
        spec = {
            "defocus": (-2000.0, 2000.0), "Cs": (-2e5, 2e5), "A1": (-300.0, 300.0), "B2": (-5e3, 5e3),
            "A2": (-5e3, 5e3), "S3": (-1e5, 1e5), "A3": (-1e5, 1e5), "focal_spread": (0.0, 200.0),
            "convergence": (0.0, 2.0), "image_spread": (0.0, 2.0), "thickness": (t0, t1),
            "xy": (xy - position_window, xy + position_window), "B": (0.0, 5.0), "occupancy": (0.0, 1.1),
            "shift": (-2.0, 2.0), "rotation": (-0.05, 0.05), "scale": (0.95, 1.05), "background": (-1.0, 1.0),
            "contrast": (0.05, 5.0),
        }
        if names is None:
            names = tuple(spec)
        elif isinstance(names, str):
            names = (names,)
        for n in names:
            if n not in spec:
                validate.choice(n, "names", tuple(spec))
        return Bounds.create(params, **{n: spec[n] for n in names})

    def check_params(self, params, name: str = "params") -> None:
        """Raise for a parameter set that is not a full :class:`HRTEMParams` of this model's shapes, or
        that holds NaN/inf or unphysical values (naming the field, its value, range and units).
        Traced values (inside ``jit``/``grad``) are checked for structure only."""
        if not isinstance(params, HRTEMParams):
            raise validate.InputTypeError(f"{name} must be jaxem.hrtem.HRTEMParams (see model.default_params()), "
                                          f"got {type(params).__name__}")
        units = pytree.units_of(params)
        shapes = self.param_shapes()
        for n in pytree.data_fields(params):
            v, want = getattr(params, n), getattr(shapes, n)
            if v is None:
                raise validate.InputError(f"{name}.{n} is not set; start from model.default_params()")
            if tuple(jnp.shape(v)) != tuple(want):
                raise validate.InputError(f"{name}.{n} must have shape {tuple(want)} [{units[n]}], got "
                                          f"{tuple(jnp.shape(v))}")
        if validate.is_traced(params):
            return
        params = jax.device_get(params)  # one transfer for all fields
        for n in pytree.data_fields(params):
            validate.array(np.asarray(getattr(params, n)), f"{name}.{n}", kind="real", units=units[n])
        t0, t1 = self.thickness_range
        # thickness: 1e-6 relative slack, so a float32-rounded end of the range is accepted
        checks = [("focal_spread", 0, None), ("convergence", 0, None), ("image_spread", 0, None), ("B", 0, None),
                  ("occupancy", 0, None), ("thickness", t0 * (1 - 1e-6), t1 * (1 + 1e-6)), ("scale", 1e-6, None),
                  ("contrast", 1e-9, None)]
        for n, lo, hi in checks:
            a = np.asarray(getattr(params, n), float)
            if np.any(a < lo) or (hi is not None and np.any(a > hi)):
                rng = f"[{lo:.6g}, {hi:.6g}]" if hi is not None else f"≥ {lo:.6g}"
                raise validate.InputError(f"{name}.{n} = {a} {units[n]} is out of its physical range {rng} {units[n]}")

    def check_data(self, image, sampling=None) -> jnp.ndarray:
        """Validate an experimental image on the model grid: a real (ny, nx) = ``gpts`` array without
        NaN/inf, and (when ``sampling`` [Å] is given, or ``image`` is a Measurement with Å axes) of
        the model's pixel size; returns it as an array of the model's dtype. Images of another size or
        calibration go through :func:`jaxem.hrtem.image_on_model_grid` first."""
        from ..measurement import Measurement

        if isinstance(image, Measurement):
            if sampling is None:
                units = [a.units for a in image.axes[-2:]]
                if all(u == "Å" for u in units):
                    sampling = tuple(a.sampling for a in image.axes[-2:])
            image = image.array
        validate.array(image, "image", ndim=2, kind="real", finite=False)
        if tuple(np.shape(image)) != tuple(self.gpts):
            raise validate.InputError(f"image must have shape {tuple(self.gpts)} (the model grid, sampling "
                                      f"{tuple(round(s, 6) for s in self.grid.sampling)} Å), got {tuple(np.shape(image))}")
        a = np.asarray(image)
        validate.array(a, "image", kind="real")
        if sampling is not None:
            s = np.asarray(validate.pair(sampling, "sampling", "Å", positive=True))
            if not np.allclose(s, self.grid.sampling, rtol=1e-3):
                raise validate.InputError(f"image sampling {tuple(float(v) for v in s)} Å does not match the model "
                                          f"sampling {tuple(float(v) for v in self.grid.sampling)} Å; resample it "
                                          f"with jaxem.hrtem.image_on_model_grid")
        return jnp.asarray(a, self.dtype)

    # ---- forward model -------------------------------------------------------------------------
    def structure_from_params(self, p: HRTEMParams) -> Structure:
        """The supercell with the column positions, B and occupancies of ``p`` (traceable)."""
        st = self.structure
        d = self.dtype
        col = jnp.asarray(self.columns)
        xy = jnp.asarray(p.xy, d)[col] + jnp.asarray(self._offsets, d)
        pos = jnp.asarray(st.positions, d).at[:self.n_unit, :2].set(xy)
        u2 = jnp.asarray(st.u2, d).at[:self.n_unit].set(
            jnp.repeat((jnp.asarray(p.B, d)[col] / (8 * math.pi**2))[:, None], 3, axis=1))
        occ = jnp.asarray(st.occupancy, d).at[:self.n_unit].multiply(jnp.asarray(p.occupancy, d)[col])
        return st.replace(positions=pos, u2=u2, occupancy=occ)

    def exit_waves(self, p: HRTEMParams):
        """Exit waves (repeats, ny, nx) at the exit planes (one per repeat unit); for
        ``method="explicit"`` (n_tilt², repeats, ny, nx), one set per tilt node convergence·u_j [mrad]
        relative to the beam. Traceable."""
        pot = self._build(self.structure_from_params(p))
        if self.method == "explicit":
            tilts = jnp.asarray(p.convergence, self.dtype) * jnp.asarray(self._tilt_units, self.dtype)
            return multislice_tilts(pot, self.beam, tilts, exit_planes=list(self.exit_planes),
                                    precision=self.precision, memory_budget=self.memory_budget)
        wave = plane_wave(self.grid, self.beam, precision=self.precision)
        return multislice(wave, pot, exit_planes=list(self.exit_planes), memory_budget=self.memory_budget).array

    def plane_weights(self, thickness, xp=jnp):
        """Linear interpolation between exit planes: (i0, w) such that the image at ``thickness`` [Å]
        is (1 − w)·I[i0] + w·I[i0 + 1] (planes at 1…repeats unit lengths; clipped to that range).
        ``xp`` = ``jnp`` (traceable) or ``np`` (per-pixel maps); for one repeat i0 = 0, w = 0."""
        if self.repeats == 1:
            return xp.zeros(xp.shape(thickness), xp.int32), xp.zeros(xp.shape(thickness), self.dtype)
        s = xp.clip(xp.asarray(thickness, self.dtype) / self.unit_length - 1.0, 0.0, self.repeats - 1.0)
        i0 = xp.clip(xp.floor(s), 0, self.repeats - 2).astype(xp.int32)
        return i0, s - i0

    def _intensity(self, waves, p: HRTEMParams):
        axis = 1 if self.method == "explicit" else 0  # (tilt node, plane, ny, nx) for "explicit"
        i0, w = self.plane_weights(p.thickness)
        pair = jax.lax.dynamic_slice_in_dim(waves, i0, min(2, self.repeats), axis=axis)
        ny, nx = self.gpts
        img = image_intensity(Waves(pair, self.grid, self.beam, float(ny * nx)), aberrations_from_params(p),
                              objective_aperture=self.objective_aperture, focal_spread=p.focal_spread,
                              source_angle=p.convergence, image_spread=p.image_spread, mtf=self.mtf,
                              method=self.method, n_focal=self.n_focal, n_tilt=self.n_tilt,
                              tilted_exit_waves=self.method == "explicit", precision=self.precision,
                              memory_budget=self.memory_budget)
        return img[0] if self.repeats == 1 else (1 - w) * img[0] + w * img[1]

    def _align(self, img, p: HRTEMParams):
        d = self.dtype
        img = fourier_shift(img, jnp.asarray(p.shift, d), self.grid)
        if self.affine:
            ny, nx = self.gpts
            yy, xx = jnp.meshgrid(jnp.arange(ny, dtype=d), jnp.arange(nx, dtype=d), indexing="ij")
            cy, cx = (ny - 1) / 2, (nx - 1) / 2
            c, s_ = jnp.cos(p.rotation), jnp.sin(p.rotation)
            sc = p.scale
            dy, dx = yy - cy, xx - cx
            src_y = cy + (c * dy - s_ * dx) / sc
            src_x = cx + (s_ * dy + c * dx) / sc
            img = jax.scipy.ndimage.map_coordinates(img, [src_y, src_x], order=1, mode="wrap")
        return p.background + p.contrast * img

    def _render_impl(self, p: HRTEMParams):
        p = jax.tree.map(lambda v: jnp.asarray(v).astype(self.dtype), p)
        return self._align(self._intensity(self.exit_waves(p), p), p).astype(self.dtype)

    def render(self, params: HRTEMParams):
        """Simulated image (ny, nx) [units of the incident intensity] for ``params`` (pure, jit-compiled;
        concrete parameters are checked first, see :meth:`check_params`)."""
        self.check_params(params)
        return self._render(params)


@validate.typed
def column_counts(model: HRTEMModel, params: HRTEMParams):
    """Continuous column atom counts n_c = occupancy_c · thickness / c (atoms per column) (C,)."""
    return jnp.asarray(params.occupancy) * params.thickness / model.unit_length


@validate.typed
def round_counts(model: HRTEMModel, params: HRTEMParams) -> HRTEMParams:
    """Snap the relaxed counts to integers: thickness to whole unit cells, occupancy·n_cells to integers."""
    n_cells = jnp.clip(jnp.round(params.thickness / model.unit_length), 1, model.repeats)
    counts = jnp.round(column_counts(model, params))
    occ = jnp.clip(counts / n_cells, 0.0, 1.0)
    return params.replace(thickness=(n_cells * model.unit_length).astype(jnp.result_type(params.thickness)),
                          occupancy=occ.astype(jnp.result_type(params.occupancy)))


def synthesize(key, image, dose, sampling, readout_noise=0.0, conversion=1.0):
    """Noisy image: Poisson electron counts at ``dose`` [e⁻/Å²], × ``conversion`` [counts/e⁻], plus
    Gaussian readout noise of rms ``readout_noise`` [counts]; returned in incident-intensity units.

    Args:
        key: ``jax.random`` key.
        image: noise-free intensity (ny, nx) (vacuum = 1), finite and ≥ 0.
        dose: electrons per Å² [e⁻/Å²], > 0.
        sampling: pixel size [Å] (scalar or (dy, dx)), > 0.
        readout_noise: rms readout noise [counts], ≥ 0.
        conversion: detector counts per electron, > 0.
    """
    dose = validate.scalar(dose, "dose", "e⁻/Å²", positive=True)
    readout_noise = validate.scalar(readout_noise, "readout_noise", "counts", nonnegative=True)
    conversion = validate.scalar(conversion, "conversion", "counts/e⁻", positive=True)
    validate.array(image, "image", ndim=2, kind="real", nonnegative=True)
    s = validate.pair(sampling, "sampling", "Å", positive=True)
    img = jnp.asarray(image)
    n_e = dose * s[0] * s[1]
    k1, k2 = jax.random.split(key)
    counts = noise.poisson(k1, n_e * img, "dose × image").astype(img.dtype) * conversion
    counts = counts + readout_noise * jax.random.normal(k2, img.shape, img.dtype)
    return counts / (n_e * conversion)


@pytree.dataclass
class DiscreteCheck:
    """Losses of the relaxed and of the rounded model, the rounded parameters and the integer
    column counts (atoms per column)."""

    relaxed: Any
    rounded: Any
    params: Any
    counts: Any


@validate.typed
def discrete_check(model: HRTEMModel, params: HRTEMParams, data, loss=None) -> DiscreteCheck:
    """Final discrete check of the relaxed counts: losses of the relaxed and of the rounded model.

    A rounded loss far above the relaxed one says the data prefer a non-integer (mixed) column.
    """
    from .losses import get_loss

    from .gradient import check_model

    lossf = get_loss("l2" if loss is None else loss)
    data = check_model(model).check_data(data)
    r = round_counts(model, params)
    return DiscreteCheck(float(lossf(model.render(params), data)), float(lossf(model.render(r), data)), r,
                         np.asarray(jnp.round(column_counts(model, r))).astype(int))
