"""The embedded ``synthetic`` dataset: layered scenes cut from real photographs, in motion.

A scene is a background layer cut from one photograph plus one to three foreground layers
cut from other photographs of the same split (see :mod:`vfibench.data.photos`), each
foreground clipped by its own mask (ellipse, rectangle or star polygon). Every layer moves
along a continuous trajectory parameterised by the scene time ``s`` in [0, 1]::

    c(s) = c * exp((s - 1/2) * zoom)        source pixels per frame pixel
    a(s) = angle + (s - 1/2) * spin         radians
    p(s) = centre + (s - 1/2) * shift + 4 s (1 - s) * deviation     frame pixels
    u(x, s) = anchor + c(s) * Rot(a(s)) @ (x - p(s))

which says which point ``u`` of the layer's photograph is seen at frame position ``x``.
I0, It and I1 are the scene rendered at s = 0, t and 1 by one renderer, so the middle frame
is exact, and every occlusion and disocclusion follows from the layer order.

Motion. ``max_motion`` bounds, to first order, how far any point of any layer moves between
I0 and I1, as a fraction of ``size``: a layer of rim radius R (half the frame diagonal for
the background) gets a budget D = max_motion * size * u**1.5, u ~ U(0, 1), spent as
|shift| + R * (|spin| + |zoom|) <= D. Motions therefore run from sub-pixel to the maximum
(about 16 % of foreground layers move less than 1 px at size 64 and max_motion 0.25). The
background pans (and barely rolls or zooms) with at most 35 % of the foreground budget.

Ambiguity. With ``ambiguity = 0`` every path is straight and of uniform speed, so the
middle frame is a function of I0 and I1. With ``ambiguity = A > 0`` each layer's reference
point leaves that line by ``4 s (1 - s) * deviation``: zero at s = 0 and 1, so I0 and I1
reveal nothing of it, and largest at s = 1/2. ``deviation`` has a
uniformly random direction (along the motion: a change of speed; across it: a curved path)
and a length uniform in [0, A * D], D the layer's first-order displacement budget
|shift| + R * (|spin| + |zoom|). Its variates come from a generator of their own, so the
scenes of A = 0 are those drawn before ambiguity existed (the background's scale is only
shrunk where its larger path would leave the photograph). Under such uncertainty
an L2- or L1-trained interpolator is pulled towards the average of the plausible middle
frames, i.e. blur (Geng et al., "Comparing Correspondences: Video Prediction with
Correspondence-wise Losses", CVPR 2022): the uncertainty that real video has.

Sharpness parity. Resampling blurs by an amount that depends on the sub-pixel phase at
which a source is sampled (bilinear interpolation halfway between pixels averages two of
them). If the middle frame were an integer-aligned copy of the source while the inputs were
shifted by fractions of a pixel, the inputs would be systematically blurrier than the
target, and any loss would be rewarded for sharpening. Here no frame is special: every
layer of every frame is resampled through the same affine map with a continuous random
anchor, scale and angle, so the sampling phase is uniformly random at s = 0, t and 1 alike;
and every frame pixel is the mean of ``supersample``² bilinear samples (compositing
included), an antialiased sampler whose blur hardly depends on the phase. The mean gradient
energy of the inputs matches that of the middle frame to within about 1 % (see
``tests/test_data_synthetic.py``).

Determinism. Scene ``i`` of a split is drawn from its own generator seeded by
(split, seed, i): the same arguments give bit-identical tensors, a longer ``count`` only
appends scenes, and train and test with the same seed share neither photographs nor
random streams.
"""

from __future__ import annotations

from typing import Literal

import torch

from vfibench.data.synthetic_render import render_frames
from vfibench.data.synthetic_scenes import check_time, sample_scenes
from vfibench.data.triplets import Triplets


def make_synthetic(
    split: Literal["train", "test"],
    count: int,
    size: int = 64,
    seed: int = 0,
    max_motion: float = 0.25,
    *,
    ambiguity: float = 0.0,
    t: float = 0.5,
    supersample: int = 2,
) -> Triplets:
    """Layered photographic scenes in motion, as triplets (I0 at s=0, It at s=t, I1 at s=1).

    Args:
        split: "train" or "test"; they use disjoint photographs and random streams.
        count: number of triplets (>= 1).
        size: frame side in pixels (>= 32). Above about 160 px the smaller photographs are
            shown magnified, hence softer.
        seed: non-negative; scene i depends only on (split, seed, i).
        max_motion: in (0, 0.5], the largest displacement of any scene point between I0 and
            I1, as a fraction of ``size`` (first order; see the module docstring).
        ambiguity: in [0, 1], how far each layer's path may leave the straight, uniform-speed
            one, as a fraction of its displacement (see the module docstring); 0 = none.
        t: time of the middle frame, in [0, 1].
        supersample: samples per pixel side of the antialiased renderer.

    Returns:
        :class:`Triplets` of float32 (count, 3, size, size) in [0, 1], t filled with ``t``.

    Example:
        >>> batch = make_synthetic("train", 8, size=32)
        >>> tuple(batch.it.shape), float(batch.t[0])
        ((8, 3, 32, 32), 0.5)
    """
    t = check_time("t", t)
    scenes = sample_scenes(split, count, size, seed, max_motion, ambiguity)
    return Triplets(
        i0=render_frames(scenes, 0.0, supersample=supersample),
        it=render_frames(scenes, t, supersample=supersample),
        i1=render_frames(scenes, 1.0, supersample=supersample),
        t=torch.full((count,), t, dtype=torch.float32),
    )
