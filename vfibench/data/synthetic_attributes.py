"""What makes each synthetic scene hard, one value per scene: the attributes a report breaks metrics down by.

:func:`sample_attributes` measures a scene's ambiguity (:func:`path_deviation`), its motion and its
occlusion at the middle frame's time.
"""

from __future__ import annotations

import numpy as np

from vfibench.data.synthetic_scenes import Scenes, check_time
from vfibench.data.synthetic_visibility import layer_motion, visibility
from vfibench.results.schema import AMBIGUITY, MOTION, OCCLUDED


def path_deviation(scenes: Scenes, t: float) -> np.ndarray:
    """How far (frame px) each layer is, at time ``t``, from where straight uniform motion would put it.

    ``4 t (1 - t) |deviation|`` per layer; (N, L), inactive slots 0. I0 and I1 do not reveal it.
    """
    t = check_time("t", t)
    return 4 * t * (1 - t) * np.linalg.norm(scenes.deviation, axis=-1) * scenes.active


def sample_attributes(scenes: Scenes, t: float = 0.5) -> dict[str, np.ndarray]:
    """What makes each scene hard, one value per scene (what the report breaks metrics down by).

    Returns:
        ``ambiguity_px``: the largest :func:`path_deviation` of any layer at ``t`` — what the middle
            frame holds that I0 and I1 cannot tell;
        ``motion_px``: the largest displacement of any point between I0 and I1
            (:func:`~vfibench.data.synthetic_visibility.layer_motion`);
        ``occluded``: the fraction of the middle frame's pixels not visible in I0 or not visible in
            I1 (:func:`~vfibench.data.synthetic_visibility.visibility`), i.e. that one of the inputs
            cannot show.
    """
    t = check_time("t", t)
    seen_in_both = visibility(scenes, t, 0.0) & visibility(scenes, t, 1.0)
    return {
        AMBIGUITY: path_deviation(scenes, t).max(axis=1),
        MOTION: layer_motion(scenes).max(axis=1),
        OCCLUDED: 1.0 - seen_in_both.flatten(1).double().mean(dim=1).numpy(),
    }
