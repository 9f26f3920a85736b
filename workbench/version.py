"""The package version, in a leaf module: stage modules record it in their outputs
(``keyframes.json``, the case file, reports) without importing the ``workbench``
package's public API (which would make every stage depend on every other)."""

from __future__ import annotations

__version__ = "0.1.0"
