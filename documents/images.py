"""Evidence photos: is it really a picture, how big, its thumbnail and its difference hash.

Bytes in, facts and bytes out (Pillow, no file, no clock). The type is read from the bytes
themselves, never from a name or a header the sender chose: Pillow must recognise the
format and decode the picture, and only the formats phones send are accepted. A picture
with absurd dimensions (a "decompression bomb") is refused before it is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

#: Pillow format name -> MIME type, for the formats messengers deliver photos in.
FORMATS: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "MPO": "image/jpeg",  # a phone's JPEG with a second frame
}
#: More pixels than any phone camera takes (about 100 megapixels): refused undecoded.
MAX_PIXELS: Final = 100_000_000


class NotAnImage(ValueError):
    """The bytes are not a picture in a format we keep."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    content_type: str
    width: int
    height: int
    dhash: int  # 64-bit difference hash (domain.evidence compares them)


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise NotAnImage(f"format {image.format or 'unknown'}")
            if image.width * image.height > MAX_PIXELS:
                raise NotAnImage(f"{image.width}×{image.height} pixels")
            image.load()  # decodes every byte: a truncated or corrupt file fails here
    except NotAnImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise NotAnImage(str(exc) or type(exc).__name__) from None
    return image


def dhash(image: Image.Image) -> int:
    """Each of 8×8 cells brighter than its right neighbour: stable under re-compression
    and resizing, different for different pictures."""
    small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = list(small.tobytes())  # one byte per pixel (mode L), row by row
    value = 0
    for row in range(8):
        for col in range(8):
            left = pixels[row * 9 + col]
            right = pixels[row * 9 + col + 1]
            value = (value << 1) | (1 if left > right else 0)
    return value


def inspect(data: bytes) -> ImageFacts:
    """What the bytes are; NotAnImage when they are no picture we keep."""
    image = _open(data)
    assert image.format is not None
    upright = ImageOps.exif_transpose(image)
    return ImageFacts(FORMATS[image.format], upright.width, upright.height, dhash(upright))


def thumbnail(data: bytes, px: int = 320) -> bytes:
    """A JPEG at most `px` on its longer side, the right way up (phones' EXIF rotation)."""
    image = ImageOps.exif_transpose(_open(data))
    image.thumbnail((px, px), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()
