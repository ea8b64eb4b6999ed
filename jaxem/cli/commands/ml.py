"""``jaxem ml build-db|train|index|gui``: the FFT database, U-Net training, indexing of real images, GUI.

* ``build-db DB [--structures ID …|--all] [--max-sum N] [--images N]``: build or extend the database
  (resumable: complete entries are skipped), with a progress bar.
* ``train [--work DIR] [--out PATH] [--steps N] …``: the training recipe of the shipped weights.
* ``index IMAGE --db DB [--pixel-size Å] [--json OUT]``: detect spots with the U-Net and index them.
* ``gui --db DB [--port P] [--open]``: serve the annotation GUI on 127.0.0.1.
"""
from __future__ import annotations

import sys


def register(sub):
    p = sub.add_parser("ml", help="FFT database, U-Net training, spot detection + indexing, annotation GUI")
    s = p.add_subparsers(dest="ml_command", metavar="ML_COMMAND")

    b = s.add_parser("build-db", help="build or extend the FFT database (resumable)")
    b.add_argument("db", help="database folder (.zarr)")
    b.add_argument("--structures", nargs="+", default=None,
                   help="structure ids (ncrystal:Si_sg227, ase:Cu, cif:/path/x.cif); default: NCrystal library")
    b.add_argument("--max-sum", type=int, default=7, help="zone axes with |u|+|v|+|w| ≤ N (default 7)")
    b.add_argument("--images", type=int, default=0, help="simulated images per zone (default 0: tables only)")
    b.add_argument("--max-atoms", type=int, default=200, help="skip library cells with more atoms")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_build)

    t = s.add_parser("train", help="train the U-Net (the recipe of the shipped weights)")
    from ...ml.recipe import add_arguments

    add_arguments(t)
    t.set_defaults(func=_train)

    i = s.add_parser("index", help="detect and index FFT spots of an image file")
    i.add_argument("image", help="image file (rosettasciio formats, .tif/.png/.jpg, .npy)")
    i.add_argument("--db", required=True, help="database folder with the candidate tables")
    i.add_argument("--pixel-size", default=None, help="pixel size: a number in Å or e.g. '0.05 nm' (default: the file's calibration)")
    i.add_argument("--weights", default=None, help="U-Net weights (.msgpack; default: shipped)")
    i.add_argument("--json", default=None, help="write the spots and grains as JSON here")
    i.set_defaults(func=_index)

    g = s.add_parser("gui", help="serve the annotation GUI on 127.0.0.1")
    g.add_argument("--db", required=True, help="database folder")
    g.add_argument("--port", type=int, default=8765)
    g.add_argument("--weights", default=None)
    g.add_argument("--open", action="store_true", help="open a browser")
    g.set_defaults(func=_gui)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _build(args):
    from ... import validate
    from ...ml import database, library

    validate.integer(args.max_sum, "--max-sum", lo=1, hi=20)
    validate.integer(args.images, "--images", lo=0)
    ids = args.structures or library.list_structures(max_atoms=validate.integer(args.max_atoms, "--max-atoms", lo=1))

    def bar(done, total, key, status):
        if args.quiet:
            return
        width = 30
        fill = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} {status:8s} {key[:50]:50s}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    st = database.build(args.db, ids, max_sum=args.max_sum, n_images=args.images, progress=bar)
    print(f"{args.db}: {st['written']} written, {st['skipped']} already complete, {len(st['failed'])} failed")
    for key, why in st["failed"][:20]:
        print(f"  failed {key}: {why}")
    return 0


def _train(args):
    from ...ml.recipe import run

    run(args)
    return 0


def _index(args):
    import json

    import numpy as np

    from ... import atomic, validate
    from ...ml import database, peaks
    from ...ml.index import index_spots
    from ...ml.io_image import read_image
    from ...ml.train import load_default, load_weights

    px_arg = args.pixel_size
    try:
        px_arg = float(px_arg) if px_arg is not None else None  # a bare number is in Å; "0.05 nm" also works
    except ValueError:
        pass
    img, px = read_image(args.image, px_arg)
    if px is None:
        raise validate.InputError(f"image {args.image!r} has no calibrated pixel size; give --pixel-size [Å]")
    config, variables, _ = load_weights(args.weights) if args.weights else load_default()
    spots = peaks.detect(img, px, config=config, variables=variables)
    grains = index_spots(spots.g, database.load_candidates(args.db)) if len(spots) else []
    print(f"{args.image}: {len(spots)} spots, {len(grains)} grain(s) (pixel {px:.4g} Å)")
    for k, gr in enumerate(grains):
        amb = f"  ambiguous with {', '.join(f'{p} {list(u)}' for p, u, _ in gr.alternatives)}" if gr.ambiguous else ""
        print(f"  grain {k + 1}: {gr.phase} [{' '.join(map(str, gr.uvw))}]  θ = {gr.rotation_deg:.2f}°  "
              f"s = {gr.scale:.4f}  {len(gr.spots)} spots  rms residual {np.sqrt(np.mean(gr.residual**2)):.2e} 1/Å{amb}")
    if args.json:
        doc = {"image": str(args.image), "pixel_size_A": px, "spots_px": np.asarray(spots.positions).tolist(),
               "spots_per_A": np.asarray(spots.g).tolist(), "grains": [g.as_dict() for g in grains]}
        atomic.atomic_write_text(args.json, json.dumps(doc, indent=1))
    return 0


def _gui(args):
    from ... import validate
    from ...ml.gui import serve

    serve(args.db, port=validate.integer(args.port, "--port", lo=0, hi=65535), weights=args.weights,
          open_browser=args.open)
    return 0
