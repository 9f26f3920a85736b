"""The locate stage: footage + reference rasters -> ranked candidate positions.

Public API: :func:`locate`, :func:`write_locate_json`, :class:`LocateConfig`,
:func:`reuse_keyframes` (a saved ``workbench keyframes`` output for :func:`locate`).
"""

from workbench.locate.model import LOCATE_JSON, LocateConfig
from workbench.locate.pipeline import locate, reuse_keyframes, write_locate_json

__all__ = ["LOCATE_JSON", "LocateConfig", "locate", "reuse_keyframes", "write_locate_json"]
