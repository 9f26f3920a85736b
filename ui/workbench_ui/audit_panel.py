"""The case's append-only audit log (who did what, when), newest last."""

from __future__ import annotations

import json
from typing import Any

from PyQt6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from workbench.case.audit import AuditEntry


def _summary(details: Any) -> str:
    if not isinstance(details, dict):
        return str(details)
    for key in ("note", "text", "label", "reason"):
        if details.get(key):
            rank = details.get("rank")
            return (f"#{rank}: " if rank is not None else "") + str(details[key])
    text = json.dumps(details, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


class AuditPanel(QWidget):
    """A read-only list of the case's audit entries."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["#", "Time (UTC)", "User", "Action", "Details"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setToolTip("Append-only, hash-chained log stored in the case file")
        header = self.tree.header()
        if header is not None:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree)

    def set_entries(self, entries: list[AuditEntry]) -> None:
        self.tree.clear()
        for e in entries:
            when = e.time.replace("T", " ")[:19]
            item = QTreeWidgetItem([str(e.seq), when, e.user, e.action, _summary(e.details)])
            item.setToolTip(4, json.dumps(e.details, ensure_ascii=False, indent=1, default=str))
            self.tree.addTopLevelItem(item)
        if entries:
            last = self.tree.topLevelItem(self.tree.topLevelItemCount() - 1)
            if last is not None:
                self.tree.scrollToItem(last)

    def count(self) -> int:
        return self.tree.topLevelItemCount()
