"""Concept names (generator/ir/names.py): what a name stands for decides it; collisions are
settled by what the colliding types are, never by where they appear; specs/names.yaml
overrides."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from generator import pipeline
from generator.errors import SpecError, SpecWarning
from generator.ir import Api, Builder
from generator.ir.names import (
    NamesFile,
    load_names_file,
    load_overrides,
    merge_values,
    param_concept,
)
from tests.support.packages import invoke


def _doc(schemas: dict[str, Any], paths: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.0.2",
        "info": {"title": "T", "version": "2026-01-01"},
        "paths": paths
        or {"/x": {"get": {"operationId": "get_x", "responses": {"204": {"description": "-"}}}}},
        "components": {"schemas": schemas},
    }


def _build(doc: dict[str, Any], **options: Any) -> Api:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return Builder(json.loads(json.dumps(doc)), "t.json", "pkg", **options).build()


def _public(api: Api) -> dict[str, str]:
    """Every public name → the concept key it names."""
    out = {n.name: n.key for m in api.models for n in m.names}
    out.update((a.name, a.key) for a in api.aliases)
    return out


@pytest.mark.parametrize(
    ("param", "owner", "concept"),
    [
        ("fields[profile]", "event", ("fields[profile]", "ProfileField")),
        ("fields[campaign-message]", "", ("fields[campaign-message]", "CampaignMessageField")),
        (
            "additional-fields[profile]",
            "profile",
            ("additional-fields[profile]", "ProfileAdditionalField"),
        ),
        ("sort", "list", ("list:sort", "ListSort")),
        ("include", "catalog-item", ("catalog-item:include", "CatalogItemInclude")),
        (
            "group_by",
            "review-values-report",
            ("review-values-report:group_by", "ReviewValuesReportGroupBy"),
        ),
        ("sort", "", (":sort", "Sort")),
    ],
)
def test_parameter_concepts(param: str, owner: str, concept: tuple[str, str]) -> None:
    assert param_concept(param, owner) == concept


def test_merged_values_do_not_depend_on_the_order_of_the_enums() -> None:
    sets = [("a", "b"), ("c", "a", "b", "d"), ("e",), ("b", "a")]
    merged = merge_values(sets)
    assert merged == ("c", "a", "b", "d", "e")
    assert merge_values(reversed(sets)) == merged
    assert merge_values([(1, True)]) == (1, True)  # 1 and True are different values


def _places(n: int, shape: dict[str, Any]) -> dict[str, Any]:
    return {
        f"Owner{i}": {"type": "object", "properties": {"links": json.loads(json.dumps(shape))}}
        for i in range(n)
    }


def test_every_place_of_a_shared_shape_keeps_its_name() -> None:
    shape = {"type": "object", "properties": {"self": {"type": "string"}}}
    api = _build(_doc(_places(3, shape)))
    links = [m for m in api.models if m.name.endswith("Links")]
    assert len(links) == 1  # one class ...
    (cls,) = links
    # ... the shortest name (then the first in order) is the class, the others alias it
    assert cls.name == "Owner0Links"
    assert [a.name for a in cls.aliases] == ["Owner1Links", "Owner2Links"]
    assert _public(api)["Owner2Links"] == "Owner2/links"
    # removing the place that named the class renames nothing else
    fewer = _build(_doc({k: v for k, v in _places(3, shape).items() if k != "Owner0"}))
    assert {"Owner1Links", "Owner2Links"} <= set(_public(fewer))


def test_a_name_two_shapes_want_goes_to_the_component_then_by_key() -> None:
    schemas = {
        # an inline place that wants the name of a component ...
        "Foo": {
            "type": "object",
            "properties": {"bar": {"type": "object", "properties": {"a": {}}}},
        },
        "FooBar": {"type": "object", "properties": {"b": {"type": "string"}}},
        # ... and two inline places of different shapes that want the same name
        "A": {"type": "object", "properties": {"b_c": {"type": "object", "properties": {"x": {}}}}},
        "AB": {"type": "object", "properties": {"c": {"type": "object", "properties": {"y": {}}}}},
    }
    api = _build(_doc(schemas))
    public = _public(api)
    assert public["FooBar"] == "FooBar"  # the component keeps its spec name
    assert public["FooBar2"] == "Foo/bar"
    assert public["ABC"] == "A/b_c"  # "A/b_c" sorts before "AB/c"
    assert public["ABC2"] == "AB/c"
    # the same whatever the order of the components
    reordered = _build(_doc(dict(reversed(list(schemas.items())))))
    assert _public(reordered) == public


def test_names_yaml_overrides_by_concept_key() -> None:
    schemas = _places(2, {"type": "object", "properties": {"self": {"type": "string"}}})
    api = _build(_doc(schemas), names={"Owner1/links": "SelfLinks", "Owner0": "FirstOwner"})
    public = _public(api)
    assert public["SelfLinks"] == "Owner1/links"
    assert public["FirstOwner"] == "Owner0"
    assert "Owner0" not in public and "Owner1Links" not in public


def test_an_override_that_takes_a_component_name_is_refused() -> None:
    schemas = _places(2, {"type": "object", "properties": {"self": {"type": "string"}}})
    with pytest.raises(SpecError) as caught:
        _build(_doc(schemas), names={"Owner1/links": "Owner0"})
    assert str(caught.value).startswith("specs/names.yaml#/names/Owner1~1links: Owner0 is already")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"names": {"fields[profile]": "profile field"}}, "is not a class name"),
        ({"names": {"fields[profile]": "lower"}}, "is not a class name"),
        ({"names": {"fields[profile]": "Élan"}}, "is not a class name"),
        ({"names": ["x"]}, "must be a mapping"),
        ("x", "must be a mapping"),
    ],
)
def test_names_yaml_is_checked(data: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_overrides(data)
    assert str(caught.value).startswith("specs/names.yaml#")
    assert message in str(caught.value)


def test_names_yaml_in_the_command_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An unused key is a warning naming the file and key; a bad one exits 2 with one line."""
    spec = Path(__file__).resolve().parents[1] / "golden" / "specs" / "bracketed_params.json"
    monkeypatch.setattr(
        pipeline,
        "load_names",
        lambda: NamesFile({"fields[thing]": "ThingColumn", "nothing:here": "Unused"}, {}),
    )
    out = tmp_path / "out"
    args = ["generate", "--no-legacy", "--no-format", "--current", str(spec), "--out", str(out)]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert (
        "klaviyo-codegen: warning: specs/names.yaml#/names/nothing:here: names nothing in the "
        "specs generated" in result.stderr
    )
    things = (out / "src" / "klaviyo_client" / "resources" / "things.py").read_text("utf-8")
    assert "fields_thing: Sequence[ThingColumn] | None" in things
    monkeypatch.setattr(
        pipeline, "load_names", lambda: load_names_file({"names": {"x": "no good"}})
    )
    result = invoke(args)
    assert result.exit_code == 2
    assert result.stderr.startswith("klaviyo-codegen: error: specs/names.yaml#/names/x: ")
    assert len(result.stderr.splitlines()) == 1
