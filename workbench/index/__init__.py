"""Region index: search whole regions by shortlisting blocks before verifying them.

``build_index`` cuts rasters into block grids at fixed ground resolutions, describes
each block once (capped RootSIFT), and stores visual words in a versioned,
memory-mapped index folder; ``Retriever`` shortlists the blocks a shot's keyframes
vote for.  See :mod:`workbench.index.model` for the on-disk records and errors.
"""

from workbench.index.build import build_index
from workbench.index.model import (
    BuildStats,
    EmptyRegionError,
    IndexConfig,
    IndexCorruptError,
    IndexCRSError,
    IndexStaleError,
    IndexVersionError,
    RasterEntry,
    RegionIndexError,
    Shortlisted,
)
from workbench.index.retrieve import Retriever
from workbench.index.store import IndexStore

__all__ = [
    "BuildStats",
    "EmptyRegionError",
    "IndexCRSError",
    "IndexConfig",
    "IndexCorruptError",
    "IndexStaleError",
    "IndexStore",
    "IndexVersionError",
    "RasterEntry",
    "RegionIndexError",
    "Retriever",
    "Shortlisted",
    "build_index",
]
