"""Offline and contained by default: what GDAL may open on the workbench's behalf.

Reference imagery is untrusted input.  Left alone, GDAL follows a VRT's raw band into
``/etc/passwd`` (local bytes become pixels in report figures), fetches ``/vsicurl/``
and cloud paths, and a WMS/XYZ/TMS description makes network requests.  Before GDAL
sees a file, :func:`check_raster_source` reads it as text when it is XML (VRT, GDAL
service descriptions) and walks every source recursively (nested VRTs, warped VRTs),
refusing:

* network paths (``/vsicurl/``, ``/vsis3/``, ``/vsigs/``, ``/vsiaz/``..., ``http://``,
  ``ftp://``) and service descriptions (``<GDAL_WMS>`` for WMS/TMS/XYZ, ``<GDAL_WMTS>``,
  ``WCS``, ...) unless :func:`set_containment` allowed the network (``--allow-network``);
* raw-file bands (``VRTRawRasterBand``) unless raw VRTs were allowed (``--allow-raw-vrt``);
* always: ``MEM:::`` sources (memory addresses) and Python pixel functions (code).

Every GDAL call also runs under :data:`OFFLINE_OPTIONS` (raw VRT bands and Python
disabled in GDAL itself; HTTP requests sent to a closed local proxy and ``/vsicurl/``
restricted to an extension no file has), so a path this check did not foresee still
cannot reach out, and a dataset a network driver opened anyway (a STAC JSON...) is
refused by :func:`check_driver`.  The refusal is one line naming the file and the
opt-in.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from workbench.errors import RasterOpenError

__all__ = [
    "NETWORK_DRIVERS",
    "OFFLINE_OPTIONS",
    "allowed",
    "check_driver",
    "check_path",
    "check_raster_source",
    "gdal_options",
    "set_containment",
]

ENV_NETWORK = "WORKBENCH_ALLOW_NETWORK"
ENV_RAW_VRT = "WORKBENCH_ALLOW_RAW_VRT"
_state: dict[str, bool | None] = {"network": None, "raw_vrt": None}

# GDAL raster drivers that fetch from servers (never opened unless the network is allowed)
NETWORK_DRIVERS = frozenset({
    "WMS", "WMTS", "WCS", "EEDAI", "EEDA", "PLMOSAIC", "DAAS", "NGW", "OGCAPI", "STACIT",
    "STACTA", "HTTP", "RASTERLITE2", "ESRIC", "TILEDB", "ZARR", "ARG",
})
OFFLINE_OPTIONS: dict[str, Any] = {
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # a closed port: any request that slips through fails
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".workbench-offline",
    "GDAL_HTTP_MAX_RETRY": 0,
}
_VSI_NET = re.compile(r"(^|/)vsi(curl|s3|gs|az|adls|oss|swift|webhdfs|hdfs|http)"
                      r"(_streaming)?(/|\?|$)")
_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_CONNECTION = re.compile(r"^(WMS|WMTS|WCS|EEDAI|EEDA|PLMOSAIC|DAAS|NGW|OGCAPI|STACIT|STACTA|"
                         r"HTTP|ZARR|TILEDB)\s*:", re.IGNORECASE)
_NETWORK_ROOTS = frozenset({"gdal_wms", "gdal_wmts", "wcs_gdal", "gdal_wcs", "wms_capabilities",
                            "capabilities", "wmt_ms_capabilities", "tilemap", "tilemapservice"})
_MAX_XML = 8 << 20
_MAX_DEPTH = 8


def set_containment(*, allow_network: bool | None = None,
                    allow_raw_vrt: bool | None = None) -> None:
    """Process-wide opt-ins (the CLI's ``--allow-network`` / ``--allow-raw-vrt``);
    ``None`` falls back to ``$WORKBENCH_ALLOW_NETWORK`` / ``$WORKBENCH_ALLOW_RAW_VRT``
    (``1`` allows), else refused."""
    _state["network"] = allow_network
    _state["raw_vrt"] = allow_raw_vrt


def allowed(what: str) -> bool:
    """Whether ``"network"`` or ``"raw_vrt"`` is allowed in this process."""
    value = _state[what]
    if value is not None:
        return value
    return os.environ.get(ENV_NETWORK if what == "network" else ENV_RAW_VRT, "") == "1"


def gdal_options() -> dict[str, Any]:
    """GDAL configuration for every open and read, per the current opt-ins."""
    opts = dict(OFFLINE_OPTIONS)
    if allowed("network"):
        for key in ("GDAL_HTTP_PROXY", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS"):
            opts.pop(key)
    if allowed("raw_vrt"):
        opts.pop("GDAL_VRT_ENABLE_RAWRASTERBAND")
    return opts


def _refuse(what: str, flag: str, path: Path) -> RasterOpenError:
    return RasterOpenError(f"refused: {what}; the workbench works offline and contained"
                           f" unless run with {flag}", path)


def is_network_path(text: str) -> bool:
    """True for a GDAL path or connection string that reaches a server."""
    t = text.strip()
    low = t.lower()
    if low.startswith("/vsi") and _VSI_NET.search(low):  # also chained: /vsizip//vsicurl/
        return True
    return bool(_URL.match(t) or _CONNECTION.match(t))


def check_driver(driver: str, path: Path) -> None:
    """Refuse a dataset opened by a network driver (WMS, STAC, ...) unless allowed."""
    if driver.upper() in NETWORK_DRIVERS and not allowed("network"):
        raise _refuse(f"a network raster (GDAL driver {driver})", "--allow-network", path)


def check_path(path: str | os.PathLike[str], where: Path | None = None) -> None:
    """Refuse a network path (unless allowed) or a ``MEM:::`` one (always).

    Raises:
        RasterOpenError: naming ``where`` (default ``path``).
    """
    text = os.fspath(path)
    at = where or Path(text)
    if text.strip().upper().startswith("MEM:::"):
        raise RasterOpenError("refused: a MEM::: source (reads process memory)", at)
    if is_network_path(text) and not allowed("network"):
        raise _refuse(f"a network source ({text[:80]})", "--allow-network", at)


def check_raster_source(path: str | os.PathLike[str]) -> None:
    """Check a raster file and, for XML (VRT, service descriptions), everything it refers
    to, before GDAL opens it (see the module docs).  Metadata only; reads at most 8 MB
    of XML per file.

    Raises:
        RasterOpenError: one line naming the file and why it is refused.
    """
    _check(Path(path), Path(path), 0, set())


def _check(p: Path, top: Path, depth: int, seen: set[str]) -> None:
    check_path(p, top)
    if depth > _MAX_DEPTH:
        raise RasterOpenError(f"refused: VRTs nested deeper than {_MAX_DEPTH}", top)
    try:
        key = str(p.resolve())
    except (OSError, RuntimeError):
        key = str(p)
    if key in seen:
        raise RasterOpenError("refused: a VRT that refers to itself", top)
    seen = {*seen, key}
    root = _xml_root(p, top)
    if root is None:
        return
    tag = _local(root.tag)
    if tag in _NETWORK_ROOTS or (tag.startswith("gdal_") and tag != "gdal_vrt"):
        if not allowed("network"):
            raise _refuse(f"a network raster (GDAL <{root.tag}> service description)",
                          "--allow-network", top)
        return
    if tag != "vrtdataset":
        return
    for el in root.iter():
        name = _local(el.tag)
        sub = (el.get("subClass") or el.get("subclass") or "").lower()
        if sub == "vrtrawrasterband" and not allowed("raw_vrt"):
            src = (el.findtext("SourceFilename") or "").strip()
            raise _refuse(f"a raw VRT band reading {src[:80] or 'a file'} as pixels",
                          "--allow-raw-vrt", top)
        if name == "pixelfunctionlanguage" and (el.text or "").strip().lower() == "python":
            raise RasterOpenError("refused: a VRT with Python pixel functions (code)", top)
        if name in ("sourcefilename", "sourcedataset", "overviewfilename", "maskfilename"):
            text = (el.text or "").strip()
            if not text:
                continue
            check_path(text, top)
            if text.startswith("/vsi"):
                continue  # /vsizip/ and friends: GDAL reads inside; no XML walk
            rel = el.get("relativeToVRT", el.get("relativetovrt", "0")) == "1"
            src_path = (p.parent / text) if rel or not os.path.isabs(text) else Path(text)
            if src_path.is_file():
                _check(src_path, top, depth + 1, seen)


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _xml_root(p: Path, top: Path) -> ET.Element | None:
    """The parsed root when ``p`` is an XML file, else ``None``."""
    try:
        with p.open("rb") as fh:
            head = fh.read(1024)
            if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                return None
            size = os.fstat(fh.fileno()).st_size
            if size > _MAX_XML:
                raise RasterOpenError(f"XML raster description larger than {_MAX_XML >> 20} MB",
                                      top)
            data = head + fh.read()
    except OSError:
        return None  # GDAL's open reports it
    if b"<!ENTITY" in data.upper():
        raise RasterOpenError("refused: XML with entity declarations", top)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        if p == top:
            raise RasterOpenError(f"malformed XML ({' '.join(str(exc).split())})", top) from exc
        return None
