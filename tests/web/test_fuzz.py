"""Property-based fuzzing of the OpenAPI spec with schemathesis: no input gives a 500.

Bounded to stay well under a minute: a few examples per operation, as an admin (so every
route is reached past authentication). Runs are recorded but not executed (the runner's pool
is replaced), so fuzzed simulations cannot pile up work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from materiel.service.app import create_app

from .conftest import add_users, make_settings

HEADERS: dict[str, dict[str, str]] = {}
EXAMPLES = int(os.environ.get("MATERIEL_FUZZ_EXAMPLES", "12"))


class IdlePool:
    """Accepts work and never runs it (runs stay queued)."""

    def submit(self, fn: Any, *args: Any) -> Future[None]:
        return Future()

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


@pytest.fixture
def fuzz_app(tmp_path: Path, web_dataset: Path) -> Iterator[FastAPI]:
    app = create_app(make_settings(tmp_path, web_dataset))
    HEADERS.update(add_users(app.state.ctx.store))
    app.state.ctx.runner.pool = IdlePool()
    with TestClient(app):  # runs the lifespan
        yield app


@pytest.mark.slow
def test_no_input_gives_a_server_error(fuzz_app: FastAPI) -> None:
    """Every operation of the spec, with generated valid and invalid input."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=HEADERS["admin"], checks=[not_a_server_error])

        check()


def test_the_fuzzer_catches_a_planted_server_error(
    fuzz_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the check honest: a route that fails must make it fail."""
    import materiel.service.routers.api_analyses as api_analyses

    def broken(parameter: object) -> dict[str, Any]:
        raise RuntimeError("planted")

    monkeypatch.setattr(api_analyses, "parameter_out", broken)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
    operation = schema["/api/v1/analyses"]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=3, deadline=None, database=None)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=HEADERS["admin"], checks=[not_a_server_error])

    with pytest.raises(BaseException, match=r"planted|Server error"):  # a FailureGroup
        check()
