"""Property-based: every read and write endpoint, fed whatever its OpenAPI allows, and the
import fed any file, never answers 500."""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.app import create_app

READ_ONLY = r"^/(api/v1|ogc|tiles)"
EXAMPLES_PER_OPERATION = 60


def test_no_read_endpoint_answers_a_server_error(demo_engine, settings):
    app = create_app(settings, engine=demo_engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=READ_ONLY)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                             derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def never_a_server_error(case):
            response = case.call()
            assert response.status_code < 500, (case.as_curl_command(), response.text[:300])

        never_a_server_error()


WRITE_SIDE = r"^/api/v1/(contributions|session|audit|ars)"


def test_no_write_endpoint_answers_a_server_error(client, connection):
    """The write API, with real accounts (an editor, a moderator, an admin), fed whatever its
    OpenAPI allows: refusals and validation errors, never a 500 (each call rolled back)."""
    from cartographie import comptes

    tokens = [comptes.add_user(connection, f"fuzz-{role}", role, region)
              for role, region in (("ars_editeur", "44"), ("ars_moderateur", "44"),
                                   ("admin", None))]
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app).include(
        path_regex=WRITE_SIDE)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy(), account=st.sampled_from(tokens))
        @hypothesis_settings(max_examples=25, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def never_a_server_error(case, account):
            response = case.call(headers={"Authorization": f"Bearer {account}"})
            assert response.status_code < 500, (case.as_curl_command(), response.text[:300])

        never_a_server_error()


CELL = st.one_of(st.text(max_size=40), st.sampled_from(
    ["nutrition", "48.58", "7.75", "oui", "67482", "Mo-Fr 09:00-17:00", "\x00", "=1+1", ""]))
COLUMN = st.sampled_from(["nom", "cartes", "latitude", "longitude", "code_commune",
                          "telephone", "age_min", "siret", "identifiant", "inconnue"])
JSON_VALUE = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(),
                          lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                          max_leaves=20)


@st.composite
def import_files(draw) -> bytes:
    """CSV (any header, any cells, any bytes) or GeoJSON (any JSON where a feature goes)."""
    kind = draw(st.sampled_from(["csv", "geojson", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "geojson":
        features = draw(st.lists(st.one_of(JSON_VALUE, st.fixed_dictionaries({
            "type": st.just("Feature"), "geometry": JSON_VALUE,
            "properties": st.dictionaries(COLUMN, JSON_VALUE, max_size=6)})), max_size=5))
        document = draw(st.sampled_from([{"type": "FeatureCollection", "features": features},
                                         features]))
        return json.dumps(document).encode(draw(st.sampled_from(["utf-8", "utf-16"])))
    header = draw(st.lists(COLUMN, min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(CELL, min_size=len(header) - 1, max_size=len(header) + 1),
                         max_size=5))
    delimiter = draw(st.sampled_from([";", ","]))
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    return "\n".join(lines).encode(draw(st.sampled_from(["utf-8", "cp1252"])), "replace")


def test_fuzzed_import_files_never_give_a_server_error(client, connection):
    from cartographie import comptes

    token = comptes.add_user(connection, "fuzz-import", "ars_editeur", "44")

    @given(body=import_files(), dry_run=st.booleans())
    @hypothesis_settings(max_examples=150, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    def never_a_server_error(body, dry_run):
        response = client.post(f"/api/v1/contributions/import?dry_run={str(dry_run).lower()}",
                               headers={"Authorization": f"Bearer {token}"},
                               files={"fichier": ("f", body, "application/octet-stream")})
        assert response.status_code < 500, (body[:300], response.text[:300])

    never_a_server_error()
