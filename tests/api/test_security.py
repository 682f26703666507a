"""Access control and input validation over real HTTP: keys, roles, malformed and oversized
bodies, field-level 422s; the key-management commands."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from api_helpers import Live
from click.testing import CliRunner

from fraudrings.api import auth
from fraudrings.api.cli import keys, serve

GOOD = {"application_id": "S-1", "applied_at": "2025-06-01T10:00:00", "applicant_id": "P-S-1",
        "device_id": "dev-s"}


def test_keys_and_roles(live: Live) -> None:
    with live.client(None) as anonymous:
        missing = anonymous.post("/v1/applications", json=GOOD)
        unknown = anonymous.get("/v1/rings", headers={auth.HEADER: "frk_not-a-key"})
        health = anonymous.get("/healthz"), anonymous.get("/readyz")
        spec = anonymous.get("/openapi.json")
    assert missing.status_code == 401 and unknown.status_code == 401
    assert missing.json() == unknown.json() == {"detail": "missing or unknown API key"}
    assert missing.headers["WWW-Authenticate"].startswith("APIKey")
    assert [r.status_code for r in health] == [200, 200]
    assert health[1].json() == {"status": "ready"}
    assert spec.json()["components"]["securitySchemes"]["APIKeyHeader"]["name"] == auth.HEADER
    with live.client("read") as reader:
        refused = reader.post("/v1/applications", json=GOOD)
        assert reader.get("/v1/rings").status_code == 200
    assert refused.status_code == 403 and refused.json() == {"detail": "this key may not write"}
    assert live.store.count("Application") == 0
    with live.client("write") as writer:
        assert writer.post("/v1/applications", json=GOOD).status_code == 201
        assert writer.get("/v1/applications/S-1").status_code == 200  # write includes read


def test_a_revoked_key_stops_working_without_a_restart(live: Live) -> None:
    with live.client("read") as reader:
        assert reader.get("/v1/rings").status_code == 200
        assert auth.revoke_key(live.keys_file, "investigator")
        assert reader.get("/v1/rings").status_code == 401


def test_the_keys_file_holds_only_hashes(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    runner = CliRunner()
    made = runner.invoke(keys, ["add", "bank-1", "--role", "write", "--keys-file", str(path)])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    text = path.read_text()
    assert key not in text and auth.digest(key) in text and "bank-1:write:" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert auth.KeyStore(path).identify(key).name == "bank-1"
    assert auth.KeyStore(path).identify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    again = runner.invoke(keys, ["add", "bank-1", "--role", "read", "--keys-file", str(path)])
    assert again.exit_code == 1 and "exists" in again.output
    listed = runner.invoke(keys, ["list", "--keys-file", str(path)])
    assert listed.stdout == "bank-1\twrite\n"
    assert runner.invoke(keys, ["revoke", "bank-1", "--keys-file", str(path)]).exit_code == 0
    assert auth.read_keys(path) == []


def test_serve_refuses_to_start_without_keys(tmp_path: Path) -> None:
    result = CliRunner().invoke(serve, ["--keys-file", str(tmp_path / "none"),
                                       "--db", str(tmp_path / "g.lbug")])
    assert result.exit_code == 1 and "no API keys" in result.output


@pytest.mark.parametrize(("change", "field"), [
    ({"applicant_id": None}, "applicant_id"),
    ({"applied_at": "yesterday"}, "applied_at"),
    ({"applied_at": "1970-01-02T00:00:00"}, "applied_at"),
    ({"applied_at": "0827-01-31T23:34:10"}, "applied_at"),  # found by the fuzzer
    ({"amount": "a lot"}, "amount"),
    ({"amount": -5}, "amount"),
    ({"term_months": 1.5}, "term_months"),
    ({"is_fraud": 2}, "is_fraud"),
    ({"phone": "9" * 300}, "phone"),
    ({"device_id": "dev\x00null"}, "device_id"),
    ({"contact_phones": ["1"] * 11}, "contact_phones"),
    ({"email": {"nested": "object"}}, "email"),
    ({"application_id": ""}, "application_id"),
])
def test_a_wrong_field_is_named(live: Live, change: dict, field: str) -> None:
    sent = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with live.client() as http:
        answer = http.post("/v1/applications", json=sent)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"][0]["loc"], answer.json()
    assert live.store.count("Application") == 0


def test_extra_fields_are_kept_when_they_are_plain_properties(live: Live) -> None:
    with live.client() as http:
        bad_name = http.post("/v1/applications", json={**GOOD, "bad name!": "x"})
        nested = http.post("/v1/applications", json={**GOOD, "channel": {"a": 1}})
        kept = http.post("/v1/applications", json={**GOOD, "channel": "web", "bureau": 640})
        stored = http.get("/v1/applications/S-1").json()
    assert bad_name.status_code == 422 and nested.status_code == 422
    assert kept.status_code == 201 and stored["extra"] == {"bureau": "640", "channel": "web"}


def test_malformed_and_oversized_bodies(live: Live) -> None:
    with live.client() as http:
        broken = http.post("/v1/applications", content=b'{"application_id": ',
                           headers={"content-type": "application/json"})
        not_json = http.post("/v1/applications", content=b"application_id=1",
                             headers={"content-type": "application/x-www-form-urlencoded"})
        array = http.post("/v1/applications", json=[GOOD])
        huge = http.post("/v1/applications", json={**GOOD, "pad": "x" * 70_000})

        def chunks() -> object:  # no Content-Length: the limit counts what streams in
            for _ in range(100):
                yield b" " * 1024

        streamed = http.post("/v1/applications", content=chunks(),
                             headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    assert not_json.status_code == 422 and array.status_code == 422
    assert huge.status_code == 413 and streamed.status_code == 413
    assert "input" not in str(array.json())  # errors never echo the input back
    assert live.store.count("Application") == 0


def test_query_parameters_are_checked(live: Live) -> None:
    with live.client("read") as http:
        for params in ({"min_score": 2}, {"min_score": "nan"}, {"limit": 0},
                       {"limit": 10_001}, {"limit": "many"}):
            assert http.get("/v1/rings", params=params).status_code == 422, params
        assert http.get("/v1/rings", params={"min_score": 0.9, "limit": 5}).json() == {
            "rings": []}


def test_without_a_key_nothing_is_told_about_what_exists(live: Live) -> None:
    answer = httpx.get(live.url + "/v1/rings/ring-000000000000")
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/json"
