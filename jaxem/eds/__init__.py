"""Quantitative STEM-EDS: X-ray data, geometry, Cliff–Lorimer, ζ-factor and absorption correction.

Analysis package (no simulation imports). Arrays: the last axis runs over X-ray lines (one per
element), leading axes are navigation axes of any shape. Units: X-ray energies [keV], μ/ρ
[cm²/g], mass thickness [g/cm²], thickness [nm], ζ [kg/m²], dose [electrons], angles [deg] where
named ``_deg``.
"""
