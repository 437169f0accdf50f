"""The API's schema as /docs shows it: the API key is declared, so Swagger UI's Authorize button can send it."""

from __future__ import annotations

from fastapi.testclient import TestClient

API = "/api/v1"


def test_the_schema_declares_the_api_key_as_optional_bearer_auth(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["API key"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"  # no scheme: no Authorize button, no "Try it out"
    assert "/keys" in scheme["description"] and "/keys" in schema["info"]["description"]  # not only the CLI
    for path in (f"{API}/predict", f"{API}/history", f"{API}/tracked"):
        for method, operation in schema["paths"][path].items():
            # optional: anonymous scoring (MILES_ALLOW_ANONYMOUS) and a browser's login cookie work without it
            # either header, as MCP over HTTP takes it: Authorization: Bearer <key> or X-API-Key: <key>
            assert operation["security"] == [{}, {"API key": []}, {"API key header": []}], (method, path)
    header = schema["components"]["securitySchemes"]["API key header"]
    assert header == {**header, "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert client.get("/openapi.json").json() == schema  # built once: the key stays optional, not [{}, {}, ...]


def test_a_malformed_authorization_header_still_gets_the_one_error_envelope(client: TestClient) -> None:
    answer = client.get(f"{API}/history", headers={"Authorization": "Token abc"})
    assert answer.status_code == 401 and answer.json()["ok"] is False
    assert "Bearer" in answer.json()["error"]["message"]
