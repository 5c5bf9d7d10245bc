"""The leads API's OpenAPI document validates as OpenAPI 3.1 (openapi-spec-validator, a
real validator from PyPI), and the HTTP API serves exactly the routes it documents.

The Rust side (tests/tests/it/openapi.rs) holds the handler to the same document:
every route and status it produces, bodies validated against the schemas.
"""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate
from openapi_spec_validator.versions.shortcuts import get_spec_version

DOC = Path(__file__).resolve().parents[2] / "functions" / "leads-api" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


def test_the_document_is_valid_openapi_3_1():
    spec = json.loads(DOC.read_text())
    validate(spec)
    assert str(get_spec_version(spec)).endswith("3.1")


def test_the_http_api_routes_are_the_documented_ones(template):
    spec = json.loads(DOC.read_text())
    documented = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }
    routed = {
        r["Properties"]["RouteKey"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
        and "LeadsApiIntegration" in json.dumps(r["Properties"]["Target"])
    }
    assert routed == documented
