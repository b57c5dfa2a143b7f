"""docs/openapi.yaml is a valid OpenAPI 3.1 document, and every example in
it (responses, request bodies) validates against its schema. The Rust test
`functions/billing-api/tests/openapi.rs` checks the same document's routes
against the router."""

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
SPEC_URI = "urn:billing-openapi"


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))


def pointer(*parts):
    """A JSON pointer into the document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def examples(spec):
    """Every (where, pointer to its schema, example) of the document."""
    found = []
    media = ("content", "application/json")
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "example" in body:
                where = pointer("paths", path, method, "requestBody", *media, "schema")
                found.append((f"{method} {path} request", where, body["example"]))
            for status, response in op["responses"].items():
                at = ("paths", path, method, "responses", status)
                if "$ref" in response:
                    name = response["$ref"].rsplit("/", 1)[-1]
                    response = spec["components"]["responses"][name]
                    at = ("components", "responses", name)
                content = response.get("content", {}).get("application/json")
                if content and "example" in content:
                    where = pointer(*at, *media, "schema")
                    found.append((f"{method} {path} {status}", where, content["example"]))
    return found


def test_the_document_is_valid_openapi_3_1(spec):
    # THEN the validator finds nothing wrong
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_example_validates_against_its_schema(spec):
    registry = Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))
    checked = examples(spec)
    assert len(checked) > 40
    for where, schema_at, example in checked:
        schema = {"$ref": f"{SPEC_URI}#{schema_at}"}
        validator = Draft202012Validator(
            schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        problems = [e.message for e in validator.iter_errors(example)]
        assert not problems, f"{where}: {problems}"


def test_every_operation_documents_the_role_errors(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert {"401", "403"} <= set(op["responses"]), f"{method} {path}"
            if method != "get" and "If-Match" in str(op.get("parameters")):
                assert {"412", "428"} <= set(op["responses"]), f"{method} {path}"


def test_every_operation_documents_what_the_server_can_answer(spec):
    # Every operation can meet malformed input (400) and a passing fault
    # (503); every one with a body can be sent the wrong content type (415).
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert {"400", "503"} <= codes, f"{method} {path}"
            if "requestBody" in op:
                assert "415" in codes, f"{method} {path}"
            for param in op.get("parameters", []):
                if "$ref" in param:
                    param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
                if param["in"] == "path":
                    # Path ids are limited as the router limits them (or an enum).
                    assert param["schema"]["$ref"] in (
                        "#/components/schemas/PathId",
                        "#/components/schemas/AttentionKind",
                        "#/components/schemas/BookingMonth",
                        "#/components/schemas/ExportFile",
                    ), f"{method} {path} {param['name']}"
    assert spec["components"]["responses"]["MethodNotAllowed"]["headers"]["Allow"]


def test_request_amounts_are_plain_decimals_within_the_limit(spec):
    schemas = spec["components"]["schemas"]
    stated = {"$ref": f"{SPEC_URI}#/components/schemas/StatedAmount"}
    registry = Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))
    validator = Draft202012Validator(stated, registry=registry)
    for good in ["0.01", "79.50", "100000000", "100000000.00", "12.125"]:
        assert validator.is_valid({"amount": good, "currency": "EUR"}), good
    for bad in ["1e3", "-5.00", "100000000.01", "79228162514264337593543950335", " 5", "5.", 5]:
        assert not validator.is_valid({"amount": bad, "currency": "EUR"}), bad
    assert not validator.is_valid({"amount": "5.00", "currency": "EUR", "fx": 1})
    assert schemas["PathId"]["maxLength"] == 200
    # Every amount a write body takes is a StatedAmount, never the response Money.
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            assert "schemas/Money" not in str(body.get("schema")), f"{method} {path}"
