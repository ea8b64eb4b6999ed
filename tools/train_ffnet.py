"""Train the FFT-spot U-Net and write the shipped weights (see :mod:`jaxem.ml.recipe`)::

    PYTHONPATH=. python tools/train_ffnet.py --work /tmp/ffnet-train            # what produced the shipped weights
    PYTHONPATH=. python tools/train_ffnet.py --filters 16 --steps 20000 --fine-tune-steps 20000 --batch 32  # on a GPU
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jaxem.ml.recipe import main  # noqa: E402

if __name__ == "__main__":
    main()
