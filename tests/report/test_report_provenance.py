"""Issue 13, deliverable 4: footage source, analyst-entered imagery provenance, points with
their radius, the readable audit log, the real PDF date, path redaction; and hostile text
(bidi controls, a 100 kB note) in the HTML and PDF reports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from casekit import Scene, make_scene, to_schema_3

from workbench.case import Case
from workbench.case.model import AuditEntry, ImageryMeta, RasterRecord
from workbench.cli import main
from workbench.errors import CaseError, UsageError
from workbench.hashing import sha256_file
from workbench.position import candidate_pixel_position
from workbench.report import write_reports
from workbench.report.provtext import audit_summary, imagery_fields
from workbench.report.redact import Redactor
from workbench.textsafe import visible_controls
from workbench.verify import verify_case

RLO = "\u202e"
EVIL = f"<script>alert('x')</script> & </td></table> invoice{RLO}gnp.exe"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("prov_scene"))


def _new_case(scene: Scene, path: Path) -> Path:
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "tower and fork match")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- the case API and CLI ---------------------------------------------------------


def test_footage_source_is_recorded_hashed_and_audited(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    archive = tmp_path / "archived copy.mp4"
    shutil.copyfile(scene.video, archive)
    with Case.open(path, analyst="bob") as case:
        src = case.set_footage_source(url="https://t.me/ministry/1234", channel="@ministry",
                                      obtained="2015-09-30T14:05+03:00", archive=archive,
                                      note="saved with yt-dlp")
    with Case.open(path) as case:
        assert case.footage_source() == src
        assert src.archive_sha256 == sha256_file(archive)[0] == case.video.sha256
        assert src.archive_size == archive.stat().st_size and src.user == "bob"
        assert src.obtained == "2015-09-30T14:05:00+03:00"
        last = case.audit_log()[-1]
        assert last.action == "source" and last.user == "bob"
        assert last.details["archive_matches_footage"] is True
    assert verify_case(path).ok


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({}, UsageError, "needs --url, --channel or --archive"),
    ({"url": "t.me ministry"}, UsageError, "is not a URL"),
    ({"url": "https://x.org/a", "obtained": "2015-09-30T14:05"}, UsageError, "has no zone"),
    ({"channel": "x", "obtained": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
     UsageError, "in the future"),
    ({"archive": "/nonexistent/copy.mp4"}, CaseError, "not found"),
])
def test_bad_footage_source_records_nothing(scene: Scene, tmp_path: Path, kwargs: dict[str, str],
                                            error: type[Exception], message: str) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        before = len(case.audit_log())
        with pytest.raises(error, match=message) as err:
            case.set_footage_source(**kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(err.value)
        assert len(case.audit_log()) == before and case.footage_source() is None


def test_imagery_meta_through_the_cli(scene: Scene, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_new_case(scene, tmp_path / "c.wbcase"))
    code, out, _ = run(capsys, "case", "imagery-meta", path, "town.tif", "--date", "2016-08-02",
                       "--attribution", "Airbus via Google Earth", "--gsd", "0.6",
                       "--user", "carol")
    assert code == 0 and "imagery metadata of town.tif recorded by carol" in out
    for argv, message in [
        (["nope.tif", "--date", "2016"], "is not a raster of this case"),
        (["town.tif", "--date", "2016-13-01"], "not a calendar date"),
        (["town.tif", "--date", "next week"], "use YYYY"),
        (["town.tif", "--date", "2016-08-02T10:00"], "has no zone"),
        (["town.tif", "--gsd", "-1"], "ground sample distance"),
        (["town.tif"], "needs --date, --attribution or --gsd"),
    ]:
        code, _, err = run(capsys, "case", "imagery-meta", path, *argv)
        assert code == 2 and message in err and err.count("\n") == 1, (argv, err)
    with Case.open(path) as case:
        [meta] = case.imagery_meta().values()
        assert (meta.acquired, meta.attribution, meta.gsd_m, meta.user) == (
            "2016-08-02", "Airbus via Google Earth", 0.6, "carol")
        assert [a.action for a in case.audit_log()].count("imagery_meta") == 1


def test_source_through_the_cli(scene: Scene, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_new_case(scene, tmp_path / "c.wbcase"))
    other = tmp_path / "other.mp4"
    other.write_bytes(b"not the footage")
    code, out, _ = run(capsys, "case", "source", path, "--url", "https://example.org/v/1",
                       "--obtained", "2015-09-30T11:05Z", "--archive", str(other))
    assert code == 0 and "NOT the footage file" in out
    code, _, err = run(capsys, "case", "source", path, "--obtained", "yesterday",
                       "--channel", "x")
    assert code == 2 and "not ISO 8601" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "case", "info", path)
    assert "source:    https://example.org/v/1, obtained 2015-09-30T11:05:00+00:00" in out
    code, out, _ = run(capsys, "case", "info", path, "--json")
    assert json.loads(out)["source"]["archive_sha256"] == sha256_file(other)[0]


def test_imagery_fields_say_unknown_only_when_unknown() -> None:
    bare = RasterRecord("/x/t.tif", "a" * 64, 1)
    assert imagery_fields(bare, None) == ("unknown", "unknown", "unknown")
    filed = RasterRecord("/x/t.tif", "a" * 64, 1, gsd_m=0.5, acquired="2024-01-15",
                         attribution="Maxar")
    acq, att, gsd = imagery_fields(filed, None)
    assert acq == "2024-01-15 (from the file's metadata)" and gsd.startswith("0.50 m")
    mine = ImageryMeta(1, "a" * 64, "/x/t.tif", "2023-12", None, None, "bob", "T1")
    acq, att, gsd = imagery_fields(filed, mine)
    assert acq == ("2023-12 (entered by the analyst bob at T1; the file says 2024-01-15)")
    assert att == "Maxar (from the file's metadata)"
    acq, att, _ = imagery_fields(bare, ImageryMeta(1, "a" * 64, "", None, "Airbus", None, "b",
                                                   "T"))
    assert acq == "unknown" and att == "Airbus (entered by the analyst b at T)"


# ---- points of interest with their radius, schema 3 -> 4 ------------------------------


def test_point_radius_is_stored_and_reported(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        p = case.set_point_of_interest(1, 200.0, 90.0, "impact")
        c = case.candidate(1)
        grid = case.raster_for(c.tile)
        assert grid is not None
        # independent: the one position function of the project, called directly
        want = candidate_pixel_position(c, grid.transform, grid.crs, grid.gsd_m, (200.0, 90.0))
        [stored] = case.points_of_interest()
        assert stored.uncertainty_m == pytest.approx(want.uncertainty_m)
        assert p.uncertainty_m == stored.uncertainty_m and stored.uncertainty_m > 0
        [html] = write_reports(case, ["html"], tmp_path / "out",
                               generated_at="2026-01-02T03:04:05Z")
    from workbench.geo import format_uncertainty

    text = html.read_text(encoding="utf-8")
    assert "± m (1 sigma)" in text
    assert f"<td class=\"num\">{format_uncertainty(want.uncertainty_m)}</td>" in text


def test_migration_from_3_fills_the_point_radius(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        p = case.set_point_of_interest(1, 200.0, 90.0, "impact")
    to_schema_3(path)  # make it a schema-3 file again
    with Case.open(path, analyst="dan") as case:
        assert case.schema_version == 4
        [stored] = case.points_of_interest()
        assert stored.uncertainty_m == pytest.approx(p.uncertainty_m)
        last = case.audit_log()[-1]
        assert last.action == "migrate" and last.details["from_version"] == 3
        case.set_footage_source(channel="@ministry")  # the new tables work
        with pytest.raises(Exception, match="append-only"):
            case._db.conn.execute("DELETE FROM footage_sources")
    assert verify_case(path).ok


# ---- the report -------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_case(scene: Scene, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prov_case")
    path = _new_case(scene, root / "c.wbcase")
    archive = root / "archive.mp4"
    shutil.copyfile(scene.video, archive)
    with Case.open(path, analyst=f"erin {RLO}x") as case:
        case.set_footage_source(url="https://t.me/ministry/1234", channel=f"ch {EVIL}",
                                obtained="2015-09-30T14:05+03:00", archive=archive,
                                note=f"note {EVIL} see {archive}")
        case.set_imagery_meta(scene.tile.name, attribution=f"attr {EVIL}")
        case.set_point_of_interest(1, 200.0, 90.0, f"impact {EVIL}\x07")
        case.add_note("long " + "x" * 100_000)  # 100 kB in one word
        case.add_note("spaced " + "lorem ipsum " * 9000)  # 100 kB of words
    return path


@pytest.fixture(scope="module")
def full_reports(full_case: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("prov_reports")
    with Case.open(full_case) as case:
        paths = write_reports(case, ["html", "pdf", "geojson", "kml"], out,
                              generated_at="case")
    return {p.suffix[1:]: p for p in paths}


def test_report_has_source_block_analysts_and_readable_audit(full_case: Path,
                                                           full_reports: dict[str, Path],
                                                           scene: Scene) -> None:
    html = full_reports["html"].read_text(encoding="utf-8")
    for needle in ("Where the footage was obtained", "https://t.me/ministry/1234",
                   "2015-09-30T14:05:00+03:00", "the same file as the footage analysed",
                   "confirmed by the analyst alice at", "Appendix A. Audit log entries",
                   "What was done", "footage source recorded: https://t.me/ministry/1234",
                   "entered by the analyst erin [U+202E]x at",
                   "2024-01-15 (from the file&#x27;s metadata)"):
        assert needle in html, needle
    with Case.open(full_case) as case:
        archive_sha = case.video.sha256
        audit = case.audit_log()
    assert archive_sha in html
    # one summary row per entry, and every entry's full hash in the appendix
    assert all(a.hash in html for a in audit)
    assert html.count('<pre class="raw">') == len(audit)


def test_kml_stays_well_formed_with_control_characters(full_reports: dict[str, Path]) -> None:
    import xml.etree.ElementTree as ET

    raw = full_reports["kml"].read_text(encoding="utf-8")
    ET.fromstring(raw)  # XML 1.0 forbids \x07: it must not reach the file raw
    assert "\x07" not in raw and RLO not in raw and "[U+0007]" in raw


def test_hostile_text_is_escaped_and_bidi_made_visible(full_reports: dict[str, Path]) -> None:
    html = full_reports["html"].read_text(encoding="utf-8")
    assert RLO not in html and "<script>" not in html and "</td></table> invoice" not in html
    assert "invoice[U+202E]gnp.exe" in html and "&lt;script&gt;" in html
    assert html.count("<table") == html.count("</table>")
    assert not re.search(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f]", html)


def test_a_100_kB_note_does_not_stop_the_pdf(full_reports: dict[str, Path]) -> None:
    pdf = full_reports["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    # written after the PDF: still there and complete
    assert json.loads(full_reports["geojson"].read_text())["features"]
    assert full_reports["kml"].read_text().rstrip().endswith("</kml>")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "more characters: see the HTML report" in text
    assert RLO not in text and "[U+202E]" in text
    assert "Where the footage was obtained" in text and "Appendix A" in text


def test_pdf_creation_date_is_the_real_one(full_case: Path, full_reports: dict[str, Path],
                                           tmp_path: Path) -> None:
    with Case.open(full_case) as case:
        last = case.audit_log()[-1].time  # generated_at="case"
        [now_pdf] = write_reports(case, ["pdf"], tmp_path)
        [again] = write_reports(case, ["pdf"], tmp_path / "again", generated_at="case")
    raw = full_reports["pdf"].read_bytes()
    stamp = datetime.fromisoformat(last.replace("Z", "+00:00")).strftime("%Y%m%d%H%M%S")
    assert f"/CreationDate (D:{stamp}+00'00')".encode() in raw
    assert b"D:20000101" not in raw
    assert again.read_bytes() == raw  # the case's time: reproducible
    m = re.search(rb"/CreationDate \(D:(\d{14})", now_pdf.read_bytes())
    assert m is not None
    made = datetime.strptime(m.group(1).decode(), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - made).total_seconds()) < 3600
    html = full_reports["html"].read_text(encoding="utf-8")
    assert "the time of the case&#x27;s last audit-log entry (reproducible)" in html


def test_paths_are_redacted_by_default(full_case: Path, full_reports: dict[str, Path],
                                       scene: Scene, tmp_path: Path) -> None:
    folders = {str(scene.root), str(full_case.parent)}
    for fmt, p in full_reports.items():
        if fmt == "pdf":
            continue
        text = p.read_text(encoding="utf-8")
        assert not any(f in text for f in folders), fmt
    html = full_reports["html"].read_text(encoding="utf-8")
    assert "archive.mp4 [SHA-256 " in html  # note text: the archive's path redacted
    assert "local paths redacted" in html
    with Case.open(full_case) as case:
        [plain] = write_reports(case, ["html"], tmp_path, redact_paths=False)
    text = plain.read_text(encoding="utf-8")
    assert str(scene.tile.resolve()) in text and "local paths shown" in text


def test_redactor_and_visible_controls() -> None:
    red = Redactor([("/home/al/case/clip.mp4", "ab" * 32)])
    out = red.text("see /home/al/case/clip.mp4, C:\\Users\\al\\x.kml and file:///tmp/q.json; "
                   "https://t.me/c/12 and 2015/09/30 stay")
    assert out == ("see clip.mp4 [SHA-256 abababababababab…], …/x.kml and …/q.json; "
                   "https://t.me/c/12 and 2015/09/30 stay")
    assert Redactor([], on=False).text("/home/al/x") == "/home/al/x"
    assert visible_controls("a\u202eb\u2066c\u200bd\x00e\tf\n") == \
        "a[U+202E]b[U+2066]c[U+200B]d[U+0000]e\tf\n"


def test_audit_summaries_are_short_sentences() -> None:
    a = AuditEntry(3, "T", "bob", "confirm", {"rank": 1, "lat": 35.1, "lon": 36.2,
                                              "note": "n" * 500}, "", "")
    text = audit_summary(a)
    assert text.startswith("candidate #1 confirmed at 35.100000, 36.200000") and len(text) == 160
    unknown = AuditEntry(4, "T", "bob", "future_action", {"x": 1, "y": "z"}, "", "")
    assert audit_summary(unknown) == "x 1, y z"


def test_long_names_in_narrow_pdf_columns_still_lay_out(scene: Scene, tmp_path: Path) -> None:
    """Every table cell and label is cut to fit a page (reportlab cannot split a cell)."""
    path = _new_case(scene, tmp_path / "c.wbcase")
    layer = tmp_path / "l.geojson"
    with Case.open(path) as case:
        c = case.candidate(1)
        layer.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "n" * 5000, "controller": "c" * 5000},
             "geometry": {"type": "Point", "coordinates": [c.lon + 0.01, c.lat]}}]}))
        case.add_context_layer(layer, name="L" * 1900, source="s" * 1900)
        case.set_claim("t" * 5000, lonlat=(c.lon + 0.1, c.lat), category="k" * 1900,
                       claimed_time="2024-05-14T09:30Z")
        case.set_point_of_interest(1, 200.0, 90.0, "p" * 1900)
        [pdf, gj] = write_reports(case, ["pdf", "geojson"], tmp_path / "out")
    assert pdf.read_bytes().startswith(b"%PDF") and json.loads(gj.read_text())["features"]
