"""Cost of every loss term: forward + backward time on a quick-preset batch, relative to l1.

Each registered term is evaluated on a prediction whose fields (frame, flows, visibility) are
leaf tensors that require gradients, and the loss is back-propagated to them; the model itself is
not run, so the figures are the term's own cost. For scale, the last row times the interpolator's
forward + backward with l1 at the quick preset's width. Batch: the quick preset's (8 × 3 × 64 × 64
by default). Terms whose backbone is missing are listed as unavailable. The median over
``--repeats`` timed calls is reported, after one warm-up call (which loads any backbone). Run:

    python benchmarks/bench_losses.py [--batch 8] [--size 64] [--repeats 5] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F

from vfibench import backbones
from vfibench.data.triplets import Triplets
from vfibench.losses.catalog import REGISTRY
from vfibench.losses.objective import Objective
from vfibench.losses.spec import parse_config
from vfibench.model.interpolator import build_interpolator
from vfibench.model.prediction import Prediction
from vfibench.presets import get_preset

from _timing import median_seconds


def make_batch(batch: int, size: int, device: torch.device) -> Triplets:
    """Smooth random frames: I0, and It, I1 as the same content shifted by 1 and 2 pixels."""
    gen = torch.Generator().manual_seed(0)
    coarse = torch.rand(batch, 3, max(size // 8, 2), max(size // 8, 2), generator=gen)
    base = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    frames = [torch.roll(base, shifts=k, dims=-1).to(device) for k in (0, 1, 2)]
    return Triplets(frames[0], frames[1], frames[2], torch.full((batch,), 0.5, device=device))


def make_prediction(batch: Triplets) -> Prediction:
    """A prediction near the truth whose every field is a leaf that requires gradients."""
    gen = torch.Generator().manual_seed(1)
    n, _, h, w = batch.it.shape

    def leaf(x: torch.Tensor) -> torch.Tensor:
        return x.detach().clone().requires_grad_(True)

    def flow(dx: float) -> torch.Tensor:
        f = 0.3 * torch.randn(n, 2, h, w, generator=gen)
        f[:, 0] += dx
        return leaf(f.to(batch.it.device))

    vis = leaf(torch.rand(n, 1, h, w, generator=gen).to(batch.it.device))
    frame = leaf(0.5 * (batch.i0 + batch.i1))
    return Prediction(frame=frame, flow_01=flow(2.0), flow_10=flow(-2.0), flow_t0_approx=flow(-1.0),
                      flow_t1_approx=flow(1.0), flow_t0=flow(-1.0), flow_t1=flow(1.0), warped_0=frame.detach(),
                      warped_1=frame.detach(), visibility_0=vis, visibility_1=1 - vis,
                      blended=frame.detach())


def term_step(name: str, batch: Triplets, device: torch.device) -> Callable[[], None]:
    """One forward + backward of term ``name`` alone (an adversarial term also takes its D step)."""
    objective = Objective(parse_config(name)).to(device)

    def step() -> None:
        prediction = make_prediction(batch)
        value = objective(prediction, batch, 0.9)
        value.total.backward()
        objective.auxiliary_step(prediction, batch, 0.9)

    return step


def model_step(batch: Triplets, width: int, device: torch.device) -> Callable[[], None]:
    """The interpolator's forward + backward with l1: the rest of a training step, for scale."""
    model = build_interpolator(width=width, seed=0).to(device)
    objective = Objective(parse_config("l1"))

    def step() -> None:
        model.zero_grad(set_to_none=True)
        objective(model(batch.i0, batch.i1, batch.t), batch).total.backward()

    return step


def main() -> None:
    quick = get_preset("quick")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=quick.batch_size, help="triplets per call")
    parser.add_argument("--size", type=int, default=quick.crop, help="square crop side")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per term")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batch = make_batch(args.batch, args.size, device)
    print(f"loss terms, forward + backward on {args.batch}×3×{args.size}×{args.size}, {device}, "
          f"{torch.get_num_threads()} thread(s), median of {args.repeats}")
    rows: list[tuple[str, float | None, str]] = []
    for name in sorted(REGISTRY.terms):
        missing = [b for b in REGISTRY.terms[name].backbones if not backbones.locate(b).found]
        if missing:
            rows.append((name, None, f"unavailable: {', '.join(missing)} missing"))
            continue
        torch.manual_seed(0)
        rows.append((name, median_seconds(term_step(name, batch, device), args.repeats, device), ""))
    model_seconds = median_seconds(model_step(batch, quick.width, device), args.repeats, device)
    rows.append((f"model (width {quick.width}) + l1", model_seconds, "for scale"))
    base = next(seconds for name, seconds, _ in rows if name == "l1")
    print(f"{'term':<24}{'ms':>10}{'× l1':>10}  note")
    for name, seconds, note in rows:
        if seconds is None:
            print(f"{name:<24}{'—':>10}{'—':>10}  {note}")
        else:
            print(f"{name:<24}{seconds * 1e3:>10.2f}{seconds / base:>10.1f}  {note}")


if __name__ == "__main__":
    main()
