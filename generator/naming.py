"""Python names for spec names (built on openapi-python-client's naming helpers)."""

from __future__ import annotations

import keyword
import re
from functools import cache

from openapi_python_client.strings import pascal_case as _pascal
from openapi_python_client.strings import snake_case as _snake

# Names the generated modules use in annotations or that models/clients define themselves.
_RESERVED_FIELDS = frozenset(
    {
        "list",
        "dict",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "object",
        "self",
        "to_dict",
        "from_dict",
        "extra",
        "get",
        "field",
        "Any",
        "Literal",
        "Model",
    }
)
_RESERVED_PARAMS = frozenset({"self", "body", "request_options", "cast", "Any", "Literal"})
_RESERVED_CLASSES = frozenset(
    {"Any", "Literal", "Model", "Sequence", "Mapping", "IO", "TYPE_CHECKING", "TypeAlias"}
)
_WIRE_SEP = re.compile(r"[\[\]\-.\s/:]+")


def wire_to_words(wire: str) -> str:
    """``fields[profile]`` → ``fields_profile``; ``additional-fields[x]`` → ``additional_fields_x``.

    Brackets, dashes and dots separate words (stock naming drops them: ``fieldsprofile``).
    """
    return _WIRE_SEP.sub("_", wire).strip("_")


@cache
def snake(text: str) -> str:
    """snake_case identifier (may still be a keyword: see the callers)."""
    out = _snake(wire_to_words(text))
    if not out:
        out = "value"
    if out[0].isdigit():
        out = "n" + out
    return out


@cache
def pascal(text: str) -> str:
    out = _pascal(wire_to_words(text))
    out = re.sub(r"\W", "", out)
    if not out:
        out = "Value"
    if out[0].isdigit():
        out = "N" + out
    return out


def class_name(name: str) -> str:
    """Class name for a component schema: keep the spec's PascalCase name where valid."""
    out = name if name.isidentifier() and name[:1].isupper() else pascal(name)
    if out in _RESERVED_CLASSES or keyword.iskeyword(out):
        out += "_"
    return out


def field_name(wire: str, taken: set[str]) -> str:
    """Attribute name for a JSON member; ``$id`` becomes ``id`` unless ``id`` exists too."""
    base = snake(wire.lstrip("$")) if wire.startswith("$") else snake(wire)
    if wire.startswith("$") and base in taken:
        base = "dollar_" + base
    return _unique(base, _RESERVED_FIELDS, taken)


def param_name(wire: str, taken: set[str]) -> str:
    """Argument name for a parameter (``fields[profile]`` → ``fields_profile``)."""
    return _unique(snake(wire), _RESERVED_PARAMS, taken)


def _unique(base: str, reserved: frozenset[str], taken: set[str]) -> str:
    """``base`` made safe (keywords and reserved names get ``_``) and unique within ``taken``."""
    if keyword.iskeyword(base) or base in reserved:
        base += "_"
    name = base
    n = 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    taken.add(name)
    return name


def method_name(operation_id: str) -> str:
    name = snake(operation_id)
    if keyword.iskeyword(name):
        name += "_"
    return name


def py_str(value: str) -> str:
    """A double-quoted Python string literal."""
    out = repr(value)
    if out.startswith("'") and '"' not in value:
        out = '"' + out[1:-1].replace("\\'", "'") + '"'
    return out


def py_literal(value: object) -> str:
    if isinstance(value, str):
        return py_str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f"not a literal: {value!r}")
