"""The photographs that scikit-image ships inside its wheel, split once into train and test.

The ``synthetic`` dataset cuts every layer of every scene from these photographs, so they
are the only image content it ever shows. The split is by photograph: a test scene is made
only of photographs that no training scene contains.

=====================  ======  =====  ===============================================
photograph             split   kind   why it is there
=====================  ======  =====  ===============================================
astronaut              train   RGB    portrait, flags, shuttle: edges and flat colour
rocket                 train   RGB    night sky, lattice towers, lights
motorcycle_left        train   RGB    cluttered garage; left view of the stereo pair
immunohistochemistry   train   RGB    stained tissue: dense colour texture
hubble_deep_field      train   RGB    point-like galaxies on black: very sharp detail
camera                 train   grey   classic cameraman: figure, tripod, sky
grass                  train   grey   fine stochastic texture
brick                  train   grey   regular texture, straight edges
coins                  train   grey   round objects with engraved detail
page                   train   grey   printed text
chelsea                test    RGB    cat: fur, whiskers, eyes
coffee                 test    RGB    cup, saucer, spoon, wood grain
retina                 test    RGB    fundus photograph, vessels (inside the disc only)
gravel                 test    grey   coarse stochastic texture
text                   test    grey   handwriting on paper
=====================  ======  =====  ===============================================

Greyscale photographs are used as grey RGB (R = G = B): they are the bundle's richest
high-frequency textures, and fine detail is what separates sharp interpolators from blurry
ones; the colour photographs alone are mostly smooth. Left out: ``clock`` (deliberately
motion-blurred, which would add blur the scene motion does not explain), ``moon`` and
``cell`` (nearly flat), ``motorcycle_right`` (the same scene as ``motorcycle_left``, so it
could only sit in the same split and adds nothing), and the drawings and tiny images
(``horse``, ``logo``, ``colorwheel``, ``chessboard``, ``microaneurysms``, ``lfw_subset``).

Each photograph is loaded once as a read-only float32 array (H, W, 3) in [0, 1] and cached;
that cache and the per-split atlas below are the module's only state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from vfibench.errors import DataError

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")


@dataclass(frozen=True)
class Photo:
    """One bundled photograph and how to prepare it.

    Attributes:
        name: the name used everywhere in vfibench.
        split: the only split whose scenes may use it.
        loader: the ``skimage.data`` function that returns it.
        item: index into the loader's tuple result, or ``None`` if it returns one image.
        box: (top, left, bottom, right) usable region in the original pixels, or ``None``.
        downscale: factor applied (with antialiasing) after cropping to ``box``.
    """

    name: str
    split: Split
    loader: str
    item: int | None = None
    box: tuple[int, int, int, int] | None = None
    downscale: float = 1.0


PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", "train", "astronaut"),
    Photo("rocket", "train", "rocket"),
    Photo("motorcycle_left", "train", "stereo_motorcycle", item=0),
    Photo("immunohistochemistry", "train", "immunohistochemistry"),
    Photo("hubble_deep_field", "train", "hubble_deep_field"),
    Photo("camera", "train", "camera"),
    Photo("grass", "train", "grass"),
    Photo("brick", "train", "brick"),
    Photo("coins", "train", "coins"),
    Photo("page", "train", "page"),
    Photo("chelsea", "test", "chelsea"),
    Photo("coffee", "test", "coffee"),
    # The square inscribed in the fundus disc (the rest is black), at half resolution.
    Photo("retina", "test", "retina", box=(232, 232, 1176, 1176), downscale=0.5),
    Photo("gravel", "test", "gravel"),
    Photo("text", "test", "text"),
)


def check_split(split: str) -> Split:
    """Return ``split`` if it names a split, else raise :class:`DataError`."""
    if split not in SPLITS:
        raise DataError(
            f"Unknown split {split!r} for the synthetic dataset. It has exactly two splits, "
            f"'train' and 'test', which use disjoint photographs; pass one of those."
        )
    return split  # type: ignore[return-value]


def split_photos(split: str) -> tuple[str, ...]:
    """Names of the photographs a split uses, in a fixed order (disjoint between splits)."""
    split = check_split(split)
    return tuple(photo.name for photo in PHOTOS if photo.split == split)


def _photo(name: str) -> Photo:
    for photo in PHOTOS:
        if photo.name == name:
            return photo
    known = ", ".join(p.name for p in PHOTOS)
    raise DataError(f"No bundled photograph is called {name!r}. The known ones are: {known}.")


@lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """One photograph as a read-only float32 array (H, W, 3) in [0, 1], loaded once.

    Greyscale photographs are repeated into three equal channels.
    """
    import skimage.data
    from skimage.transform import rescale

    photo = _photo(name)
    image = getattr(skimage.data, photo.loader)()
    if photo.item is not None:
        image = image[photo.item]
    image = np.asarray(image, dtype=np.float32) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3]
    if photo.box is not None:
        top, left, bottom, right = photo.box
        image = image[top:bottom, left:right]
    if photo.downscale != 1.0:
        image = rescale(image, photo.downscale, channel_axis=2, anti_aliasing=True, order=1)
    image = np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)
    image.setflags(write=False)
    return image


@dataclass(frozen=True)
class Atlas:
    """All photographs of a split side by side in one texture, for batched sampling.

    Attributes:
        names: the photographs, in :func:`split_photos` order.
        texture: float32 tensor (1, 3, H, W); photograph ``k`` occupies rows
            ``[0, heights[k])`` and columns ``[lefts[k], lefts[k] + widths[k])``.
        lefts, heights, widths: int arrays (K,) locating each photograph.
    """

    names: tuple[str, ...]
    texture: Tensor
    lefts: np.ndarray
    heights: np.ndarray
    widths: np.ndarray


@lru_cache(maxsize=None)
def photo_atlas(split: str) -> Atlas:
    """The split's photographs packed left to right into one texture (built once; do not modify).

    A two-pixel black gutter separates neighbours; samplers must stay inside a photograph
    wherever the sampled value is used.
    """
    names = split_photos(split)
    images = [load_photo(name) for name in names]
    gutter = 2
    heights = np.array([im.shape[0] for im in images])
    widths = np.array([im.shape[1] for im in images])
    lefts = np.concatenate([[0], np.cumsum(widths + gutter)[:-1]])
    texture = np.zeros((int(heights.max()), int(lefts[-1] + widths[-1]), 3), dtype=np.float32)
    for image, left in zip(images, lefts):
        texture[: image.shape[0], left : left + image.shape[1]] = image
    tensor = torch.from_numpy(texture).permute(2, 0, 1).unsqueeze(0).contiguous()
    for array in (heights, widths, lefts):
        array.setflags(write=False)
    return Atlas(names, tensor, lefts, heights, widths)
