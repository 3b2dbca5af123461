"""Analyses over finished results: the gap between distortion (PSNR) and perceptual metrics."""

from vfibench.analysis.gap import GapAnalysis, analyse

__all__ = ["GapAnalysis", "analyse"]
