"""OSINT video geolocation workbench: the Qt-free core library.

Pipeline stages are small modules with plain function APIs, called alike by the
CLI (:mod:`workbench.cli`), the desktop app (``ui``) and the tests::

    video -> keyframes -> tiles -> match -> rank -> case -> report

Conventions used across the package (each docstring restates what applies):

* Images are ``numpy.ndarray`` of shape ``(H, W, 3)``, dtype ``uint8``, channel
  order **BGR** (OpenCV's), unless a docstring says otherwise.
* Overlay masks are ``(H, W)`` ``uint8`` arrays, **255 where a burned-in overlay
  (HUD, text, logo) sits** and 0 on scene pixels.
* Pixel coordinates are ``(x, y)`` = (column, row), ``float64``, with the *centre*
  of the top-left pixel at ``(0, 0)`` (OpenCV's convention; a rasterio affine maps
  pixel corners, so tile pixel ``(x, y)`` is at ``transform * (x + 0.5, y + 0.5)``).
* A keyframe pixel becomes a ground position in one place,
  :func:`workbench.position.pixel_position` (lon/lat and a radius in metres).
* Geographic coordinates leave the core as WGS84 (EPSG:4326) in **lon, lat**
  order in arrays and GeoJSON; named fields (``lat=``, ``lon=``) where it reads better.

The library is silent: it logs to the ``workbench`` logger, which has only a
``NullHandler`` until an entry point configures logging.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
