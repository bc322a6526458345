"""Survey output: the GeoPackage of the output contract, its styles, and other formats."""

from rams.export.formats import FORMATS, SHAPEFILE_FIELDS, export_layers
from rams.export.gpkg import write_geopackage
from rams.export.schema import SCHEMA, SCHEMA_VERSION, LayerSchema, empty_layer
from rams.export.styles import layer_qml, layer_sld

__all__ = [
    "FORMATS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SHAPEFILE_FIELDS",
    "LayerSchema",
    "empty_layer",
    "export_layers",
    "layer_qml",
    "layer_sld",
    "write_geopackage",
]
