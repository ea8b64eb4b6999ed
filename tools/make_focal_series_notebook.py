"""Write and execute notebooks/focal_series.ipynb. Run: python tools/make_focal_series_notebook.py [--no-execute]"""
from make_notebooks import write

write("focal_series.ipynb", [
    r"""md:# HRTEM focal series in one call

A focal series — the same specimen imaged at several defoci — is the most common HRTEM acquisition
(exit-wave reconstruction, defocus determination, contrast-reversal studies). In jaxem any lens
parameter given as a 1-D array is a series: `jx.Aberrations(C10=np.array([...]))` (C10 = −Δf), or any
other coefficient, or `focal_spread=` / `source_angle=` arrays. `jx.hrtem_image` then returns one
`Measurement` with a leading, calibrated series axis, computed in a single jitted call (the images are
mapped over the series in memory-sized vmapped batches; a second series of the same length does not
recompile). Several series at once are combined element by element (zipped) and must have the same
length.

Units: lengths Å, energies eV, angles mrad, spatial frequencies 1/Å.""",
    """import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem.optics import ctf_profile, image_intensity
from jaxem.propagate import waves_from_array

beam = jx.Beam("300 kV")
Cs = 1.2e7                                            # 1.2 mm [Å]
# the exit wave of a weak phase grating: Gaussian columns (0.4 rad) on a 3.2 Å square lattice
m, cells, a = 96, 3, 3.2
d = a * cells / m
grid = jx.Grid((m, m), (d, d))
yy, xx = np.meshgrid(np.arange(m) * d, np.arange(m) * d, indexing="ij")
phase = sum(np.exp(-((yy - (i + 0.5) * a) ** 2 + (xx - (j + 0.5) * a) ** 2) / (2 * 0.35**2))
            for i in range(cells) for j in range(cells))
wave = waves_from_array(np.exp(0.4j * phase).astype(np.complex64), grid, beam)
print(grid, beam)""",
    r"""md:## Seven defoci, one call

`Δf = −200 … 1000 Å` in 200 Å steps, with 30 Å rms focal spread (exact Gauss–Hermite focal average).
The series axis is `defocus` [Å] (Δf = −C10) because the values are evenly spaced; uneven values give
an index axis `series` with the values in `metadata["series"]`. Look for the contrast reversals of the
lattice fringes as the defocus passes through the zeros of sin χ.""",
    """defocus = np.linspace(-200.0, 1000.0, 7)
series = jx.Aberrations(C10=-defocus, C30=Cs)
t0 = time.perf_counter()
stack = jx.hrtem_image(wave, series, objective_aperture=30.0, focal_spread=30.0, source_angle=0.1,
                       method="focal_average", n_focal=12)
print(f"{stack.shape} in {time.perf_counter() - t0:.2f} s (first call: compiles)")
print("series axis:", stack.axes[0])
print("metadata:", stack.metadata["series"]["parameters"])
t0 = time.perf_counter()
again = jx.hrtem_image(wave, jx.Aberrations(C10=-(defocus + 10.0), C30=Cs), objective_aperture=30.0,
                       focal_spread=30.0, source_angle=0.1, method="focal_average", n_focal=12)
print(f"another series of 7: {time.perf_counter() - t0:.2f} s (no recompilation)")
fig, axes = plt.subplots(1, 7, figsize=(17, 2.9), layout="constrained")
for j, ax in enumerate(axes):
    im = ax.imshow(np.asarray(stack.array[j]), cmap="gray", extent=stack.extent())
    fig.colorbar(im, ax=ax, shrink=0.7).set_label("intensity (vacuum = 1)", fontsize=7)
    ax.set_title(f"Δf = {defocus[j]:.0f} Å", fontsize=9); ax.set_xlabel("x [Å]"); ax.set_ylabel("y [Å]")""",
    r"""md:## The series axis travels with the data

`to_xarray()` gives a `defocus` coordinate, so an image is picked by its defocus; `to_hyperspy()` makes
the defocus a navigation axis with scale and offset. `jx.io.save` keeps it in the file.""",
    """da = stack.to_xarray()
print(da.coords["defocus"].values)
img400 = da.sel(defocus=400.0)
print("image at Δf = 400 Å: mean", float(img400.mean()), "std", float(img400.std()))
s = stack.to_hyperspy()
print(s.axes_manager["defocus"].scale, s.axes_manager["defocus"].offset, s.axes_manager["defocus"].units)""",
    r"""md:## The CTF of each defocus

`ctf_profile` (and `ctf`) take the same series: one call gives the transfer of every defocus. The
Fourier amplitude of the (10) lattice fringes (k = 1/3.2 Å⁻¹) in each image follows |sin χ| E_t E_s
at that frequency — the weak-phase picture; the 0.4 rad columns add small non-linear terms.""",
    """g10 = 1.0 / a
h = np.asarray(ctf_profile(np.array([g10]), beam, series, focal_spread=30.0, source_angle=0.1))[:, 0]
amp = np.abs(np.fft.fft2(np.asarray(stack.array) - 1.0, axes=(-2, -1)))[:, 0, cells] / m**2
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(defocus, amp, "o-", label="|I(g₁₀)| of each image")
ax.plot(defocus, np.abs(h.imag) * amp.max() / np.abs(h.imag).max(), "--", label="|sin χ(g₁₀)| E_t E_s (scaled)")
ax.set_xlabel("defocus Δf [Å]"); ax.set_ylabel("fringe amplitude [1]"); ax.legend(fontsize=8);""",
    r"""md:## Fitting the focus of a whole series

The series is differentiable: here the defocus of the first image of a "measured" series with a known
200 Å step is recovered by gradient descent through `image_intensity` (the pure level under
`hrtem_image`). The loss should fall by orders of magnitude and Δf₀ approach −200 Å.""",
    """steps = 200.0 * np.arange(7)
kw = dict(objective_aperture=30.0, focal_spread=30.0, method="focal_average", n_focal=8)
target = image_intensity(wave, jx.Aberrations(C10=-(-200.0 + steps), C30=Cs), **kw)

def loss(df0):
    img = image_intensity(wave, jx.Aberrations(C10=-(df0 + steps), C30=Cs), **kw)
    return jnp.mean((img - target) ** 2)

val_grad = jax.jit(jax.value_and_grad(loss))
df0, history = jnp.float32(-185.0), []
for it in range(30):
    v, g = val_grad(df0)
    history.append(float(v))
    df0 = df0 - 6e4 * g
print(f"Δf₀ = {float(df0):.2f} Å (true −200 Å); loss {history[0]:.2e} → {float(loss(df0)):.2e}")
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.semilogy(history, "o-", ms=3); ax.set_xlabel("iteration"); ax.set_ylabel("mean squared error");""",
    r"""md:## Series that do not fit together

Two series of different lengths are an error that names both (zip them, or build a grid with
`np.meshgrid` and ravel it).""",
    """try:
    jx.hrtem_image(wave, jx.Aberrations(C10=-defocus, C30=np.array([1e7, 1.2e7])))
except jx.validate.InputError as err:
    print("InputError:", err)""",
])
