"""Property-based: every read endpoint, fed whatever its OpenAPI allows, never answers 500."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

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
