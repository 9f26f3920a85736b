"""numpy image arrays -> Qt images, safely (the QImage owns a copy of the pixels).

Images in the core are ``np.ndarray (H, W, 3) uint8`` in **BGR** channel order,
masks ``(H, W) uint8`` with 255 = burned-in overlay.  ``QImage`` built straight
on a numpy buffer does not own it (a crash waiting to happen when the array is
freed), so every function here returns an image that owns its own copy.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QIcon, QImage, QPixmap


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """Copy a BGR ``(H, W, 3)``, BGRA ``(H, W, 4)`` or grey ``(H, W)`` uint8 array to a QImage.

    Raises:
        ValueError: the array is not uint8 or has an unsupported shape.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"image must be uint8, not {arr.dtype}")
    if arr.ndim == 2:
        arr = np.ascontiguousarray(arr)
        h, w = arr.shape
        qimg = QImage(arr.tobytes(), w, h, arr.strides[0], QImage.Format.Format_Grayscale8)
        return qimg.copy()
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), not {arr.shape}")
    arr = np.ascontiguousarray(arr)
    h, w, c = arr.shape
    if c == 3:
        # BGR888 exists since Qt 5.14: no channel swap needed
        qimg = QImage(arr.tobytes(), w, h, arr.strides[0], QImage.Format.Format_BGR888)
    else:
        # uint8 BGRA in memory == ARGB32 on little-endian machines; use the byte-order-safe path
        rgba = np.ascontiguousarray(arr[:, :, [2, 1, 0, 3]])
        qimg = QImage(rgba.tobytes(), w, h, rgba.strides[0], QImage.Format.Format_RGBA8888)
    return qimg.copy()


def bgr_to_pixmap(image: np.ndarray) -> QPixmap:
    """A QPixmap of a BGR/BGRA/grey uint8 array (see :func:`bgr_to_qimage`)."""
    return QPixmap.fromImage(bgr_to_qimage(image))


def mask_overlay(mask: np.ndarray, color: QColor | None = None, alpha: int = 110) -> QImage:
    """A transparent ARGB image painting the mask's 255 pixels in ``color``.

    Args:
        mask: ``(H, W) uint8``, 255 (any non-zero) = burned-in overlay (HUD, title card).
        color: tint, default magenta (visible over thermal and colour footage).
        alpha: opacity of the tint 0..255.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be (H, W), not {m.shape}")
    c = color or QColor(255, 0, 200)
    out = np.zeros((*m.shape, 4), np.uint8)
    on = m > 0
    out[on] = (c.blue(), c.green(), c.red(), alpha)
    return bgr_to_qimage(out)


def thumbnail_icon(image: np.ndarray, width: int = 160) -> QIcon:
    """A QIcon of the image scaled to ``width`` pixels wide (smooth)."""
    pm = bgr_to_pixmap(image)
    return QIcon(
        pm.scaledToWidth(max(8, width), Qt.TransformationMode.SmoothTransformation)
    )
