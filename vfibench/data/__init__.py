"""Datasets of frame triplets (I0, It, I1) with their time t.

One spec names any dataset and :func:`open_dataset` loads it as :class:`Triplets`
(:mod:`vfibench.data.sources`): ``synthetic`` (embedded, :mod:`~vfibench.data.synthetic`),
``vimeo90k:PATH`` (:mod:`~vfibench.data.vimeo`), ``frames:PATH`` (:mod:`~vfibench.data.frames`)
and ``video:PATH`` (:mod:`~vfibench.data.video`). Frames are fitted by one explicit policy
(:mod:`~vfibench.data.images`); :mod:`~vfibench.data.inspection` and :mod:`~vfibench.data.export`
back ``vfibench data inspect|validate|export``.
"""

from vfibench.data.sources import DatasetSpec, open_dataset, open_source, parse_dataset_spec
from vfibench.data.synthetic import make_synthetic
from vfibench.data.triplets import Triplets

__all__ = ["DatasetSpec", "Triplets", "make_synthetic", "open_dataset", "open_source", "parse_dataset_spec"]
