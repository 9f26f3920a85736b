"""`workbench case ...`: create a case, inspect it, and record the analyst's decisions.

    workbench case new CASE VIDEO --tiles PATH [PATH ...]   # runs locate into a new case
    workbench case new CASE VIDEO --locate-json DIR/locate.json  # reuses a locate output
    workbench case info CASE [--json]
    workbench case confirm CASE RANK --note TEXT
    workbench case reject CASE RANK --note TEXT
    workbench case note CASE TEXT
    workbench case claim CASE TEXT [--at LON,LAT] [--area FILE] [--time ISO8601]
                                   [--category TEXT]
    workbench case context CASE FILE [--name NAME] [--source TEXT] [--licence TEXT]
                                     [--as-of YYYY[-MM[-DD]]] [--class-attribute NAME]
    workbench case shadow CASE RANK FOOT_X,FOOT_Y TIP_X,TIP_Y [--click-px N]
    workbench case point CASE RANK X Y --label TEXT
    workbench case source CASE [--url URL] [--channel TEXT] [--obtained ISO8601]
                               [--archive FILE] [--note TEXT]
    workbench case imagery-meta CASE RASTER [--date DATE] [--attribution TEXT] [--gsd M]
    workbench case tiepoint CASE RANK KX KY TX TY
    workbench case tiepoint-retract CASE ID --reason TEXT   # withdrawn, never deleted
    workbench case keyframe CASE FRAME_INDEX
    workbench case relink CASE FILE           # a moved footage/raster file, same SHA-256
    workbench case sign CASE --key KEYFILE [--tsq OUT.tsq]   # see workbench keygen
    workbench case timestamp CASE TOKEN.tsr

``case new X`` creates ``X.wbcase``; every command taking CASE accepts ``X`` or
``X.wbcase`` (the file as given if it exists, else with ``.wbcase`` appended).
Every command takes ``--user NAME``, the analyst the audit log names (default:
``$WORKBENCH_USER`` or the login name).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.cli import sign_cmd
from workbench.cli._case_provenance import register_provenance
from workbench.errors import UsageError, WorkbenchError
from workbench.textsafe import echo

if TYPE_CHECKING:  # annotations only, for start-up time (see _open); cli is above case
    from workbench.case import Case


_print = echo  # one line of user-derived text, control characters escaped


def register(sub: Any) -> None:
    """Add the `case` subcommand (and its own subcommands) to the CLI's subparsers."""
    p = sub.add_parser("case", help="case files: create, inspect, confirm/reject, notes, claim",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cs = p.add_subparsers(dest="case_command", metavar="ACTION", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        sp = cs.add_parser(name, help=help_)
        sp.add_argument("case", metavar="CASE", help="the .wbcase file")
        sp.add_argument("--user", help="analyst name for the audit log")
        return sp

    sp = add("new", "create a case: run locate on VIDEO against the tiles (or reuse a "
                    "locate.json) and store it all")
    sp.add_argument("video", metavar="VIDEO")
    sp.add_argument("--tiles", nargs="+", metavar="PATH",
                    help="reference rasters (files or folders); required unless --locate-json")
    sp.add_argument("--locate-json", metavar="FILE",
                    help="store this `workbench locate` output (locate.json, its keyframes/ "
                         "folder beside it) instead of running locate again; its footage "
                         "SHA-256 must be VIDEO's")
    sp.add_argument("--target", metavar="X,Y", help="keyframe pixel to geolocate (e.g. impact)")
    sp.add_argument("--copy-video", action="store_true", help="also store a copy of the footage")
    sp.add_argument("--force", action="store_true", help="replace an existing case file")
    sp.set_defaults(func=_new)

    sp = add("info", "summarise a case")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=_info)

    for name in ("confirm", "reject"):
        sp = add(name, f"{name} candidate RANK with a justification")
        sp.add_argument("rank", type=int, metavar="RANK")
        sp.add_argument("--note", required=True, help="why (goes into the report)")
        sp.set_defaults(func=_decide, decision=name)

    sp = add("note", "add a free-text note")
    sp.add_argument("text", metavar="TEXT")
    sp.set_defaults(func=_note)

    sp = add("claim", "record the claim being tested")
    sp.add_argument("text", metavar="TEXT")
    sp.add_argument("--at", metavar="LON,LAT", help="claimed position, WGS84 degrees")
    sp.add_argument("--area", metavar="FILE", help="claimed area (GeoJSON polygon file)")
    sp.add_argument("--time", metavar="ISO8601",
                    help="when the claim says it happened, with its zone "
                         "(e.g. 2015-09-30T10:00+03:00)")
    sp.add_argument("--category", metavar="TEXT",
                    help="what the claim says the target was (e.g. 'Islamic State target')")
    sp.set_defaults(func=_claim)

    sp = add("context", "add a context layer (GeoJSON/KML/GeoPackage/Shapefile; points, "
                        "lines, polygons)")
    sp.add_argument("file", metavar="FILE")
    sp.add_argument("--name", help="layer name shown in the report (default: file name)")
    sp.add_argument("--source", help="where the layer comes from (default: the file's own "
                                     "description, else its name)")
    sp.add_argument("--licence", help="the layer's licence (default: not stated)")
    sp.add_argument("--as-of", metavar="DATE",
                    help="the date the layer describes: YYYY, YYYY-MM or YYYY-MM-DD, "
                         "prefixed 'c.' when approximate (default: unknown)")
    sp.add_argument("--class-attribute", metavar="NAME",
                    help="property whose values are classes, e.g. controller "
                         "(default: controller when present)")
    sp.set_defaults(func=_context)

    sp = add("shadow", "measure a shadow in candidate RANK's keyframe: an object's foot and "
                       "its shadow's tip, both on the ground (time check)")
    sp.add_argument("rank", type=int, metavar="RANK")
    sp.add_argument("foot", metavar="FOOT_X,FOOT_Y", help="keyframe pixel of the object's foot")
    sp.add_argument("tip", metavar="TIP_X,TIP_Y", help="keyframe pixel of the shadow's tip")
    sp.add_argument("--click-px", type=float, default=1.5, metavar="N",
                    help="1-sigma of each click in pixels (1.5)")
    sp.set_defaults(func=_shadow)

    sp = add("point", "geolocate a keyframe pixel of candidate RANK (e.g. the impact point)")
    sp.add_argument("rank", type=int, metavar="RANK")
    sp.add_argument("x", type=float, metavar="X")
    sp.add_argument("y", type=float, metavar="Y")
    sp.add_argument("--label", default="point of interest")
    sp.set_defaults(func=_point)

    register_provenance(add, _open)  # case source, case imagery-meta

    sp = add("tiepoint", "add a manual tie point to candidate RANK and refit it")
    sp.add_argument("rank", type=int, metavar="RANK")
    for n in ("kx", "ky", "tx", "ty"):
        sp.add_argument(n, type=float, metavar=n.upper())
    sp.set_defaults(func=_tiepoint)

    sp = add("tiepoint-retract", "withdraw analyst tie point ID (a retraction is appended; "
             "the candidate is refitted without it)")
    sp.add_argument("tie_id", type=int, metavar="ID")
    sp.add_argument("--reason", required=True, help="why it is withdrawn (audit log)")
    sp.set_defaults(func=_tiepoint_retract)

    sp = add("relink", "point the case at a moved footage/raster file (same SHA-256)")
    sp.add_argument("file", metavar="FILE")
    sp.set_defaults(func=_relink)

    sp = add("keyframe", "add frame FRAME_INDEX of the footage as a manual keyframe")
    sp.add_argument("frame", type=int, metavar="FRAME_INDEX")
    sp.set_defaults(func=_keyframe)

    sign_cmd.register_case_actions(add)  # case sign, case timestamp


def _open(args: argparse.Namespace) -> Case:
    """The CASE argument opened for the analyst ``--user`` names."""
    # start-up time of the CLI entry point: the case stack loads OpenCV and GDAL
    from workbench.case import Case

    return Case.open(args.case, analyst=args.user)


def _xy(text: str, what: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise UsageError(f"{what} must be two numbers separated by a comma, got {text!r}") \
            from exc
    return a, b


def _new(args: argparse.Namespace) -> int:
    # start-up time of the CLI entry point: locate loads OpenCV and GDAL
    from workbench.case import new_case
    from workbench.cli._progress import terminal_progress
    from workbench.geo import format_uncertainty

    if not args.tiles and not args.locate_json:
        raise UsageError("case new needs --tiles PATH [PATH ...] (or --locate-json FILE)")
    target = _xy(args.target, "--target") if args.target else None
    with terminal_progress(getattr(args, "quiet", False)) as progress, new_case(
            args.case, args.video, args.tiles or [], progress=progress, analyst=args.user,
            target_xy=target, copy_video=args.copy_video, overwrite=args.force,
            locate_json=args.locate_json) as case:
        res = case.result
        _print(f"{case.path}: created; verdict {res.verdict}, {len(res.candidates)} candidates")
        best = res.best()
        if best is not None:
            _print(f"  best: rank {best.rank} at {best.lat:.6f}, {best.lon:.6f} "
                  f"(confidence {best.confidence:.2f}, {format_uncertainty(best.uncertainty_m)})")
    return 0


def _info(args: argparse.Namespace) -> int:
    # start-up time of the CLI entry point (these load OpenCV, GDAL, pyproj)
    from workbench.case.files import content_errors
    from workbench.geo import format_dms, format_mgrs, format_uncertainty

    with _open(args) as case, content_errors(case.path, "reading it for case info"):
        res = case.result
        dec = case.decisions()
        if args.json:
            doc = {
                "path": str(case.path), "schema_version": case.schema_version,
                "created": case.created, "software": case.software,
                "footage": {"path": case.video.path, "sha256": case.video.sha256},
                "verdict": res.verdict, "reason": res.reason,
                "candidates": [{"rank": c.rank, "lat": c.lat, "lon": c.lon,
                                "confidence": c.confidence, "uncertainty_m": c.uncertainty_m,
                                "keyframe_id": c.keyframe_id,
                                "decision": dec[c.rank].status if c.rank in dec else None}
                               for c in res.candidates],
                "keyframes": [k.id for k in case.keyframes],
                "rasters": [{"path": r.path, "sha256": r.sha256} for r in case.rasters],
                "notes": len(case.notes()), "audit_entries": len(case.audit_log()),
                "claim": None if (cl := case.claim()) is None else {
                    "text": cl.text, "lonlat": cl.lonlat, "claimed_time": cl.claimed_time,
                    "category": cl.category},
                "context_layers": [la.name for la in case.context_layers()],
                "shadows": [{"rank": sh.rank, **sh.measure.to_json()}
                            for sh in case.shadows()],
                "source": None if (src := case.footage_source()) is None else {
                    "url": src.url, "channel": src.channel, "obtained": src.obtained,
                    "archive_sha256": src.archive_sha256, "user": src.user, "time": src.time},
                "imagery_meta": {m.raster_sha256: {"acquired": m.acquired,
                                                   "attribution": m.attribution,
                                                   "gsd_m": m.gsd_m, "user": m.user}
                                 for m in case.imagery_meta().values()},
            }
            # ASCII JSON: json escapes every control and non-ASCII character itself
            print(json.dumps(doc, indent=2, sort_keys=True))
            return 0
        out = [f"case:      {case.path} (schema {case.schema_version}, created {case.created})",
               f"footage:   {case.video.path}", f"  sha256:  {case.video.sha256}",
               f"rasters:   {len(case.rasters)}; keyframes: {len(case.keyframes)}",
               f"verdict:   {res.verdict}" + (f" - {res.reason}" if res.reason else "")]
        for c in res.candidates:
            d = dec.get(c.rank)
            state = f"{d.status} by {d.user}: {d.note}" if d else "undecided"
            out.append(f"  #{c.rank} {c.lat:.6f}, {c.lon:.6f}  {format_dms(c.lat, c.lon)}  "
                       f"{format_mgrs(c.lat, c.lon)}  conf {c.confidence:.2f} "
                       f"{format_uncertainty(c.uncertainty_m)}  [{state}]")
        claim = case.claim()
        if claim:
            out.append(f"claim:     {claim.text}")
            if claim.claimed_time or claim.category:
                out.append(f"  claimed time: {claim.claimed_time or 'not given'}; category: "
                           f"{claim.category or 'not given'}")
        layers, shadows = case.context_layers(), case.shadows()
        if layers or shadows:
            out.append(f"context layers: {len(layers)}; shadows measured: {len(shadows)}")
        if layers:
            from workbench.claim import layer_meta, parse_time  # start-up time (claim)

            event = parse_time(claim.claimed_time).date() if claim and claim.claimed_time \
                else None
            for la in layers:
                when = layer_meta(la.geojson).as_of_date()
                flag = when.flag(event)
                out.append(f"  {la.name}: as of {when.label()}" + (f" ({flag})" if flag else ""))
        src = case.footage_source()
        out.append("source:    " + ("not recorded (workbench case source)" if src is None else
                                    f"{src.url or src.channel or src.archive_name}, obtained "
                                    f"{src.obtained or 'time not given'} (by {src.user})"))
        out.append(f"notes:     {len(case.notes())}; audit entries: {len(case.audit_log())}")
        for line in out:  # each line escaped on its own: a note cannot forge a line
            _print(line)
    return 0


def _decide(args: argparse.Namespace) -> int:
    with _open(args) as case:
        fn = case.confirm if args.decision == "confirm" else case.reject
        d = fn(args.rank, args.note)
        _print(f"{case.path}: rank {d.rank} {d.status} by {d.user} at {d.time}")
    return 0


def _note(args: argparse.Namespace) -> int:
    with _open(args) as case:
        n = case.add_note(args.text)
        _print(f"{case.path}: note {n.id} added by {n.user} at {n.time}")
    return 0


def _claim(args: argparse.Namespace) -> int:
    at = _xy(args.at, "--at") if args.at else None
    area = None
    if args.area:
        try:
            area = json.loads(Path(args.area).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UsageError(f"cannot read the claimed area as GeoJSON ({exc})", args.area) \
                from exc
        from workbench.claim import normalise_area  # start-up time (shapely)

        try:  # checked here so that the message names the area file, not the case
            area = normalise_area(area)
        except WorkbenchError as exc:
            raise UsageError(exc.message, args.area) from exc
    when = None
    if args.time is not None:
        from workbench.claim import parse_time  # start-up time (the claim package)

        when = parse_time(args.time).isoformat()  # checked before the case is opened
    with _open(args) as case:
        case.set_claim(args.text, lonlat=at, area_geojson=area, claimed_time=when,
                       category=args.category)
        _print(f"{case.path}: claim recorded")
    return 0


def _context(args: argparse.Namespace) -> int:
    from workbench.claim import layer_meta  # start-up time (the claim package)

    with _open(args) as case:
        layer = case.add_context_layer(args.file, name=args.name, source=args.source,
                                       licence=args.licence, as_of=args.as_of,
                                       class_attribute=args.class_attribute)
        meta = layer_meta(layer.geojson)
        _print(f"{case.path}: context layer {layer.name!r} added "
              f"({len(layer.geojson['features'])} features, as of "
              f"{meta.as_of_date().label()})")
    return 0


def _shadow(args: argparse.Namespace) -> int:
    from workbench.claim import check_time, parse_time  # start-up time (claim, pvlib)

    foot, tip = _xy(args.foot, "FOOT_X,FOOT_Y"), _xy(args.tip, "TIP_X,TIP_Y")
    with _open(args) as case:
        rec = case.add_shadow(args.rank, foot, tip, click_px=args.click_px)
        claim = case.claim()
    m = rec.measure
    _print(f"{case.path}: shadow {rec.id} recorded: {m.length_m:.1f} m toward "
          f"{m.shadow_azimuth_deg:.1f}°, sun azimuth {m.sun_azimuth_deg:.1f}° "
          f"± {m.sigma_deg:.1f}° (1 sigma)")
    if claim is None or not claim.claimed_time:
        _print("no claimed time recorded: `workbench case claim ... --time ISO8601` to check it")
        return 0
    chk = check_time(m.foot[0], m.foot[1], m.sun_azimuth_deg, m.sigma_deg,
                     claimed_time=parse_time(claim.claimed_time))
    for line in chk.sentences():
        _print(line)
    return 0


def _point(args: argparse.Namespace) -> int:
    from workbench.geo import format_uncertainty

    with _open(args) as case:
        p = case.set_point_of_interest(args.rank, args.x, args.y, args.label)
        flag = " (outside the matched area: extrapolated)" if p.outside_hull else ""
        _print(f"{case.path}: {p.label!r} at {p.lat:.7f}, {p.lon:.7f}, uncertainty "
              f"{format_uncertainty(p.uncertainty_m)}{flag}")
    return 0


def _tiepoint(args: argparse.Namespace) -> int:
    with _open(args) as case:
        t = case.add_tie_point(args.rank, (args.kx, args.ky), (args.tx, args.ty))
        c = case.candidate(args.rank)
        _print(f"{case.path}: tie point {t.id} added; rank {c.rank} now at {c.lat:.6f}, "
              f"{c.lon:.6f}")
    return 0


def _tiepoint_retract(args: argparse.Namespace) -> int:
    with _open(args) as case:
        r = case.retract_tie_point(args.tie_id, args.reason)
        t = next(x for x in case.tie_points(include_retracted=True) if x.id == r.tie_point_id)
        c = case.candidate(t.rank)
        _print(f"{case.path}: tie point {r.tie_point_id} retracted; rank {c.rank} now at "
               f"{c.lat:.6f}, {c.lon:.6f}")
    return 0


def _relink(args: argparse.Namespace) -> int:
    with _open(args) as case:
        what = case.relink(args.file)
        _print(f"{case.path}: {what} now at {Path(args.file).resolve()}")
    return 0


def _keyframe(args: argparse.Namespace) -> int:
    # start-up time of the CLI entry point (PyAV, OpenCV)
    from workbench.case.ingest import hash_footage
    from workbench.video.reader import read_frame

    with _open(args) as case:
        # evidence: the frame must come from the very footage the case recorded, not from
        # whatever file now sits at that path
        hash_footage(case.video.path, case.video.sha256)
        frame = read_frame(case.video.path, args.frame)
        ref = case.add_keyframe(frame.index, frame.pts_s, frame.image, None)
        _print(f"{case.path}: manual keyframe {ref.id} (frame {ref.frame_index}, "
               f"{ref.time_s:.3f} s)")
    return 0
