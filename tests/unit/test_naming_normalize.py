"""Unit tests of naming and normalization."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import escape, naming
from generator.errors import SpecWarning
from generator.ir import Builder
from generator.normalize import normalize
from generator.reserved import reserved


@pytest.mark.parametrize(
    ("wire", "python"),
    [
        ("fields[profile]", "fields_profile"),
        ("page[cursor]", "page_cursor"),
        ("page_cursor", "page_cursor"),
        ("additional-fields[profile]", "additional_fields_profile"),
        ("X-Klaviyo-API-Filters", "x_klaviyo_api_filters"),
        ("from", "from_"),
        ("body", "body_"),
    ],
)
def test_param_names(wire: str, python: str) -> None:
    assert naming.param_name(wire, set()) == python


_NAME_TEXT = st.text(
    alphabet=st.sampled_from("aZbY09_-. []/$:éß\u0130Ǆ\u2028\t") | st.characters(), max_size=24
)


def _stock() -> Any:
    """openapi-python-client's word helpers (imported by the tests that compare with them: the
    whole package takes 0.6 s to import, in every process that collects this module)."""
    from openapi_python_client import strings

    return strings


# 3000 texts a run, drawn 25 to an example: the comparisons take a few milliseconds, and
# hypothesis's own cost per example was 97% of this test (2000 examples, one text each: 1.4 s)
@settings(max_examples=120, deadline=None)
@given(st.lists(_NAME_TEXT, min_size=25, max_size=25, unique=True))
def test_word_rules_match_the_pinned_openapi_python_client(texts: list[str]) -> None:
    """The restated rules give what openapi-python-client's own helpers give, on any text."""
    stock = _stock()
    for text in texts:
        assert naming._snake(text) == stock.snake_case(text), text
        assert naming._pascal(text) == stock.pascal_case(text), text


@pytest.mark.parametrize(
    "text",
    ["fields[profile]", "getProfiles", "HTTPServer", "ABTest", "x-klaviyo-ratelimit", "ǅungla"],
)
def test_word_rules_match_on_spec_like_names(text: str) -> None:
    assert naming._snake(text) == _stock().snake_case(text)
    assert naming._pascal(text) == _stock().pascal_case(text)


def test_the_document_model_loads_without_the_generator_package_and_leaves_no_trace() -> None:
    """Validation imports only the ``schema`` part; afterwards an ordinary import of the whole
    package (in the same process) still works."""
    code = """
import json, sys
from generator.specs import validation as specs
model = specs._openapi_model()
loaded = sorted(k for k in sys.modules if k.startswith("openapi_python_client"))
heavy = [k for k in ("httpx", "jinja2", "ruamel.yaml") if k in sys.modules]
import openapi_python_client, openapi_python_client.schema as schema
print(json.dumps({"model": model.__name__, "loaded": loaded, "heavy": heavy,
                  "whole": hasattr(openapi_python_client, "generate"),
                  "schema": schema.OpenAPI.__name__}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    assert got["model"] == "OpenAPI"
    assert got["loaded"] == []  # nothing left behind in sys.modules
    assert got["heavy"] == []  # httpx, jinja2, ruamel were not imported for it
    assert got["whole"] is True
    assert got["schema"] == "OpenAPI"


def test_field_names_keep_dollar_fields_distinct() -> None:
    taken: set[str] = set()
    assert naming.field_name("id", taken) == "id"
    assert naming.field_name("$id", taken) == "dollar_id"
    assert naming.field_name("$email", taken) == "email"
    assert naming.field_name("list", taken) == "list_"
    assert naming.field_name("class", taken) == "class_"
    assert naming.field_name("to_dict", taken, reserved().model) == "to_dict_"
    assert naming.field_name("from_dict", taken, reserved().model) == "from_dict_"


def test_py_str_round_trips() -> None:
    for text in ["plain", "it's", 'say "hi"', "back\\slash", "new\nline", "ünï"]:
        assert eval(escape.py_str(text)) == text


def _doc(schemas: dict[str, Any], params: list[Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.0.2",
        "info": {"title": "T", "version": "2026-01-01"},
        "paths": {
            "/x/{id}": {
                "get": {
                    "operationId": "get_x",
                    "tags": ["X"],
                    "parameters": params or [],
                    "responses": {"204": {"description": "none"}},
                }
            }
        },
        "components": {"schemas": schemas},
    }


def test_normalize_rules_count_what_they_fix() -> None:
    doc = _doc(
        {
            "A": {
                "type": "object",
                "properties": {
                    "flag": {"type": "boolean", "enum": [False, True], "nullable": True},
                    "yes": {"type": "boolean", "enum": [True]},
                    "nothing": {"enum": [None]},
                    "size": {"oneOf": [{"type": "integer"}], "default": "big"},
                },
            }
        },
        [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "nullable": True},
            }
        ],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecWarning)
        counts = normalize(doc)
    assert counts == {
        "path-params-not-nullable": 1,
        "jsonapi-query-arrays-csv": 0,
        "boolean-enums": 2,
        "null-only-enums": 1,
        "array-items-missing": 0,
        "enum-type-mismatch": 0,
        "invalid-defaults": 1,
    }
    props = doc["components"]["schemas"]["A"]["properties"]
    assert "enum" not in props["flag"]
    assert props["flag"]["nullable"] is True
    assert props["yes"]["enum"] == [True]
    assert "default" not in props["size"]
    assert len(caught) == 1
    assert "#/components/schemas/A/properties/size" in str(caught[0].message)


def test_repeated_inline_schemas_are_generated_once() -> None:
    inline = {"type": "object", "properties": {"self": {"type": "string"}}}
    doc = _doc(
        {
            "A": {"type": "object", "properties": {"links": dict(inline)}},
            "B": {"type": "object", "properties": {"links": dict(inline, description="other")}},
            "E1": {"type": "string", "enum": ["a", "b"]},
        }
    )
    api = Builder(doc, "t.json", "pkg").build()
    names = sorted(m.name for m in api.models)
    assert names == ["A", "ALinks", "B"]  # one class for the shape ...
    b = next(m for m in api.models if m.name == "B")
    # ... and each place keeps its own name for it (an alias of the class)
    assert b.fields[0].type.annotation == "BLinks | None"
    assert b.fields[0].type.decoder == "ALinks"
    links = next(m for m in api.models if m.name == "ALinks")
    assert [n.name for n in links.aliases] == ["BLinks"]
    assert [a.name for a in api.aliases] == ["E1"]
    assert api.stats["deduplicated_models"] == 1


def test_colliding_enum_values_become_literals() -> None:
    doc = _doc(
        {"Sort": {"type": "string", "enum": ["created", "-created", "Etc/GMT+1", "Etc/GMT-1"]}}
    )
    api = Builder(doc, "t.json", "pkg").build()
    (alias,) = api.aliases
    assert alias.annotation == 'Literal["created", "-created", "Etc/GMT+1", "Etc/GMT-1"]'


def test_operation_ids_that_are_not_identifiers_are_renamed_with_a_warning() -> None:
    doc = _doc({})
    doc["paths"]["/x/{id}"]["get"]["operationId"] = "get thing!"
    doc["paths"]["/x/{id}"]["get"]["parameters"] = [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecWarning)
        api = Builder(doc, "t.json", "pkg").build()
    assert api.operations[0].name == "get_thing"
    assert any("'get thing!' is not a Python identifier" in str(w.message) for w in caught)
