"""What a drone photograph says about itself: its EXIF and XMP tags, read into :class:`PhotoTags`.

EXIF (make, model, GPS position and altitude, focal lengths, time taken) is read with Pillow;
the XMP packet with the standard library's ElementTree, after refusing packets over
:data:`MAX_XMP_BYTES` and any that declare a DTD or entities (XMP allows neither). XMP values
are read whether they are attributes of ``rdf:Description`` or child elements.

XMP namespaces read (see docs/photos.md, "Tags read"):

- DJI, ``http://www.dji.com/drone-dji/1.0/``: ``RelativeAltitude`` (above the take-off point),
  ``AbsoluteAltitude``, ``GimbalYawDegree`` / ``GimbalPitchDegree`` (-90: nadir) /
  ``GimbalRollDegree``, ``FlightYawDegree`` / ``FlightPitchDegree`` / ``FlightRollDegree``,
  ``RtkFlag`` (50: fixed), ``RtkStdLon`` / ``RtkStdLat`` (m), and ``GpsLatitude`` /
  ``GpsLongitude`` (also spelt ``GpsLongtitude``) where the EXIF GPS position is missing;
- Pix4D's camera namespace, ``http://pix4d.com/camera/1.0/`` (Parrot Sequoia, MicaSense and
  others): ``Yaw`` / ``Pitch`` / ``Roll`` (Pix4D's convention: pitch 0 looks straight down, so
  the gimbal pitch read is ``Pitch - 90``), ``AboveGroundAltitude`` (as the relative altitude)
  and ``GPSXYAccuracy`` (m).
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, UnidentifiedImageError

from rams.errors import RamsError

#: Largest XMP packet read (bytes); drone cameras write a few kB.
MAX_XMP_BYTES = 1_000_000

#: Image formats rams reads photographs from (Pillow's names; DJI's JPEGs open as MPO).
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "TIFF"})

#: Raw formats Pillow would open as TIFF but only at their embedded preview's size.
_RAW_SUFFIXES = frozenset({".dng"})

DJI_NS = "http://www.dji.com/drone-dji/1.0/"
PIX4D_NS = "http://pix4d.com/camera/1.0/"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

#: DJI RtkFlag of a fixed RTK solution (centimetre-level); 16: single point, 34: float.
RTK_FIXED = 50

# EXIF tag numbers (Exif 2.32; ExifTags.Base / ExifTags.GPS name them)
_MAKE, _MODEL, _XMP_TIFF = 0x010F, 0x0110, 0x02BC
_DATETIME_ORIGINAL, _FOCAL, _FOCAL_35 = 0x9003, 0x920A, 0xA405
_LAT_REF, _LAT, _LON_REF, _LON, _ALT_REF, _ALT, _H_ERROR = 1, 2, 3, 4, 5, 6, 31

_EXIF_TIME = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


@dataclass(frozen=True)
class PhotoTags:
    """The tags of one photograph that place it: who made the camera, where it was, where it
    looked. ``None`` (or ``""``) where the photograph does not say. Angles in degrees; yaws
    clockwise from true north; heights in metres."""

    path: str
    width_px: int  # the image's actual pixel size
    height_px: int
    make: str  # "" when absent; NUL padding stripped
    model: str
    latitude: float | None  # WGS 84 degrees, signed by GPSLatitudeRef / GPSLongitudeRef
    longitude: float | None
    gps_altitude_m: float | None  # EXIF GPSAltitude (signed by GPSAltitudeRef)
    relative_altitude_m: float | None  # above the take-off point
    absolute_altitude_m: float | None  # DJI XMP AbsoluteAltitude
    gimbal_yaw_deg: float | None  # camera heading: where the top of a nadir photograph faces
    gimbal_pitch_deg: float | None  # -90: nadir
    gimbal_roll_deg: float | None
    flight_yaw_deg: float | None
    flight_pitch_deg: float | None
    flight_roll_deg: float | None
    focal_mm: float | None  # EXIF FocalLength
    focal_35mm: float | None  # EXIF FocalLengthIn35mmFilm
    taken: str  # EXIF DateTimeOriginal as "YYYY-MM-DDTHH:MM:SS", "" when absent
    horizontal_accuracy_m: float | None  # EXIF GPSHPositioningError, DJI RtkStdLon/Lat, Pix4D GPSXYAccuracy
    rtk: bool  # DJI RtkFlag 50: a fixed RTK solution


def read_tags(path: str | os.PathLike[str]) -> PhotoTags:
    """The tags of the photograph at ``path`` (JPEG or TIFF). A file that is missing, is not an
    image rams reads, or whose XMP packet is oversized or not XML raises :class:`RamsError`."""
    p = Path(path)
    if p.suffix.lower() in _RAW_SUFFIXES:
        raise RamsError(p, "a raw DNG photograph: give its JPEG or TIFF")
    try:
        with Image.open(p) as im:
            if im.format not in PHOTO_FORMATS:
                raise RamsError(p, f"a {im.format} image: rams reads photographs as JPEG or TIFF")
            width, height = im.size
            exif = im.getexif()
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            packet = _xmp_packet(im, exif)
    except FileNotFoundError:
        raise RamsError(p, "no such file") from None
    except IsADirectoryError:
        raise RamsError(p, "a folder, not a photograph") from None
    except (UnidentifiedImageError, Image.DecompressionBombError) as err:
        problem = "not an image rams can read (JPEG or TIFF expected)"
        if isinstance(err, Image.DecompressionBombError):
            problem = "too many pixels to be a drone photograph"
        raise RamsError(p, problem) from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt headers
        raise RamsError(p, f"cannot read its tags ({' '.join(str(err).split()) or type(err).__name__})") from None
    xmp = _xmp_values(p, packet)

    latitude = _signed_dms(gps.get(_LAT), gps.get(_LAT_REF), "S")
    longitude = _signed_dms(gps.get(_LON), gps.get(_LON_REF), "W")
    if latitude is None or longitude is None:  # DJI also writes the position in its XMP
        latitude = _number(xmp.get((DJI_NS, "GpsLatitude")))
        longitude = _number(xmp.get((DJI_NS, "GpsLongitude"), xmp.get((DJI_NS, "GpsLongtitude"))))
        if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
            latitude = longitude = None

    gps_altitude = _number(gps.get(_ALT))
    if gps_altitude is not None and _ref_int(gps.get(_ALT_REF)) == 1:
        gps_altitude = -gps_altitude  # below sea level

    gimbal_pitch = _first(xmp, (DJI_NS, "GimbalPitchDegree"))
    pix4d_pitch = _number(xmp.get((PIX4D_NS, "Pitch")))
    if gimbal_pitch is None and pix4d_pitch is not None:
        gimbal_pitch = pix4d_pitch - 90.0  # Pix4D: 0 looks straight down
    return PhotoTags(
        path=str(p),
        width_px=int(width),
        height_px=int(height),
        make=_text(exif.get(_MAKE)),
        model=_text(exif.get(_MODEL)),
        latitude=latitude,
        longitude=longitude,
        gps_altitude_m=gps_altitude,
        relative_altitude_m=_first(xmp, (DJI_NS, "RelativeAltitude"), (PIX4D_NS, "AboveGroundAltitude")),
        absolute_altitude_m=_first(xmp, (DJI_NS, "AbsoluteAltitude")),
        gimbal_yaw_deg=_first(xmp, (DJI_NS, "GimbalYawDegree"), (PIX4D_NS, "Yaw")),
        gimbal_pitch_deg=gimbal_pitch,
        gimbal_roll_deg=_first(xmp, (DJI_NS, "GimbalRollDegree"), (PIX4D_NS, "Roll")),
        flight_yaw_deg=_first(xmp, (DJI_NS, "FlightYawDegree")),
        flight_pitch_deg=_first(xmp, (DJI_NS, "FlightPitchDegree")),
        flight_roll_deg=_first(xmp, (DJI_NS, "FlightRollDegree")),
        focal_mm=_positive(_number(exif_ifd.get(_FOCAL))),
        focal_35mm=_positive(_number(exif_ifd.get(_FOCAL_35))),
        taken=_iso_time(exif_ifd.get(_DATETIME_ORIGINAL)),
        horizontal_accuracy_m=_horizontal_accuracy(gps, xmp),
        rtk=_number(xmp.get((DJI_NS, "RtkFlag"))) == RTK_FIXED,
    )


# --- XMP -----------------------------------------------------------------------------------------


def _xmp_packet(im: Image.Image, exif: Image.Exif) -> bytes | None:
    """The raw XMP packet: a JPEG's APP1 XMP segment, or a TIFF's XMLPacket tag (700)."""
    for value in (im.info.get("xmp"), im.info.get("XML:com.adobe.xmp"), exif.get(_XMP_TIFF)):
        if value is None:
            continue
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if isinstance(value, tuple) and all(isinstance(v, int) for v in value):  # TIFF BYTE array
            return bytes(value)
    return None


def _xmp_values(path: Path, packet: bytes | None) -> dict[tuple[str, str], str]:
    """(namespace URI, name) -> text of every simple property in the packet's rdf:Descriptions,
    attributes and child elements alike (the first of a repeated name wins)."""
    if not packet:
        return {}
    if len(packet) > MAX_XMP_BYTES:
        raise RamsError(path, f"XMP packet of {len(packet)} bytes (more than {MAX_XMP_BYTES}): not read")
    packet = packet.strip(b"\x00 \t\r\n")
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        raise RamsError(path, "XMP packet declares a DTD or entities (XMP allows neither): not read")
    try:
        root = ET.fromstring(packet)
    except ET.ParseError as err:
        raise RamsError(path, f"XMP packet is not well-formed XML ({err})") from None
    values: dict[tuple[str, str], str] = {}
    for description in root.iter(f"{{{_RDF_NS}}}Description"):
        for name, value in description.attrib.items():
            key = _split(name)
            if key is not None:
                values.setdefault(key, value.strip())
        for child in description:
            key = _split(child.tag)
            if key is None or key[0] == _RDF_NS:
                continue
            if len(child) == 0 and child.text is not None:
                values.setdefault(key, child.text.strip())
            else:  # an rdf:Seq / rdf:Alt / rdf:Bag: its first rdf:li
                first = next((li for li in child.iter(f"{{{_RDF_NS}}}li") if li.text), None)
                if first is not None:
                    values.setdefault(key, first.text.strip())
    return values


def _split(name: str) -> tuple[str, str] | None:
    """ElementTree's ``{uri}local`` as (uri, local); None for names without a namespace."""
    if not name.startswith("{"):
        return None
    uri, _, local = name[1:].partition("}")
    return uri, local


def _first(xmp: dict[tuple[str, str], str], *keys: tuple[str, str]) -> float | None:
    """The first of ``keys`` the packet gives a number for."""
    for key in keys:
        value = _number(xmp.get(key))
        if value is not None:
            return value
    return None


# --- values --------------------------------------------------------------------------------------


def _number(value: object) -> float | None:
    """A finite float from an EXIF rational or number, or an XMP text ("+40.10", "3/2")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        num, slash, den = text.partition("/")
        try:
            number = float(num) / float(den) if slash else float(text)
        except (ValueError, ZeroDivisionError):
            return None
    else:
        try:
            number = float(value)  # int, float, IFDRational
        except (TypeError, ValueError, ZeroDivisionError):
            return None
    return number if math.isfinite(number) else None


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _text(value: object) -> str:
    """An EXIF ASCII value without its NUL padding and surrounding blanks."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).split("\x00", 1)[0].strip()


def _ref_int(value: object) -> int | None:
    """GPSAltitudeRef as an integer (Pillow gives BYTE tags as bytes)."""
    if isinstance(value, bytes):
        return value[0] if value else None
    number = _number(value)
    return int(number) if number is not None else None


def _signed_dms(dms: object, ref: object, negative: str) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds), negative for a ``negative`` reference
    ("S" or "W"); None when either is missing or unreadable (a position without its hemisphere
    is no position)."""
    ref_text = _text(ref).upper()
    if not isinstance(dms, tuple | list) or not dms or ref_text[:1] not in ("N", "S", "E", "W"):
        return None
    parts = [_number(v) for v in dms]
    if any(v is None for v in parts):
        return None
    degrees = sum(v / 60.0**i for i, v in enumerate(parts[:3]))
    limit = 90.0 if negative == "S" else 180.0
    if degrees > limit:
        return None
    return -degrees if ref_text[:1] == negative else degrees


def _iso_time(value: object) -> str:
    match = _EXIF_TIME.match(_text(value))
    if match is None:
        return ""
    y, mo, d, h, mi, s = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}"


def _horizontal_accuracy(gps: dict, xmp: dict[tuple[str, str], str]) -> float | None:
    """EXIF GPSHPositioningError; else DJI's RTK standard deviations east and north combined
    (root sum of squares); else Pix4D's GPSXYAccuracy."""
    error = _number(gps.get(_H_ERROR))
    if error is not None and error >= 0:
        return error
    lon, lat = _number(xmp.get((DJI_NS, "RtkStdLon"))), _number(xmp.get((DJI_NS, "RtkStdLat")))
    if lon is not None and lat is not None and lon >= 0 and lat >= 0:
        return math.hypot(lon, lat)
    accuracy = _number(xmp.get((PIX4D_NS, "GPSXYAccuracy")))
    return accuracy if accuracy is not None and accuracy >= 0 else None
