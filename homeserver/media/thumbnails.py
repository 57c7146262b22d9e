"""Thumbnail generation with Pillow. Blocking: run these functions in a worker thread.

Spec: Client-Server API, "Thumbnails". "scale" keeps the aspect ratio and fits the image
inside the requested box. "crop" fills the box exactly and cuts the overflow evenly from
both sides. Neither ever upscales, so an image smaller than the box keeps its size.

Every output is re-encoded from decoded pixels: EXIF orientation is applied, then all
metadata (EXIF, ICC profiles, text chunks) is dropped.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

# Decoders tried on user content. Leaving others off keeps the attack surface small.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
_JPEG_QUALITY = 85


class NotAnImage(ValueError):
    """The content is not an image in one of `ALLOWED_FORMATS`."""


class ImageTooLarge(ValueError):
    """The image has more pixels than the configured limit."""


class CorruptImage(ValueError):
    """The image header was readable but the pixel data is truncated or invalid."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    frames: int

    @property
    def animated(self) -> bool:
        return self.frames > 1


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int
    animated: bool


def _open(file: BinaryIO, max_pixels: int) -> Image.Image:
    """Open the image and check its size from the header, before decoding pixels."""
    try:
        image = Image.open(file, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        raise NotAnImage("content is not a supported image format") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImage(f"image header is invalid: {exc}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptImage(f"image has invalid dimensions {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"image is {width}x{height} pixels, more than the limit of {max_pixels}"
        )
    return image


def probe(file: BinaryIO, max_pixels: int) -> ImageInfo:
    """Read an image's dimensions, format and frame count without decoding it."""
    image = _open(file, max_pixels)
    try:
        frames = int(getattr(image, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImage(f"image frames are unreadable: {exc}") from exc
    return ImageInfo(image.width, image.height, str(image.format), frames)


def target_size(
    source: tuple[int, int], box: tuple[int, int], method: str
) -> tuple[int, int]:
    """Return the output size for `method` without upscaling."""
    source_width, source_height = source
    box_width, box_height = box
    if method == "crop":
        return min(box_width, source_width), min(box_height, source_height)
    ratio = min(box_width / source_width, box_height / source_height)
    if ratio >= 1:
        return source_width, source_height
    return (
        max(1, round(source_width * ratio)),
        max(1, round(source_height * ratio)),
    )


def _resize(image: Image.Image, box: tuple[int, int], method: str) -> Image.Image:
    size = target_size(image.size, box, method)
    if method == "scale":
        if size == image.size:
            return image.copy()
        return image.resize(size, Image.Resampling.LANCZOS)

    # Crop: scale so that the image covers the target, then cut the overflow.
    scale = max(size[0] / image.width, size[1] / image.height)
    covered = (
        max(size[0], math.ceil(image.width * scale)),
        max(size[1], math.ceil(image.height * scale)),
    )
    if covered != image.size:
        image = image.resize(covered, Image.Resampling.LANCZOS)
    left = (image.width - size[0]) // 2
    top = (image.height - size[1]) // 2
    return image.crop((left, top, left + size[0], top + size[1]))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _encode_static(image: Image.Image) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if _has_alpha(image):
        image = image.convert("RGBA")
        image.info = {}
        image.save(buffer, "PNG", optimize=True)
        return buffer.getvalue(), "image/png"
    image = image.convert("RGB")
    image.info = {}
    image.save(buffer, "JPEG", quality=_JPEG_QUALITY, optimize=True)
    return buffer.getvalue(), "image/jpeg"


def make_thumbnail(
    file: BinaryIO,
    box: tuple[int, int],
    method: str,
    animated: bool,
    max_pixels: int,
) -> Thumbnail:
    """Decode the image in `file` and return a thumbnail for `box` and `method`.

    With `animated`, a source with several frames becomes an animated WebP unless
    decoding every frame would exceed `max_pixels` in total. Otherwise the first frame
    becomes a JPEG, or a PNG when it has transparency.
    """
    image = _open(file, max_pixels)
    try:
        frames = int(getattr(image, "n_frames", 1))
        if (
            animated
            and frames > 1
            and frames * image.width * image.height <= max_pixels
        ):
            return _animated_thumbnail(image, box, method)
        image.load()
        image = ImageOps.exif_transpose(image) or image
        thumbnail = _resize(image, box, method)
        data, content_type = _encode_static(thumbnail)
    except (OSError, SyntaxError, EOFError) as exc:
        raise CorruptImage(f"image data is truncated or corrupt: {exc}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    return Thumbnail(data, content_type, thumbnail.width, thumbnail.height, False)


def _animated_thumbnail(
    image: Image.Image, box: tuple[int, int], method: str
) -> Thumbnail:
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        converted = frame.convert("RGBA")
        resized = _resize(converted, box, method)
        resized.info = {}
        frames.append(resized)
        durations.append(int(frame.info.get("duration", 100)) or 100)
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=int(image.info.get("loop", 0)),
        quality=80,
    )
    first = frames[0]
    return Thumbnail(buffer.getvalue(), "image/webp", first.width, first.height, True)
