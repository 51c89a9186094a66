"""Python names for spec names (built on openapi-python-client's naming rules).

Every name ends in :func:`generator.escape.identifier`: ASCII, never a keyword, never starting
with ``_``. What a name must additionally avoid (the runtime's own members, builtins used in
annotations, other names in the same namespace) is decided here and by the IR builder.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from collections.abc import Iterable
from functools import cache

from .escape import ascii_words, identifier

# Builtins that generated annotations use: a class attribute (model field, resource method)
# with one of these names would shadow it for every later annotation in the class body.
ANNOTATION_BUILTINS = frozenset({"list", "dict", "str", "int", "float", "bool", "bytes", "object"})
# Names the generated model modules use themselves (the Model base class members are added from
# the runtime by the IR builder).
_RESERVED_FIELDS = ANNOTATION_BUILTINS | {"self", "field", "Any", "Literal", "Model"}
# Names a generated method body uses.
_RESERVED_PARAMS = frozenset(
    {"self", "body", "request_options", "cast", "warn_deprecated", "Any", "Literal"}
)
_RESERVED_CLASSES = frozenset(
    {"Any", "Literal", "Model", "Sequence", "Mapping", "IO", "TYPE_CHECKING", "TypeAlias"}
)
# openapi-python-client's word rules (``strings.sanitize``/``split_words``/``snake_case``/
# ``pascal_case`` of the pinned 0.29.1, MIT), restated here: importing its ``strings`` module runs
# the package ``__init__``, which loads its whole generator (httpx, templates, parser) — about a
# tenth of a generation. ``tests/unit/test_naming.py`` holds the two to the same output.
_DELIMITERS = r"\. _-"
_WORD = re.compile(rf"[^{re.escape(_DELIMITERS)}]+")
_CAMEL = re.compile("([A-Z]?[a-z]+)")


def _words(value: str) -> list[str]:
    value = "".join(c for c in value if c.isidentifier() or c.isdecimal() or c in _DELIMITERS)
    if any(c.isupper() for c in value):
        value = " ".join(_CAMEL.split(value))
    return _WORD.findall(value)


def _snake(value: str) -> str:
    return "_".join(_words(value)).lower()


def _pascal(value: str) -> str:
    return "".join(w if w.isupper() else w.capitalize() for w in _words(value))


_WIRE_SEP = re.compile(r"[\[\]\-.\s/:]+")
# Module names (resources/<name>.py, models/<name>.py) stay well below file-system limits.
MAX_MODULE_NAME = 60


def wire_to_words(wire: str) -> str:
    """``fields[profile]`` → ``fields_profile``; ``additional-fields[x]`` → ``additional_fields_x``.

    Brackets, dashes and dots separate words (stock naming drops them: ``fieldsprofile``).
    """
    return _WIRE_SEP.sub("_", wire).strip("_")


@cache
def snake(text: str) -> str:
    """snake_case identifier (may still be a keyword: see the callers)."""
    return identifier(_snake(wire_to_words(ascii_words(text))))


@cache
def pascal(text: str) -> str:
    out = _pascal(wire_to_words(ascii_words(text)))
    out = re.sub(r"\W", "", out)
    if not out:
        out = "Value"
    if out[0].isdigit():
        out = "N" + out
    if keyword.iskeyword(out):  # None, True, False
        out += "_"
    return identifier(out, "Value")


def class_name(name: str, reserved: Iterable[str] = ()) -> str:
    """Class name for a component schema: keep the spec's PascalCase name where valid, unless
    it is a name the generated modules use (``reserved``, e.g. ``OPERATIONS``)."""
    valid = name.isascii() and name.isidentifier() and name[:1].isupper()
    out = name if valid else pascal(name)
    if out in _RESERVED_CLASSES or out in reserved or keyword.iskeyword(out):
        out += "_"
    return out


def field_name(wire: str, taken: set[str], reserved: Iterable[str] = ()) -> str:
    """Attribute name for a JSON member; ``$id`` becomes ``id`` unless ``id`` exists too."""
    base = snake(wire.lstrip("$")) if wire.startswith("$") else snake(wire)
    if wire.startswith("$") and base in taken:
        base = "dollar_" + base
    return unique(base, _RESERVED_FIELDS | frozenset(reserved), taken)


def param_name(wire: str, taken: set[str]) -> str:
    """Argument name for a parameter (``fields[profile]`` → ``fields_profile``)."""
    return unique(snake(wire), _RESERVED_PARAMS, taken)


def unique(base: str, reserved: frozenset[str], taken: set[str]) -> str:
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
    if keyword.iskeyword(name) or name in ANNOTATION_BUILTINS:
        name += "_"
    return name


def shorten(name: str, limit: int = MAX_MODULE_NAME) -> str:
    """``name`` cut to ``limit`` characters, keeping it distinct with a short stable hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('_')}_{digest}"
