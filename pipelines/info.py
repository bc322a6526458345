"""What a flight is, before anything is run on it (`rams info FLIGHT`)."""

from __future__ import annotations

import os

from rams.errors import RamsError, gdal_message
from rams.flight import GDAL_ERRORS, flight_info, open_flight


def describe(path: str | os.PathLike) -> dict:
    """The summary of a flight raster (:func:`rams.flight.flight_info`: sizes in px, distances in
    metres, areas in km²); a raster GDAL cannot read or warp is refused with a `RamsError`."""
    flight = open_flight(path)
    try:
        return flight_info(flight)
    except GDAL_ERRORS as err:  # the decimated mask read behind the footprint
        raise RamsError(path, f"cannot read raster ({gdal_message(err)})") from None
