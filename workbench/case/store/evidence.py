"""Row digests and the expected schema: what lets ``verify`` see any edit of a case's rows.

Every audit entry that writes rows (schema 4 on) records, in the ``row_digests``
table, the digest of each row it created or changed *as stored* (read back inside
the same transaction), and the entry's ``details`` carry ``rows_sha256``, a digest
over that set, so the hash chain covers it.  A row is named by a key
``table/id``: ``meta/<key>``, ``keyframes/<id>``, else ``<table>/<rowid>``.

The canonical form of a row (:func:`row_fields`): every column by name; BLOBs as
``"sha256:<hex>"``; the JSON columns (``doc``, ``video_json``, ``meta_json``,
``geojson``, ``measure_json``, ``area_json``, ``lonlat_json``) flattened one level
(``doc.verdict``, ``doc.warnings``...) so a finding can name the field that changed.
The row digest is SHA-256 of the canonical JSON of ``{"table", "fields"}``; each
field also gets a 16-hex digest (:func:`field_digests`).

:func:`schema_problems` compares the database's tables, triggers, views and indexes
with those of a freshly created case of the same version (a dropped or planted
trigger, a rebuilt table).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Any

from workbench.hashing import sha256_bytes, sha256_reader

# table -> the column naming a row in its key ("rowid" = SQLite's rowid)
EVIDENCE_TABLES: dict[str, str] = {
    "meta": "key", "footage": "rowid", "rasters": "rowid", "keyframes": "id",
    "locate_runs": "rowid", "candidates": "rowid", "decisions": "rowid", "notes": "rowid",
    "tie_points": "rowid", "claim": "rowid", "context_layers": "rowid",
    "points_of_interest": "rowid", "shadows": "rowid", "signatures": "rowid",
    "timestamps": "rowid", "footage_sources": "rowid", "imagery_meta": "rowid",
    "tie_point_retractions": "rowid",
}
JSON_COLUMNS = frozenset({"doc", "video_json", "meta_json", "geojson", "measure_json",
                          "area_json", "lonlat_json"})
FIELD_DIGEST_HEX = 16

RowDigest = tuple[str, dict[str, str]]  # (row digest, field -> short digest)


def _canon(obj: Any) -> str:
    """Deterministic JSON for digests; never raises on what SQLite can hold (inf)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True, default=str)


def row_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The canonical field map of one stored row (see the module docstring)."""
    fields: dict[str, Any] = {}
    for col, value in row.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            fields[col] = "sha256:" + sha256_bytes(bytes(value))
        elif col in JSON_COLUMNS and isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                fields[col] = value  # unparsable: kept raw, so any change still shows
                continue
            if isinstance(parsed, dict):
                for k, v in parsed.items():
                    fields[f"{col}.{k}"] = v
            else:
                fields[col] = parsed
        else:
            fields[col] = value
    return fields


def field_digests(fields: dict[str, Any]) -> dict[str, str]:
    """A short digest per field (names what changed; the row digest proves it)."""
    return {k: sha256_bytes(_canon(v).encode())[:FIELD_DIGEST_HEX] for k, v in fields.items()}


def row_digest(table: str, fields: dict[str, Any]) -> str:
    return sha256_bytes(_canon({"table": table, "fields": fields}).encode())


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                            "'table'")}


def _select(conn: sqlite3.Connection, table: str, key: str | None = None
            ) -> list[tuple[str, dict[str, Any]]]:
    """``[(key, row dict), ...]`` of ``table`` (all rows, or the one with ``key``).  BLOB
    values come back as ``"sha256:<hex>"``, hashed through SQLite's incremental blob
    reads (a footage copy can be close to 1 GB: it is never loaded whole here)."""
    if table not in EVIDENCE_TABLES:
        raise KeyError(table)
    kcol = EVIDENCE_TABLES[table]
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    blobs = {str(c[1]) for c in info if str(c[2]).upper() == "BLOB"}
    cols = [str(c[1]) for c in info]
    select = ", ".join(f'typeof("{c}")' if c in blobs else f'"{c}"' for c in cols)
    sql = f"SELECT rowid, {select} FROM {table}"
    args: tuple[Any, ...] = ()
    if key is not None:
        sql += f" WHERE {kcol} = ?"
        args = (key,)
    out = []
    for values in conn.execute(sql, args).fetchall():
        rowid = int(values[0])
        row = dict(zip(cols, values[1:], strict=True))
        for c in blobs:
            if row[c] == "blob":
                with conn.blobopen(table, c, rowid, readonly=True) as blob:
                    row[c] = "sha256:" + sha256_reader(blob.read)
            elif row[c] != "null":  # a value of another type stored in a BLOB column:
                # tagged, so text reading "sha256:..." cannot pass for the blob it names
                value = conn.execute(f'SELECT "{c}" FROM {table} WHERE rowid = ?',
                                     (rowid,)).fetchone()[0]
                row[c] = {"sqlite_type": row[c], "value": value}
            else:
                row[c] = None
        kval = rowid if kcol == "rowid" else row[kcol]
        out.append((f"{table}/{kval}", row))
    return out


def current_row_digests(conn: sqlite3.Connection) -> dict[str, RowDigest]:
    """Digest of every row of every evidence table present, keyed ``table/id``."""
    have = _tables(conn)
    out: dict[str, RowDigest] = {}
    for table in EVIDENCE_TABLES:
        if table not in have:
            continue
        for key, row in _select(conn, table):
            fields = row_fields(row)
            out[key] = (row_digest(table, fields), field_digests(fields))
    return out


def digest_of(conn: sqlite3.Connection, key: str) -> RowDigest:
    """The digest of the row named ``key`` (``KeyError`` if there is none)."""
    table, _, kval = key.partition("/")
    rows = _select(conn, table, kval)
    if len(rows) != 1:
        raise KeyError(key)
    fields = row_fields(rows[0][1])
    return row_digest(table, fields), field_digests(fields)


def rows_aggregate(rows: dict[str, RowDigest]) -> str:
    """The digest an audit entry carries over the row digests it recorded."""
    return sha256_bytes(_canon({k: [d, f] for k, (d, f) in rows.items()}).encode())


def record_rows(conn: sqlite3.Connection, seq: int, keys: list[str]) -> tuple[str, int]:
    """Digest the rows ``keys`` as stored now and record them under audit entry ``seq``
    (inside the caller's transaction); returns ``(rows_sha256, number of rows)``."""
    rows = {k: digest_of(conn, k) for k in dict.fromkeys(keys)}
    for k, (d, f) in rows.items():
        conn.execute("INSERT INTO row_digests (seq, key, digest, fields) VALUES (?, ?, ?, ?)",
                     (seq, k, d, _canon(f)))
    return rows_aggregate(rows), len(rows)


def recorded_row_digests(conn: sqlite3.Connection) -> dict[int, dict[str, RowDigest]]:
    """The ``row_digests`` table: audit seq -> {key: (digest, field digests)}.  A field
    map that does not parse is kept as ``{}`` (its aggregate then fails to match)."""
    if "row_digests" not in _tables(conn):
        return {}
    out: dict[int, dict[str, RowDigest]] = {}
    for seq, key, digest, fields in conn.execute(
            "SELECT seq, key, digest, fields FROM row_digests ORDER BY seq, key"):
        try:
            f = json.loads(fields)
        except (TypeError, ValueError):
            f = {}
        out.setdefault(int(seq), {})[str(key)] = (str(digest), f if isinstance(f, dict) else {})
    return out


def keys_of(conn: sqlite3.Connection, table: str, where: str = "",
            args: tuple[Any, ...] = ()) -> list[str]:
    """The keys of ``table``'s rows matching ``where`` (an SQL condition on its columns,
    written in this package only)."""
    if table not in EVIDENCE_TABLES:
        raise KeyError(table)
    kcol = EVIDENCE_TABLES[table]
    sql = f"SELECT {kcol} FROM {table}" + (f" WHERE {where}" if where else "")
    return [f"{table}/{r[0]}" for r in conn.execute(sql, args)]


# ---- the expected schema ---------------------------------------------------------------


def schema_objects(conn: sqlite3.Connection) -> dict[str, str]:
    """``"type name" -> description`` of every table (its columns), trigger, view and
    index (its SQL, whitespace-normalised)."""
    out: dict[str, str] = {}
    for typ, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master"):
        if typ == "table":
            cols = conn.execute(f'PRAGMA table_info("{name!s}")').fetchall()
            out[f"table {name}"] = "; ".join(f"{c[1]} {c[2]}{' NOT NULL' if c[3] else ''}"
                                             f"{' PK' if c[5] else ''}" for c in cols)
        else:
            out[f"{typ} {name}"] = " ".join(str(sql or "").split())
    return out


@functools.lru_cache(maxsize=1)
def _expected(create: Any) -> dict[str, str]:
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        mem.execute("BEGIN")
        create(mem, created="", software="")
        mem.execute("COMMIT")
        return schema_objects(mem)
    finally:
        mem.close()


def schema_problems(conn: sqlite3.Connection, create: Any) -> list[tuple[str, str]]:
    """``[(object, problem), ...]``: differences from the schema ``create(conn, created=,
    software=)`` makes in an empty database (missing, planted or altered objects)."""
    want = _expected(create)
    have = schema_objects(conn)
    out = []
    for obj in sorted(set(want) - set(have)):
        what = "dropped: the table's rows are no longer protected" \
            if obj.startswith("trigger ") else "missing"
        out.append((obj, f"{what} (expected in a case of this schema version)"))
    for obj in sorted(set(have) - set(want)):
        what = "planted trigger: it can rewrite rows as they are written" \
            if obj.startswith("trigger ") else "not part of the case schema"
        out.append((obj, f"{what} (added outside the workbench)"))
    for obj in sorted(set(want) & set(have)):
        if want[obj] != have[obj]:
            out.append((obj, f"definition differs from the case schema's (now: "
                             f"{have[obj][:120]})"))
    return out
