"""FFT spot detection and indexing (floor 3): a simulated FFT database, a Flax U-Net trained on jaxem's
own multislice images, peak detection with classical baselines, zone-axis indexing, and a browser GUI.

Public API:

* structures: :func:`list_structures`, :func:`get_structure`, :func:`zone_axes`, :func:`split`
  (:mod:`.library`: NCrystal / ASE / CIF, no downloads);
* kinematic tables: :func:`zone_table`, :class:`ZoneTable` (:mod:`.kinematic`);
* simulation: :func:`simulate_zone`, :class:`Bank` (:mod:`.bank`), :func:`render_batch`,
  :class:`RenderConfig`, :func:`fft_input` (:mod:`.render`, on device);
* database: :mod:`.database` (``build``, ``read_entry``, ``entries``, ``load_candidates``,
  ``save_annotation``);
* network: :class:`UNet`, :class:`UNetConfig` (:mod:`.unet`), training :mod:`.train`
  (``init``/``step``/``result``/``fit``, ``load_default``);
* detection: :func:`detect`, :class:`Spots`, baselines and metrics (:mod:`.peaks`); the lattice step that reads
  the faint spots along the lattice of the strong ones, with the dose from the image's own shot noise (:mod:`.lattice`:
  ``fit_lattices``, ``lattice_sites``, ``decide_on_lattice``, ``effective_dose``); acceptance metrics with
  difficult spots (:mod:`.evaluate`: ``detection_metrics``, ``split_difficult``, ``DIFFICULT``);
* indexing: :func:`index_spots`, :class:`Grain` (:mod:`.index`).

Example::

    from jaxem import ml
    spots = ml.detect(image, pixel_size=0.25)                   # [Å]
    grains = ml.index_spots(spots.g, ml.database.load_candidates("ffts.zarr"))
"""
from . import database, evaluate, index as indexing, lattice, peaks, train
from .bank import Bank, simulate_zone
from .peaks import Spots, detect
from .index import Grain, candidates, index_spots
from .kinematic import ZoneTable, zone_table
from .library import get_structure, list_structures, split, zone_axes
from .render import RenderConfig, fft_input, render_batch
from .unet import UNet, UNetConfig

__all__ = ["database", "evaluate", "lattice", "peaks", "indexing", "train", "Bank", "simulate_zone", "Spots", "detect", "Grain",
           "candidates", "index_spots", "ZoneTable", "zone_table", "get_structure", "list_structures", "split",
           "zone_axes", "RenderConfig", "fft_input", "render_batch", "UNet", "UNetConfig"]
