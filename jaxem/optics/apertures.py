"""Soft-edged circular apertures in angle space.

An aperture is a real transmission function A(α) ∈ [0, 1] of the scattering-angle vector
α = (α_y, α_x) [mrad] (α = λ k, k the spatial frequency [1/Å]). A circular aperture of semi-angle
α₀ [mrad] centred at α_c [mrad] with a raised-cosine edge of full width w [mrad] is

    A(α) = 1                                   for |α − α_c| ≤ α₀ − w/2,
    A(α) = ½ [1 + cos(π (|α − α_c| − α₀ + w/2) / w)]   in the edge,
    A(α) = 0                                   for |α − α_c| ≥ α₀ + w/2,

so the edge is centred on α₀ (A = ½ at |α − α_c| = α₀) and the open area
∫A d²α = π α₀² + (π/4 − 2/π) w² stays within 0.15 w² of π α₀².
With w = 0 the aperture is hard: A = 1 for |α − α_c| ≤ α₀, else 0. A soft edge keeps the aperture
differentiable in α₀ and suppresses ringing of probes on coarse reciprocal grids.

Objective apertures in HRTEM (``imaging.hrtem_image``) and condenser apertures of probes
(``probes.probe``) use the same function.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import as_beam


@pytree.dataclass
class Aperture:
    """A circular aperture (a pytree; all fields are differentiable leaves).

    Attributes:
        semi_angle: semi-angle α₀ [mrad], > 0.
        edge_width: full width w of the raised-cosine edge [mrad], 0 ≤ w ≤ 2 α₀ (0: hard edge).
        center_y: centre offset α_c,y [mrad] (e.g. a displaced objective aperture).
        center_x: centre offset α_c,x [mrad].

    Build with :meth:`create`, which validates the values.
    """

    semi_angle: float = pytree.field(units="mrad")
    edge_width: float = pytree.field(units="mrad", default=0.0)
    center_y: float = pytree.field(units="mrad", default=0.0)
    center_x: float = pytree.field(units="mrad", default=0.0)

    def __post_init__(self):
        # leaves may be numbers, arrays, tracers or pytree placeholders; never text or mappings
        for k in ("semi_angle", "edge_width", "center_y", "center_x"):
            v = getattr(self, k)
            if isinstance(v, (str, bytes, dict, complex)):
                raise validate.InputTypeError(f"aperture {k} must be a real number [mrad] (or use "
                                              f"Aperture.create, which parses units), got {type(v).__name__} {v!r:.60}")

    @classmethod
    def create(cls, semi_angle, edge_width=0.0, center=(0.0, 0.0)) -> "Aperture":
        """Validated aperture.

        Args:
            semi_angle: α₀ [mrad], finite and > 0.
            edge_width: raised-cosine edge width w [mrad], 0 ≤ w ≤ 2 α₀.
            center: (α_c,y, α_c,x) [mrad], finite.

        Raises:
            ValueError: for non-finite or out-of-range values.
        """
        a0 = validate.scalar(semi_angle, "semi_angle", "mrad", positive=True)
        w = validate.scalar(edge_width, "edge_width", "mrad", nonnegative=True)
        if not validate.is_traced((a0, w)) and w > 2 * a0:
            raise validate.InputError(
                f"edge_width must be ≤ 2·semi_angle = {2 * a0:.4g} mrad (else the aperture never opens fully), "
                f"got {edge_width!r} mrad")
        if isinstance(center, str) or np.ndim(center) != 1 or len(center) != 2:
            raise validate.InputError(f"center must be a (y, x) pair [mrad], got {center!r}")
        cy = validate.scalar(center[0], "center[0]", "mrad")
        cx = validate.scalar(center[1], "center[1]", "mrad")
        # the parsed values (strings with units become numbers; traced values pass unchanged)
        return cls(semi_angle=a0, edge_width=w, center_y=cy, center_x=cx)

    @property
    def max_angle(self):
        """Largest angle with A > 0, measured from the optical axis [mrad]."""
        return jnp.hypot(self.center_y, self.center_x) + self.semi_angle + 0.5 * self.edge_width

    def to_metadata(self) -> dict:
        """JSON-ready description with units (concrete values only)."""
        return {k: {"value": float(getattr(self, k)), "units": "mrad"}
                for k in ("semi_angle", "edge_width", "center_y", "center_x")
                if not validate.is_traced(getattr(self, k))}


def as_aperture(value, name: str = "aperture") -> Aperture | None:
    """``None`` → ``None``; a number (or ``"25 mrad"``) → hard :class:`Aperture` of that semi-angle
    [mrad]; an :class:`Aperture` → itself (validated when concrete)."""
    if value is None:
        return None
    if isinstance(value, Aperture):
        if not validate.is_traced(value):
            try:
                Aperture.create(value.semi_angle, value.edge_width, (value.center_y, value.center_x))
            except (TypeError, ValueError) as err:
                raise type(err)(f"{name}: {err}") from None
        return value
    try:
        a0 = validate.scalar(value, name, "mrad", positive=True)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: expected a semi-angle [mrad] > 0 or an Aperture; {err}") from None
    return Aperture(semi_angle=a0 if isinstance(value, str) else value)


def check_on_grid(aperture: Aperture | None, grid, beam, name: str, limit: str = "nyquist") -> None:
    """Raise naming ``name`` if the concrete ``aperture`` reaches beyond what ``grid`` holds at ``beam``
    (``limit``: "nyquist" for apertures acting on a finished wave, "antialias" for what then
    scatters through the specimen, e.g. a probe's condenser aperture)."""
    if aperture is None or validate.is_traced(aperture):
        return
    reach = (math.hypot(float(aperture.center_y), float(aperture.center_x)) + float(aperture.semi_angle)
             + 0.5 * float(aperture.edge_width))
    beam.check_angle(reach, grid, name, limit=limit)


def aperture_function(alpha_y, alpha_x, aperture: Aperture):
    """Transmission A(α) ∈ [0, 1] of ``aperture`` at angles (``alpha_y``, ``alpha_x``) [mrad].

    Args:
        alpha_y: angle component along y [mrad] (array, broadcastable with ``alpha_x``).
        alpha_x: angle component along x [mrad].
        aperture: the aperture (semi-angle, edge width, centre [mrad]).

    Returns:
        Array of the broadcast shape and the dtype of ``alpha_y``/``alpha_x`` (float32 default).
    """
    validate.instance(aperture, "aperture", Aperture, "an Aperture (or use as_aperture for a semi-angle)")
    alpha_y, alpha_x = jnp.asarray(alpha_y), jnp.asarray(alpha_x)
    dtype = jnp.result_type(alpha_y, alpha_x)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    a0 = jnp.asarray(aperture.semi_angle, dtype)
    w = jnp.asarray(aperture.edge_width, dtype)
    r = jnp.hypot(alpha_y.astype(dtype) - jnp.asarray(aperture.center_y, dtype),
                  alpha_x.astype(dtype) - jnp.asarray(aperture.center_x, dtype))
    soft = w > 0
    w_safe = jnp.where(soft, w, 1.0)  # no 0/0 in the unused branch (keeps gradients finite)
    x = jnp.clip((r - a0) / w_safe + 0.5, 0.0, 1.0)
    smooth = 0.5 * (1.0 + jnp.cos(jnp.pi * x))
    hard = (r <= a0).astype(dtype)
    return jnp.where(soft, smooth, hard).astype(dtype)


def angle_grid(grid, beam, dtype=jnp.float32):
    """Scattering angles (α_y [mrad] of shape (ny, 1), α_x [mrad] of shape (1, nx)) of the
    reciprocal grid of ``grid`` (FFT order) for ``beam`` (a :class:`~jaxem.beam.Beam` or energy [eV])."""
    beam = as_beam(beam)
    ky, kx = grid.frequencies(dtype)
    return beam.frequency_to_mrad(ky)[:, None], beam.frequency_to_mrad(kx)[None, :]


def aperture_on_grid(grid, beam, aperture, precision=None):
    """The aperture on the (ny, nx) reciprocal grid of ``grid`` (FFT order, zero frequency at [0, 0]).

    Args:
        grid: :class:`jaxem.grid.Grid`.
        beam: :class:`~jaxem.beam.Beam` or an energy [eV].
        aperture: :class:`Aperture` or a semi-angle [mrad] (hard edge), within the grid's Nyquist angle.
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).

    Returns:
        (ny, nx) real array with values in [0, 1].
    """
    beam = as_beam(beam)
    ap = as_aperture(aperture)
    if ap is None:
        raise validate.InputError("aperture must be given: a semi-angle [mrad] > 0 or an Aperture")
    check_on_grid(ap, grid, beam, "aperture")
    rdtype, _ = accel.dtypes(precision)
    ay, ax = angle_grid(grid, beam, rdtype)
    return aperture_function(ay, ax, ap)
