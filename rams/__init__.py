"""rams: Remote Aerial Minefield Survey.

From a drone flight (orthomosaic GeoTIFF) to evidence-based suspected hazard areas.
"""

__version__ = "0.1.0"
