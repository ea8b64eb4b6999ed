"""Write and execute notebooks/absorptive_potentials.ipynb. Run: python tools/make_absorptive_notebook.py [--no-execute]"""
from make_notebooks import write

write("absorptive_potentials.ipynb", [
    r"""md:# Absorptive potentials: thermal diffuse scattering as an imaginary potential

Electrons scattered by thermal vibrations (TDS) leave the elastic wave. In the elastic multislice this
is an imaginary potential $v'$: the transmission function is $t = \exp(i\sigma(v + iv')) = \exp(i\sigma v - \sigma v')$.

For an Einstein solid, atom by atom (Hall & Hirsch 1965; Bird & King 1990; Weickenmeier & Kohl 1991),

$$f'(g) = \gamma\frac{k}{4\pi}\int d\Omega\, f_e(|Q|)\,f_e(|Q-g|)\,\big[D(g) - D(Q)D(Q-g)\big],\qquad D(x)=e^{-B|x|^2/4},$$

integrated here numerically over the Ewald sphere from any parametrization ($k = 2\pi/\lambda$, one factor γ in $f'$,
the other in σ). At $g=0$ the optical theorem gives the TDS cross-section $\sigma_{TDS} = 2\gamma\lambda f'(0)$ and a
thin crystal absorbs at $\mu = \sum_j \sigma_{TDS,j}/V$. Every function takes the beam (`jx.Beam`), which
supplies λ, γ and σ.""",
    """import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem.potential import absorptive_form_factor, mean_absorption_coefficient, tds_cross_section

beam = jx.Beam("300 kV")
print(f"λ = {beam.wavelength:.5f} Å, γ = {beam.gamma:.4f}, σ = {beam.sigma:.5f} rad/(V·Å)")""",
    r"""md:## f′(g) for a few elements, two parametrizations, sphere vs plane

Room-temperature B [Å²] of C (diamond), O, Ti and Sr. The Lobato factors are integrated over the
Ewald sphere, the Kirkland factors over the plane tangent to it (the small-angle approximation):
the curves lie on top of each other. f′(0), and with it the TDS cross-section, grows steeply with the
atomic number and with B.""",
    """g = np.linspace(0, 4, 41)                                                       # [1/Å]
B = {"C": 0.142, "O": 0.732, "Ti": 0.440, "Sr": 0.621}                          # [Å²]
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
for el, b in B.items():
    lob = absorptive_form_factor(el, b, beam, g, "lobato")
    kir = absorptive_form_factor(el, b, beam, g, "kirkland", geometry="plane")
    ax.plot(g, lob, label=f"{el} Lobato, sphere")
    ax.plot(g, kir, "--", color=ax.lines[-1].get_color(), label=f"{el} Kirkland, plane")
ax.set_xlabel("scattering vector g [1/Å]"); ax.set_ylabel("absorptive form factor f′(g) [Å]"); ax.legend(fontsize=7)
for el, b in B.items():
    print(f"{el:2s}: f′(0) = {absorptive_form_factor(el, b, beam, np.zeros(1))[0]:.4g} Å, "
          f"σ_TDS = {tds_cross_section(el, b, beam):.3g} Å²")""",
    r"""md:## SrTiO3 [001]: the real (DW-smeared) and imaginary parts of one slice

`absorptive_potential` builds v + iv′ slice by slice. The absorptive part is concentrated on the
columns (it scales with f′, i.e. with Z and B) and is about ten times weaker than v on the Sr
columns, less on the lighter ones.
μ is the thin-crystal absorption coefficient; its inverse is the TDS mean free path.""",
    """sto = jx.crystals.SrTiO3()                      # a = 3.905 Å, room-temperature B of Sr, Ti, O
a = float(sto.lengths[2])
crystal = sto.repeat(3, 3, 30)
pot = jx.absorptive_potential(crystal, beam, sampling=0.1, slice_thickness=a / 2)
axes_yx = (jx.Axis("y", pot.grid.sampling[0], "Å"), jx.Axis("x", pot.grid.sampling[1], "Å"))
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for ax, part, name in zip(axes, (pot.array[0].real, pot.array[0].imag), ("v (elastic, DW-smeared)", "v′ (absorptive)")):
    jx.Measurement(np.asarray(part), axes_yx, {"quantity": f"projected potential {name.split()[0]}", "units": "V·Å"}
                   ).show(ax=ax, cmap="viridis", title=f"SrO slice: {name}")
mu = mean_absorption_coefficient(sto, beam)
print(f"μ = {mu:.3g} 1/Å, TDS mean free path {1 / mu / 10:.0f} nm")""",
    r"""md:## Norm of the elastic wave vs thickness: Hall–Hirsch and a fixed fraction

The norm of the wave with absorption, relative to the same multislice without v′ (which removes the
loss at the anti-alias aperture that both share), against the thin-crystal law exp(−μz). A fixed
fraction v′ = 0.05·v (the cruder model of e.g. Dr. Probe's `-abf`) absorbs at a rate set by the
fraction, not by the physics. Channelling concentrates the wave on the columns, so the Hall–Hirsch
curve falls below exp(−μz) with thickness.""",
    """w0 = jx.plane_wave(pot.grid, beam)
elastic = jx.multislice(w0, pot.replace(array=pot.array.real.astype(pot.array.dtype)), exit_planes=2).array
n_el = jnp.sum(jnp.abs(elastic) ** 2, axis=(-2, -1)) / w0.norm
z = np.arange(1, n_el.shape[0] + 1) * 2 * pot.slice_thickness                     # [Å]
fraction = jx.absorptive_potential(crystal, beam, sampling=0.1, slice_thickness=a / 2, model="fraction",
                                   fraction=0.05, debye_waller=True)
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
for label, p in [("Hall–Hirsch", pot), ("fixed fraction 0.05", fraction)]:
    n = jnp.sum(jnp.abs(jx.multislice(w0, p, exit_planes=2).array) ** 2, axis=(-2, -1)) / w0.norm
    ax.plot(z / 10, np.asarray(n / n_el), "o-", ms=3, label=label)
ax.plot(z / 10, np.exp(-mu * z), "--", label="exp(−μz), thin-crystal law")
ax.set_xlabel("thickness [nm]"); ax.set_ylabel("N_absorptive / N_elastic (wave norm)"); ax.legend();""",
])
