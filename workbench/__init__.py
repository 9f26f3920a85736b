"""OSINT video geolocation workbench: the Qt-free core library.

One package per pipeline stage, called alike by the CLI (:mod:`workbench.cli`),
the desktop app (``workbench_ui``) and the tests::

    video -> keyframes -> imagery -> match -> rank -> locate -> case -> verify -> report

The public API, importable from here::

    from workbench import locate, extract_keyframes, TileCatalog, Case, verify_case, write_reports

======================  ===============================================================
``locate``              footage + imagery -> ranked candidates (``locate.json``)
``extract_keyframes``   footage -> the keyframes an investigator would pick
``TileCatalog``         georeferenced rasters, catalogued without reading pixels
``Case``                the investigation's crash-safe case file with its audit log
``verify_case``         recheck a case: audit chain, file hashes, every confirmed location
``write_reports``       HTML / PDF / GeoJSON / KML reports of a case
======================  ===============================================================

These names load on first use (PEP 562 module ``__getattr__``), so ``import
workbench`` (every CLI start) stays cheap: the stages pull in OpenCV, GDAL and
PyAV.  ``workbench.locate`` is both the function and the name of the stage
package; the function wins (the package stays importable as usual:
``from workbench.locate.pipeline import ...``).

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

import importlib
import logging
import sys
import types
from typing import TYPE_CHECKING, Any

from workbench.version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:  # for type checkers only: at run time the names load lazily (below)
    from workbench.case.casefile import Case
    from workbench.imagery.catalog import TileCatalog
    from workbench.keyframes.extract import extract_keyframes
    from workbench.locate.pipeline import locate
    from workbench.report import write_reports
    from workbench.verify.check import verify_case

__all__ = [
    "Case",
    "TileCatalog",
    "__version__",
    "extract_keyframes",
    "locate",
    "verify_case",
    "write_reports",
]

# public name -> the module that defines it
_API = {
    "Case": "workbench.case.casefile",
    "TileCatalog": "workbench.imagery.catalog",
    "extract_keyframes": "workbench.keyframes.extract",
    "locate": "workbench.locate.pipeline",
    "verify_case": "workbench.verify.check",
    "write_reports": "workbench.report",
}


def __getattr__(name: str) -> Any:
    """Load a public API name on first use (start-up time of ``import workbench``)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


class _Package(types.ModuleType):
    """This package's module type: keeps ``workbench.locate`` the public function.

    Importing the stage package ``workbench.locate`` (by any module) makes Python
    bind it as this module's ``locate`` attribute, which would shadow the function
    (``from workbench import locate`` would return a module).  The binding is
    skipped; the package stays in ``sys.modules`` like any other.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "locate" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
