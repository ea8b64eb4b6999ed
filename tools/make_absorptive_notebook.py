"""Write notebooks/absorptive_potentials.ipynb (outputs cleared). Run: python tools/make_absorptive_notebook.py"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell(r"""# Absorptive potentials: thermal diffuse scattering as an imaginary potential

Electrons scattered by thermal vibrations (TDS) leave the elastic wave. In the elastic multislice this
is an imaginary potential $v'$: the transmission function is $t = \exp(i\sigma(v + iv')) = \exp(i\sigma v - \sigma v')$.

For an Einstein solid, atom by atom (Hall & Hirsch 1965; Bird & King 1990; Weickenmeier & Kohl 1991),

$$f'(g) = \gamma\frac{k}{4\pi}\int d\Omega\, f_e(|Q|)\,f_e(|Q-g|)\,\big[D(g) - D(Q)D(Q-g)\big],\qquad D(x)=e^{-B|x|^2/4},$$

integrated here numerically over the Ewald sphere from any parametrization ($k = 2\pi/\lambda$, one factor γ in $f'$,
the other in σ). At $g=0$ the optical theorem gives the TDS cross-section $\sigma_{TDS} = 2\gamma\lambda f'(0)$ and a
thin crystal absorbs at $\mu = \sum_j \sigma_{TDS,j}/V$."""),
    new_code_cell("""import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from jaxem import physics
from jaxem.potential import (absorptive_form_factor, absorptive_potential, elastic_form_factor,
                             mean_absorption_coefficient, tds_cross_section)
from jaxem.propagate import multislice, plane_wave
from jaxem.structure import Structure

energy = 300e3  # eV"""),
    new_markdown_cell("## f′(g) for a few elements, two parametrizations, sphere vs plane"),
    new_code_cell("""g = np.linspace(0, 4, 41)
B = {"C": 0.142, "O": 0.732, "Ti": 0.440, "Sr": 0.621}
fig, ax = plt.subplots(figsize=(6, 4))
for el, b in B.items():
    lob = absorptive_form_factor(el, b, energy, g, "lobato")
    kir = absorptive_form_factor(el, b, energy, g, "kirkland", geometry="plane")
    ax.plot(g, lob, label=f"{el} Lobato, sphere")
    ax.plot(g, kir, "--", color=ax.lines[-1].get_color(), label=f"{el} Kirkland, plane")
ax.set_xlabel("g [1/Å]"); ax.set_ylabel("f′(g) [Å]"); ax.legend(fontsize=7)
for el, b in B.items():
    print(f"{el}: f′(0) = {absorptive_form_factor(el, b, energy, np.zeros(1))[0]:.4g} Å, "
          f"σ_TDS = {tds_cross_section(el, b, energy):.3g} Å²")"""),
    new_markdown_cell("## SrTiO3 [001]: the real (DW-smeared) and imaginary parts of one slice"),
    new_code_cell("""a = 3.905
cell = Structure.create([[0, 0, 0], [a / 2, a / 2, a / 2], [a / 2, a / 2, 0], [a / 2, 0, a / 2], [0, a / 2, a / 2]],
                        ["Sr", "Ti", "O", "O", "O"], [a, a, a], B={"Sr": 0.621, "Ti": 0.440, "O": 0.732})
crystal = cell.repeat(3, 3, 30)
pot = absorptive_potential(crystal, energy, sampling=0.1, slice_thickness=a / 2)
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, part, name in zip(axes, (pot.array[0].real, pot.array[0].imag), ("v [V·Å]", "v′ [V·Å]")):
    im = ax.imshow(np.asarray(part), cmap="viridis"); ax.set_title(name); plt.colorbar(im, ax=ax)
mu = mean_absorption_coefficient(cell, energy)
print(f"μ = {mu:.3g} 1/Å, TDS mean free path {1 / mu / 10:.0f} nm")"""),
    new_markdown_cell("## Norm of the elastic wave vs thickness: Hall–Hirsch and a fixed fraction (Dr. Probe `-abf`)"),
    new_code_cell("""w0 = plane_wave(pot.grid, energy)
elastic = multislice(w0, pot.replace(array=pot.array.real.astype(pot.array.dtype)), exit_planes=2).array
n_el = jnp.sum(jnp.abs(elastic) ** 2, axis=(-2, -1)) / w0.norm
z = np.arange(1, n_el.shape[0] + 1) * 2 * pot.slice_thickness
fig, ax = plt.subplots(figsize=(6, 4))
for label, p in [("Hall–Hirsch", pot),
                 ("fraction 0.05", absorptive_potential(crystal, energy, sampling=0.1, slice_thickness=a / 2,
                                                        model="fraction", fraction=0.05, debye_waller=True))]:
    n = jnp.sum(jnp.abs(multislice(w0, p, exit_planes=2).array) ** 2, axis=(-2, -1)) / w0.norm
    ax.plot(z / 10, np.asarray(n / n_el), "o-", ms=3, label=label)
ax.plot(z / 10, np.exp(-mu * z), "--", label="exp(−μz)")
ax.set_xlabel("thickness [nm]"); ax.set_ylabel("N_abs / N_elastic"); ax.legend()"""),
]
nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}})
out = Path(__file__).resolve().parents[1] / "notebooks" / "absorptive_potentials.ipynb"
nbformat.write(nb, out)
print("wrote", out)
