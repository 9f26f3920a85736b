"""Claim check: the claim being tested — where (context layers) and when (sun and shadow).

* :mod:`~workbench.claim.layers` reads context layers (GeoJSON, KML, GeoPackage,
  Shapefile) through GDAL/OGR with their source, licence and as-of date;
* :mod:`~workbench.claim.check` relates the geolocated point to the claimed point or area
  and to the layers (containing polygons, nearest feature of each layer and of each class,
  the claim's category, layer dates against the event date);
* :mod:`~workbench.claim.shadow` turns a shadow marked in a keyframe into a sun azimuth;
* :mod:`~workbench.claim.sun` finds when the sun stood there (NREL SPA via pvlib).

Positions are WGS84 lon/lat; distances geodesic metres; azimuths degrees from true north.
"""

from workbench.claim.area import normalise_area
from workbench.claim.check import check_claim, class_matches
from workbench.claim.geodesy import aeqd, inverse
from workbench.claim.layers import LAYER_TYPES, layer_meta, read_context_layer
from workbench.claim.model import (
    AsOf,
    CategoryCheck,
    ClaimCheck,
    DateSpan,
    LayerHit,
    LayerMeta,
    LayerReport,
    NearestFeature,
    ShadowError,
    ShadowMeasure,
    TimeCheck,
    TimeWindow,
    compass_word,
    format_distance,
)
from workbench.claim.shadow import measure_shadow
from workbench.claim.sun import check_time, day_curve, parse_time, sun_positions

__all__ = [
    "LAYER_TYPES", "AsOf", "CategoryCheck", "ClaimCheck", "DateSpan", "LayerHit", "LayerMeta",
    "LayerReport", "NearestFeature", "ShadowError", "ShadowMeasure", "TimeCheck", "TimeWindow",
    "aeqd", "check_claim", "check_time", "class_matches", "compass_word", "day_curve",
    "format_distance", "inverse", "layer_meta", "measure_shadow", "normalise_area",
    "parse_time", "read_context_layer", "sun_positions",
]
