"""Quantitative HRTEM by model fitting: a differentiable image model (multislice → partially
coherent imaging → alignment) with parameters in a pytree dataclass whose fields carry their units
(:class:`HRTEMParams`), bounds, image losses, gradient fitting (optax) and trust-region Bayesian
optimisation (TuRBO on an exact JAX GP) in one ``init``/``step`` iteration shape, a stepwise hybrid
workflow, ROI-batched fitting with stitching, and calibrated experimental images read through
rosettasciio (:func:`read_image`, :func:`image_on_model_grid`)."""
from .data import image_on_model_grid, read_image, resample_image
from .displacements import polar_displacements
from .gradient import FitResult, GradientFitter, GradState, fit_gradient, gradient_fitter, make_objective, multistart
from .losses import combined_loss, l2, local_contrast_loss, ncc, ncc_loss, ssim
from .model import (DiscreteCheck, HRTEMModel, aberrations_from_params, column_counts, discrete_check, round_counts,
                    synthesize)
from .params import (Bounds, HRTEMParams, from_unconstrained, from_unit, merge, select, to_unconstrained, to_unit)
from .roi import ROIResult, fit_rois, split_rois, stitch_columns
from .turbo import TurboConfig, TurboResult, TurboState, ackley, hartmann6, minimize
from .workflow import StepwiseResult, fit_bo, fit_stepwise, global_bounds

__all__ = ["HRTEMModel", "HRTEMParams", "aberrations_from_params", "column_counts", "round_counts", "synthesize",
           "discrete_check", "DiscreteCheck", "Bounds", "select", "merge",
           "to_unconstrained", "from_unconstrained", "to_unit", "from_unit", "l2", "ncc", "ncc_loss", "ssim",
           "local_contrast_loss", "combined_loss", "FitResult", "GradState", "GradientFitter", "gradient_fitter",
           "fit_gradient", "make_objective", "multistart", "TurboConfig", "TurboState", "TurboResult", "minimize",
           "ackley", "hartmann6", "fit_bo", "fit_stepwise", "global_bounds", "StepwiseResult", "fit_rois",
           "split_rois", "stitch_columns", "ROIResult", "polar_displacements", "read_image", "resample_image",
           "image_on_model_grid"]
