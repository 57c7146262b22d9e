"""Thumbnail sizing and encoding with Pillow, without a server."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from homeserver.media import thumbnails
from tests.media.helpers import (
    animated_gif,
    jpeg_with_orientation,
    png_bytes,
    png_header_only,
)

LIMIT = 32_000_000


@pytest.mark.parametrize(
    ("source", "box", "method", "expected"),
    [
        ((1000, 500), (320, 240), "scale", (320, 160)),
        ((500, 1000), (320, 240), "scale", (120, 240)),
        ((100, 50), (320, 240), "scale", (100, 50)),
        ((1000, 500), (96, 96), "crop", (96, 96)),
        ((50, 500), (96, 96), "crop", (50, 96)),
    ],
)
def test_target_size(
    source: tuple[int, int],
    box: tuple[int, int],
    method: str,
    expected: tuple[int, int],
) -> None:
    assert thumbnails.target_size(source, box, method) == expected


def test_crop_fills_box() -> None:
    result = thumbnails.make_thumbnail(
        io.BytesIO(png_bytes(1000, 400)), (96, 96), "crop", False, LIMIT
    )
    image = Image.open(io.BytesIO(result.data))
    assert image.size == (96, 96)
    assert result.content_type == "image/jpeg"


def test_exif_orientation_applied_and_stripped() -> None:
    # Orientation 6 means "rotate 90 degrees clockwise to display", so 200x100 pixels
    # are shown as 100x200.
    source = jpeg_with_orientation(200, 100, orientation=6)
    result = thumbnails.make_thumbnail(
        io.BytesIO(source), (800, 600), "scale", False, LIMIT
    )
    image = Image.open(io.BytesIO(result.data))
    assert image.size == (100, 200)
    assert len(image.getexif()) == 0
    assert "exif" not in image.info


def test_animated_gif_becomes_animated_webp() -> None:
    source = animated_gif(200, 200, frames=4)
    result = thumbnails.make_thumbnail(
        io.BytesIO(source), (96, 96), "crop", True, LIMIT
    )
    image = Image.open(io.BytesIO(result.data))
    assert result.content_type == "image/webp"
    assert result.animated
    assert image.n_frames == 4
    assert image.size == (96, 96)


def test_animated_gif_static_when_not_requested() -> None:
    source = animated_gif(200, 200, frames=4)
    result = thumbnails.make_thumbnail(
        io.BytesIO(source), (96, 96), "crop", False, LIMIT
    )
    assert result.content_type == "image/jpeg"
    assert not result.animated


def test_pixel_limit_checked_before_decoding() -> None:
    bomb = png_header_only(50_000, 50_000)
    with pytest.raises(thumbnails.ImageTooLarge):
        thumbnails.make_thumbnail(io.BytesIO(bomb), (96, 96), "crop", False, LIMIT)


def test_non_image_rejected() -> None:
    with pytest.raises(thumbnails.NotAnImage):
        thumbnails.make_thumbnail(
            io.BytesIO(b"%PDF-1.4 hello"), (96, 96), "crop", False, LIMIT
        )


def test_svg_rejected() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    with pytest.raises(thumbnails.NotAnImage):
        thumbnails.make_thumbnail(io.BytesIO(svg), (96, 96), "crop", False, LIMIT)


def test_truncated_image_rejected() -> None:
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 50).convert("RGB").save(buffer, "JPEG")
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    with pytest.raises(thumbnails.CorruptImage):
        thumbnails.make_thumbnail(io.BytesIO(truncated), (96, 96), "crop", False, LIMIT)
