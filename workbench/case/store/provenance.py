"""The footage-source and imagery-provenance statements of :class:`CaseDB` (schema 4,
``DDL_V4_SOURCE``): both tables are append-only, the latest row is current."""

from __future__ import annotations

import sqlite3

from workbench.case.model import FootageSource, ImageryMeta


class ProvenanceQueries:
    """Mixed into :class:`workbench.case.store.db.CaseDB` (which provides ``conn``)."""

    @property
    def conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def footage_sources(self) -> list[FootageSource]:
        """Every footage-source record, oldest first (the last one is current)."""
        return [FootageSource(int(r["id"]), r["url"], r["channel"], r["obtained"],
                              r["archive_path"], r["archive_name"], r["archive_sha256"],
                              r["archive_size"], r["note"], r["user"], r["time"])
                for r in self.conn.execute("SELECT * FROM footage_sources ORDER BY id")]

    def insert_footage_source(self, s: FootageSource) -> int:
        cur = self.conn.execute(
            "INSERT INTO footage_sources (url, channel, obtained, archive_path, archive_name, "
            "archive_sha256, archive_size, note, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.url, s.channel, s.obtained, s.archive_path, s.archive_name, s.archive_sha256,
             s.archive_size, s.note, s.user, s.time))
        return int(cur.lastrowid or 0)

    def imagery_meta(self) -> list[ImageryMeta]:
        """Every analyst-entered imagery record, oldest first."""
        return [ImageryMeta(int(r["id"]), r["raster_sha256"], r["raster_path"], r["acquired"],
                            r["attribution"], r["gsd_m"], r["user"], r["time"])
                for r in self.conn.execute("SELECT * FROM imagery_meta ORDER BY id")]

    def insert_imagery_meta(self, m: ImageryMeta) -> int:
        cur = self.conn.execute(
            "INSERT INTO imagery_meta (raster_sha256, raster_path, acquired, attribution, "
            "gsd_m, user, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (m.raster_sha256, m.raster_path, m.acquired, m.attribution, m.gsd_m, m.user,
             m.time))
        return int(cur.lastrowid or 0)
