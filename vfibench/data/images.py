"""Reading frames from image files, and the one crop/resize policy every real dataset follows.

Frames are float32 arrays (H, W, 3) in [0, 1], RGB, while they are read; they become (3, H, W)
tensors once fitted. Greyscale images become grey RGB (R = G = B); an alpha channel is
dropped; 16-bit files (greyscale, grey with alpha and colour PNGs, 16-bit TIFFs) are scaled by 1/65535,
everything else by 1/255.

Fitting (:func:`fit_frames`) is the same for all three frames of a triplet, so they stay
aligned and equally sharp:

* ``size=None`` — no resampling: centre crop each side to the largest multiple of
  :data:`MULTIPLE` (16, the interpolator's pyramid stride), e.g. 448×256 stays 448×256 and
  1920×1080 becomes 1920×1072.
* ``size=S, fit="resize"`` (the default) — scale so the shorter side is S (bilinear with
  antialiasing, i.e. a low-pass filter before downsampling), then centre crop to S×S. The whole
  scene stays in view; motion shrinks by the same factor as the frame.
* ``size=S, fit="crop"`` — centre crop to S×S without resampling: native sharpness and motion,
  but only the middle of the frame.

Frames are never enlarged: a frame smaller than S (or than 16 px) is an error, because
upsampling would add blur that the benchmark would then measure.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.errors import DataError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

#: Frame sides are cropped to a multiple of this when no size is asked for (2^levels of the model).
MULTIPLE = 16
#: Smallest accepted output side.
MIN_SIZE = 16
#: File name extensions read as frames (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
#: A folder of copies that macOS's archiver adds beside what it packs; never frames or samples.
MACOS_ARCHIVE_FOLDER = "__MACOSX"


def is_hidden(path: Path) -> bool:
    """Whether a file or folder is left out of every listing of frames, samples and sequences: a name that
    starts with a dot (``.DS_Store``, the ``._frame.png`` metadata copies macOS writes on other file
    systems), or :data:`MACOS_ARCHIVE_FOLDER`. The reference scripts that list folders with ``os.listdir``
    would take such a copy for a clip or a frame, or fail reading it."""
    return path.name.startswith(".") or path.name == MACOS_ARCHIVE_FOLDER


def visible_subfolders(folder: Path) -> list[Path]:
    """The folders directly inside ``folder`` that are not :func:`is_hidden`, in listing order."""
    return [entry for entry in folder.iterdir() if entry.is_dir() and not is_hidden(entry)]


class Fit(str, Enum):
    """How a frame is brought to ``size`` × ``size`` (see the module docstring)."""

    resize = "resize"
    crop = "crop"


def check_fit(fit: str | Fit) -> Fit:
    """``fit`` as a :class:`Fit`, or a :class:`DataError` naming the choices."""
    try:
        return Fit(fit)
    except ValueError:
        raise DataError(
            f"Unknown fit policy {fit!r}. Use 'resize' (shorter side to the size, then a centre crop; "
            f"the whole scene stays in view) or 'crop' (a centre crop at native resolution)."
        ) from None


def check_size(size: object) -> int | None:
    """``size`` if it is None or an integer >= :data:`MIN_SIZE`, else a :class:`DataError`."""
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise DataError(
            f"Got size={size!r}; the frame side must be an integer >= {MIN_SIZE} (64 is typical). (From Python, "
            f"size=None keeps the native resolution, cropped to a multiple of {MULTIPLE}.)"
        )
    return int(size)


#: Pillow's modes of greyscale images deeper than 8 bits (16-bit PNG and TIFF), scaled by 1/65535.
WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


#: Pillow's raw modes of 16 bits per channel that it decodes to an 8-bit colour mode: RGB, RGBA, RGBX and
#: premultiplied RGBa (TIFF), grey with alpha (PNG) — not 5-6-5 packed ``BGR;16`` BMPs, 16 bits a pixel.
WIDE_COLOUR_RAW_MODES = re.compile(r"(RGB[AXa]?|LA);16")


def _raw_mode(tile: tuple) -> str:
    """The raw mode of a decoder tile ``(codec, extents, offset, args)``: its ``args`` (PNG) or their
    first item (TIFF). Read by position: Pillow before 11 gives a plain tuple, later ones a named one."""
    args = tile[3]
    if isinstance(args, tuple) and args:
        args = args[0]
    return args if isinstance(args, str) else ""


def is_wide_colour(image: PILImage) -> bool:
    """True for a file of 16 bits per channel that Pillow opens as an 8-bit colour mode (RGB, RGBA):
    16-bit colour and grey-with-alpha PNGs, 16-bit colour TIFFs. Pillow keeps each value's high byte
    (``v >> 8``), a truncation that is one level off the nearest level on about a quarter of the values,
    so such files are decoded with OpenCV instead (:func:`wide_colour_array`). 16-bit greyscale opens in
    a 16-bit mode (:data:`WIDE_GREY_MODES`) and is read by :func:`image_array`."""
    return image.format in ("PNG", "TIFF") and image.mode in ("RGB", "RGBA") and any(
        WIDE_COLOUR_RAW_MODES.match(_raw_mode(tile)) for tile in image.tile)


def wide_colour_array(path: Path, encoded: bytes | None = None) -> np.ndarray:
    """A 16-bit colour or grey-with-alpha file as float32 (H, W, 3) in [0, 1], RGB: each value scaled by
    1/65535, alpha dropped (grey-with-alpha comes from OpenCV as BGRA with B = G = R). ``encoded``: the
    file's bytes, when the caller has read them (decoded as they are, not read again)."""
    import cv2

    data = (cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if encoded is None
            else cv2.imdecode(np.frombuffer(encoded, dtype=np.uint8), cv2.IMREAD_UNCHANGED))
    if data is None or data.dtype != np.uint16 or data.ndim != 3 or data.shape[2] not in (3, 4):
        raise ValueError("not a 16-bit RGB, RGBA or grey-with-alpha image that OpenCV can decode")
    return np.ascontiguousarray(data[:, :, 2::-1], dtype=np.float32) / 65535.0  # BGR(A) → RGB


def image_array(image: PILImage) -> np.ndarray:
    """A decoded image as float32 (H, W, 3) in [0, 1], RGB: 16-bit greyscale scaled by 1/65535 and
    repeated over the channels, every other mode converted to 8-bit RGB by Pillow and scaled by 1/255.
    A ValueError for floating-point pixels (mode ``F``), whose range no file states. (16-bit colour
    files need :func:`wide_colour_array`, which reads the file itself.)"""
    if image.mode == "F":
        raise ValueError("32-bit floating-point pixels have no fixed range; save the frame as 8- or 16-bit")
    if image.mode in WIDE_GREY_MODES:
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0.0, 1.0)[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def read_image(path: Path) -> np.ndarray:
    """One image file as float32 (H, W, 3) in [0, 1], RGB (:func:`image_array`); :class:`DataError`
    naming the file if it fails."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if is_wide_colour(image):
                return wide_colour_array(path)
            image.load()
            array = image_array(image)
    except FileNotFoundError:
        raise DataError(f"The frame {path} does not exist. Check the dataset path and its layout.") from None
    except PermissionError as err:
        raise UnreadableFrame(path, err.strerror or "permission denied",
                              "Give this user read permission on it (e.g. chmod a+r)") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as err:
        cause = (err.strerror if isinstance(err, OSError) and err.strerror else str(err)).replace(f" '{path}'", "")
        raise UnreadableFrame(path, cause.replace(str(path), "the file")) from None
    return np.ascontiguousarray(array)


class UnreadableFrame(DataError):
    """A frame file that exists but cannot be read as an image: ``cause`` is the reader's reason, without
    the path; ``remedy`` what to do about it."""

    def __init__(self, path: Path, cause: str,
                 remedy: str = "Replace or delete the file, or re-export it as PNG") -> None:
        self.path, self.cause, self.remedy = path, cause, remedy
        super().__init__(f"The frame {path} could not be read as an image ({cause}). {remedy}; "
                         f"`vfibench data validate` lists every unreadable file.")

    def __reduce__(self) -> tuple[type, tuple[Path, str, str]]:  # across processes, as any other error
        return UnreadableFrame, (self.path, self.cause, self.remedy)


def fitted_shape(height: int, width: int, size: int | None, fit: Fit, where: str) -> tuple[int, int]:
    """The (H, W) that :func:`fit_frames` gives a ``height`` × ``width`` frame."""
    if size is None:
        if height < MULTIPLE or width < MULTIPLE:
            raise DataError(
                f"The frames of {where} are {width}x{height} pixels; frames need at least "
                f"{MULTIPLE} pixels on each side."
            )
        return height - height % MULTIPLE, width - width % MULTIPLE
    if min(height, width) < MIN_SIZE:
        raise DataError(
            f"The frames of {where} are {width}x{height} pixels; frames need at least {MIN_SIZE} pixels on "
            f"each side, so these cannot be used at any size. Use larger frames."
        )
    if min(height, width) < size:
        other = "a centre crop" if fit is Fit.crop else "a resize"
        raise DataError(
            f"The frames of {where} are {width}x{height} pixels, smaller than the requested size {size} "
            f"({other} would have to enlarge them, which adds blur). Ask for size <= {min(height, width)}."
        )
    return size, size


def _centre_crop(frame: Tensor, height: int, width: int) -> Tensor:
    top = (frame.shape[-2] - height) // 2
    left = (frame.shape[-1] - width) // 2
    return frame[..., top : top + height, left : left + width]


def fit_frames(frames: list[np.ndarray], size: int | None, fit: Fit, where: str) -> Tensor:
    """Stack same-sized frames (H, W, 3) into (K, 3, h, w) float32 fitted by the module's policy."""
    height, width = frames[0].shape[:2]
    out_h, out_w = fitted_shape(height, width, size, fit, where)
    stack = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
    if size is not None and fit is Fit.resize:
        scale = size / min(height, width)
        new = (max(size, round(height * scale)), max(size, round(width * scale)))
        if new != (height, width):
            stack = F.interpolate(stack, size=new, mode="bilinear", align_corners=False, antialias=True)
    return _centre_crop(stack, out_h, out_w).clamp(0.0, 1.0).contiguous()


def save_png(frame: Tensor, path: Path) -> None:
    """Write a (3, H, W) frame in [0, 1] as an 8-bit RGB PNG (values rounded to 1/255)."""
    from PIL import Image

    array = (frame.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(array)).save(path)
