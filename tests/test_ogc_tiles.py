"""OGC API – Features read by GDAL's own client, vector tiles, and no server error anywhere."""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import httpx
import pytest
from pyproj import Transformer

from api.routers.tiles import tile_bounds


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (gdal-bin) absent")
def test_gdal_reads_the_card_layers_and_their_features(live_server, demo_client):
    layers = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}/ogc"],
                            capture_output=True, text=True, timeout=120, check=True).stdout
    for layer in ("offres", "sante-mentale", "addiction-tabac", "vaccination-adulte"):
        assert layer in layers
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", "sante-mentale"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    expected = demo_client.get("/api/v1/offres", params={"carte": "sante-mentale",
                                                         "limit": 1}).json()["total"]
    assert f"Feature Count: {expected}" in summary
    assert "Geometry: Point" in summary
    features = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{live_server}/ogc", "sante-mentale"],
        capture_output=True, text=True, timeout=300, check=True).stdout
    assert features.count("OGRFeature(sante-mentale)") == expected  # paged through « next »
    assert "nom (String) = " in features


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.mark.parametrize("zoom", [5, 9, 13])
def test_tiles_over_strasbourg_carry_offers(demo_client, zoom):
    x, y = tile_of(7.7521, 48.5734, zoom)
    response = demo_client.get(f"/tiles/{zoom}/{x}/{y}.mvt", params={"carte": "addiction-tabac"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert b"offres" in response.content and len(response.content) > 50


def decode(tile: bytes, folder) -> str:
    """A tile as GDAL reads it (its MVT driver wants a z/x/y path)."""
    path = folder / "5" / "0" / "0.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tile)
    return subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(path)], capture_output=True,
                          text=True, timeout=60, check=True).stdout


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (gdal-bin) absent")
def test_low_zoom_tiles_aggregate_every_offer_into_fewer_features(demo_client, tmp_path):
    x, y = tile_of(7.7521, 48.5734, 5)
    decoded = decode(demo_client.get(f"/tiles/5/{x}/{y}.mvt").content, tmp_path)
    counts = [int(n) for n in re.findall(r"nombre \(Integer(?:64)?\) = (\d+)", decoded)]
    west, south, east, north = tile_bounds(5, x, y)
    in_tile = demo_client.get("/api/v1/offres", params={
        "bbox": f"{west},{south},{east},{north}", "limit": 1}).json()["total"]
    assert sum(counts) == in_tile  # every offer of the tile is counted once
    assert len(counts) < in_tile / 2  # in far fewer features


def test_empty_and_impossible_tiles(demo_client):
    x, y = tile_of(-30.0, 40.0, 9)  # the Atlantic
    assert demo_client.get(f"/tiles/9/{x}/{y}.mvt").status_code == 204
    assert demo_client.get("/tiles/3/9/0.mvt").status_code == 422


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (gdal-bin) absent")
def test_gdal_decodes_a_tile(demo_client, tmp_path):
    x, y = tile_of(7.7521, 48.5734, 13)
    folder = tmp_path / "13" / str(x)
    folder.mkdir(parents=True)
    (folder / f"{y}.pbf").write_bytes(demo_client.get(f"/tiles/13/{x}/{y}.mvt").content)
    decoded = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(folder / f"{y}.pbf")],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert "OGRFeature(offres)" in decoded and "nom (String)" in decoded
    # Each feature stands where its offer is (MVT quantisation at z13: about 1 m).
    fid = int(re.search(r"mvt_id \(Integer64\) = (\d+)", decoded).group(1))
    x_m, y_m = (float(v) for v in re.search(r"POINT \(([-\d.]+) ([-\d.]+)\)",
                                             decoded).groups())
    offer = demo_client.get(f"/api/v1/offres/{fid}").json()
    expected = Transformer.from_crs(4326, 3857, always_xy=True).transform(offer["lon"],
                                                                          offer["lat"])
    assert abs(x_m - expected[0]) < 5 and abs(y_m - expected[1]) < 5


def test_ogc_pages_link_to_each_other(demo_client):
    page = demo_client.get("/ogc/collections/offres/items", params={"limit": 2}).json()
    assert page["numberReturned"] == 2 and page["numberMatched"] > 2
    following = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = httpx.URL(following)
    body = demo_client.get(second.path, params=dict(second.params)).json()
    assert {f["id"] for f in body["features"]}.isdisjoint({f["id"] for f in page["features"]})
    assert demo_client.get("/ogc/collections/inconnue").status_code == 404
