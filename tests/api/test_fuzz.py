"""The OpenAPI description fuzzed with schemathesis against the live server: valid and invalid
requests alike, no answer may be a server error, and valid ones must match the description."""

from __future__ import annotations

from typing import Any

import schemathesis
from api_helpers import Live
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from fraudrings.api import auth

#: Examples per operation and mode: bounded so that the suite stays within its time budget.
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 10}


def test_no_request_makes_a_server_error(live: Live) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    headers = {auth.HEADER: live.write_key}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/applications", "/v1/rings", "/healthz"}
    for mode, examples in EXAMPLES.items():
        checks = [not_a_server_error]
        if mode is GenerationMode.POSITIVE:
            checks.append(response_schema_conformance)
        for operation in operations:
            try:
                fuzz(operation.as_strategy(generation_mode=mode), examples, live.url, headers,
                     checks)
            except Unsatisfiable:  # nothing to make invalid: an operation without inputs
                assert mode is GenerationMode.NEGATIVE, operation.path


def fuzz(strategy: Any, examples: int, url: str, headers: dict[str, str],
         checks: list[Any]) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=url, headers=headers, timeout=120)
        case.validate_response(response, checks=checks)

    run()
