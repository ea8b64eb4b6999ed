"""Quantitative HRTEM by model fitting: a differentiable image model (multislice → partially
coherent imaging → alignment), bounded parameter pytrees, image losses, gradient fitting (optax),
trust-region Bayesian optimisation (TuRBO on an exact JAX GP), a stepwise hybrid workflow and
ROI-batched fitting with stitching."""
from .displacements import polar_displacements
from .gradient import FitResult, GradState, fit_gradient, gradient_fitter, make_objective, multistart
from .losses import combined_loss, l2, local_contrast_loss, ncc, ncc_loss, ssim
from .model import HRTEMModel, aberrations_from_params, column_counts, round_counts, synthesize
from .params import Bounds, from_unconstrained, from_unit, to_unconstrained, to_unit
from .roi import ROIResult, fit_rois, split_rois, stitch_columns
from .turbo import TurboConfig, TurboState, ackley, hartmann6, minimize
from .workflow import fit_bo, fit_stepwise, global_bounds

__all__ = ["HRTEMModel", "aberrations_from_params", "column_counts", "round_counts", "synthesize", "Bounds",
           "to_unconstrained", "from_unconstrained", "to_unit", "from_unit", "l2", "ncc", "ncc_loss", "ssim",
           "local_contrast_loss", "combined_loss", "FitResult", "GradState", "gradient_fitter", "fit_gradient",
           "make_objective", "multistart", "TurboConfig", "TurboState", "minimize", "ackley", "hartmann6",
           "fit_bo", "fit_stepwise", "global_bounds", "fit_rois", "split_rois", "stitch_columns", "ROIResult",
           "polar_displacements"]
