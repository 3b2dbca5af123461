"""The evaluation loop a researcher writes by hand, as the baseline ``bench_eval.py`` times ``vfibench eval`` against.

For every ground-truth PNG, the prediction of the same name is read with Pillow and scored with
scikit-image's PSNR and SSIM (the Gaussian convention vfibench reports: σ = 1.5, population
covariance, data range 1, per channel) and one call of the ``lpips`` package (AlexNet, v0.1, inputs
scaled to [-1, 1]) per image, with torch's default threads. The ``lpips`` package would let
torchvision download ImageNet AlexNet weights; offline, it is built with ``pnet_rand=True`` and the
same verified AlexNet ``features`` weights vfibench's LPIPS uses are loaded into its trunk (the
package ships its learned linear layers itself). Run:

    python benchmarks/research_loop.py --gt GT_DIR --pred PRED_DIR [--csv scores.csv] [--device cuda]

With ``--device cuda`` the ``lpips`` call runs on the GPU (as a researcher with one would run it);
PSNR and SSIM stay scikit-image's.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import lpips
import numpy as np
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def alexnet_lpips() -> lpips.LPIPS:
    """``lpips.LPIPS(net="alex")`` with vfibench's verified ImageNet AlexNet trunk instead of a download."""
    from vfibench.backbones import features_state_dict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    features = features_state_dict("alexnet")  # torchvision `features` keys: "0.weight", "3.bias", ...
    state = {f"{slice_name}.{key}": features[key] for slice_name, block in model.net.named_children()
             for key, _ in block.named_parameters()}
    model.net.load_state_dict(state, strict=True)
    return model.eval()


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=Path, required=True, help="folder of ground-truth PNG frames")
    parser.add_argument("--pred", type=Path, required=True, help="folder of predicted frames, same names")
    parser.add_argument("--csv", type=Path, default=None, help="write per-frame scores here")
    parser.add_argument("--device", default="cpu", help="where the lpips model runs (cpu, cuda)")
    args = parser.parse_args()
    started = time.perf_counter()
    loss_fn = alexnet_lpips().to(args.device)
    rows = []
    for gt_path in sorted(args.gt.glob("*.png")):
        gt = read(gt_path)
        pred = read(args.pred / gt_path.name)
        psnr = peak_signal_noise_ratio(gt, pred, data_range=1.0)
        ssim = structural_similarity(gt, pred, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=1.0)
        to_torch = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].to(args.device).float() * 2 - 1  # noqa: E731
        with torch.no_grad():
            distance = loss_fn(to_torch(pred), to_torch(gt)).item()
        rows.append({"file": gt_path.name, "psnr": psnr, "ssim": ssim, "lpips": distance})
    seconds = time.perf_counter() - started
    if args.csv is not None:
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["file", "psnr", "ssim", "lpips"])
            writer.writeheader()
            writer.writerows(rows)
    means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "lpips")}
    print(f"{len(rows)} frames in {seconds:.2f}s ({seconds / max(len(rows), 1) * 1000:.1f} ms/frame after imports): "
          + ", ".join(f"{k} {v:.4f}" for k, v in means.items()))


if __name__ == "__main__":
    main()
