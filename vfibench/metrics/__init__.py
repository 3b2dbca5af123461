"""Image-quality metrics, computed per frame, and the analysis of their disagreement.

Every metric is a pure function ``metric(pred, gt) -> (N,)`` over batches of RGB frames
(N, 3, H, W) with values in [0, 1], on any device; :class:`MetricSuite` runs a set of them on
8-bit-quantised frames and returns float64 CPU tensors. Conventions, one per metric:

========== ================================================================================
psnr       RGB, data range 1, per frame, capped at 100 dB; aggregate = mean of per-frame values
ssim       per-channel RGB, Gaussian σ = 1.5 (11×11), K1 = 0.01, K2 = 0.03, population
           covariance, data range 1, mean over the valid region (5-px border cropped) = skimage
lpips      ``lpips`` package v0.1, AlexNet (``lpips-vgg``: VGG16), inputs scaled to [-1, 1]
dists      Ding et al. 2020, VGG16 + L2 pooling, ImageNet normalisation, no resize
sharpness  mean central-difference gradient magnitude, prediction / truth (1 = as sharp)
gmsd       as ``piq.gmsd`` computes it, on MATLAB ``rgb2gray`` luma (rounded to 8-bit levels), ×2 downsampled
ie         mean absolute difference in 8-bit levels, RGB (Middlebury's IE, as VFI code computes it)
flolpips-  LPIPS-alex maps weighted by flow disagreement towards I0 and I1 (OpenCV DIS flow);
dis        takes ``(pred, gt, i0, i1)``
psnr-div   BT.709 luma PSNR over pixels of high motion divergence (Farnebäck flow pred → I1);
           takes ``(pred, gt, i0, i1)``
========== ================================================================================

Each is checked against an outside reference (scikit-image, the ``lpips`` package, and the
published values of the original implementations on five TID2013 pairs).

MS-SSIM is not offered: with 5 scales and an 11-tap window it needs frames of at least
161 px on the short side (``piq.multi_scale_ssim`` refuses smaller ones), larger than the
benchmark's small crops, and piq's version (average-pool downsampling with padding) differs
from the original MATLAB code by up to 5·10⁻³ on the calibration pairs.

LPIPS and DISTS use ImageNet backbones from :mod:`vfibench.backbones`, which never downloads
on its own; their models are built once per (network, device) and cached.

Modules: ``psnr``, ``ssim``, ``sharpness``, ``gmsd``, ``interpolation_error``, ``lpips_metric``, ``dists`` (one metric
each), ``features`` (the per-frame computations metrics share: a backbone's activations, SSIM's
local moments, …), ``registry`` (:class:`~vfibench.metrics.registry.MetricInfo` records,
``metric_info``, ``metric_names``), ``suite`` (``MetricSuite``, ``PreparedReference``,
``quantize_8bit``, ``DEFAULT_METRICS``),
``flow_metrics`` and ``classical_flow`` (the flow-aware metrics, OpenCV flow, per-sample motion) and
``protocols`` (PSNR/SSIM as RIFE, IFRNet/EMA-VFI, FILM, BasicSR's Y channel and scikit-image compute them).
"""
