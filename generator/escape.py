"""Spec text → generated files: one escaping function per context the text lands in.

Every value that comes from a spec and reaches a generated file goes through exactly one of
these (or is refused earlier, see :mod:`generator.specs`):

* :func:`docstring`   inside a ``\"\"\"...\"\"\"`` docstring of generated Python
* :func:`py_str`      a Python string literal (with its quotes); :func:`py_literal` for enum values
* :func:`identifier`  a Python name (ASCII, not a keyword); naming policy is in :mod:`.naming`
* :func:`toml_str`    a TOML basic string (with its quotes), for the generated ``pyproject.toml``
* :func:`markdown`    inline text or a table cell of the generated README
* :func:`markdown_code` the inside of a code span there

None of them can produce text that ends its context early: a docstring cannot be closed, a
literal cannot be left, a name is always a plain identifier.
"""

from __future__ import annotations

import keyword
import math
import re
import unicodedata

# Characters that must not appear raw in a docstring: C0/C1 controls other than \n and \t
# (NUL is not even allowed in source), characters str.splitlines() breaks on, lone surrogates.
_DOC_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_QUOTE_RUN = re.compile(r'"(?=")')
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\\\x{code:02x}" if code < 0x100 else f"\\\\u{code:04x}"


def docstring(text: str) -> str:
    """Text safe inside a triple-double-quoted docstring: it reads the same and cannot close it.

    Backslashes are doubled (no escape sequence survives), every ``"`` followed by another
    ``"`` is escaped and a final ``"`` gets a space after it (so no run of three quotes can
    form), control characters are shown as ``\\xNN``. ``\\r\\n``/``\\r`` become newlines,
    tabs four spaces, and no line ends in spaces.
    """
    out = text.replace("\r\n", "\n").replace("\r", "\n").replace("\\", "\\\\")
    out = _TRAILING_SPACE.sub("\n", out.replace("\t", "    "))  # what lint rejects in source
    out = _DOC_UNSAFE.sub(_visible, out)
    out = _QUOTE_RUN.sub('\\\\"', out)
    if out.endswith('"'):
        out += " "  # a final quote would run into the closing ones
    return out


def py_str(value: str) -> str:
    """A Python string literal for ``value`` (double-quoted where possible; ``repr`` rules)."""
    out = repr(value)
    if out.startswith("'") and '"' not in value:
        out = '"' + out[1:-1].replace("\\'", "'") + '"'
    return out


def py_literal(value: object) -> str:
    """A Python literal for a JSON scalar (enum values, choices); other values are refused."""
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"not a literal: {value!r}")
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f"not a literal: {value!r}")


def ascii_words(text: str) -> str:
    """``text`` with every non-ASCII character (after NFKC) spelled ``uXXXX`` as its own word.

    Python folds identifiers with NFKC (``ﬁle`` *is* ``file``), so generated names are kept ASCII:
    two different spec names can never become the same Python name by folding.
    """
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c if c.isascii() else f" u{ord(c):04x} " for c in folded)


_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def identifier(candidate: str, fallback: str = "value") -> str:
    """A safe Python name from ``candidate``: ASCII letters, digits and ``_``, not a keyword,
    not starting with a digit or ``_`` (no dunders, nothing private-looking)."""
    out = _NOT_IDENT.sub("_", ascii_words(candidate)).strip("_")
    out = re.sub(r"__+", "_", out)
    if not out:
        out = fallback
    if out[0].isdigit():
        out = "n" + out
    if keyword.iskeyword(out):
        out += "_"
    return out


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_TOML_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f\ud800-\udfff]')


def _toml_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    if 0xD800 <= ord(char) <= 0xDFFF:
        return "\\uFFFD"  # a lone surrogate has no TOML spelling
    return f"\\u{ord(char):04X}"


def toml_str(value: str) -> str:
    """A TOML basic string (with quotes) holding ``value``."""
    return '"' + _TOML_UNSAFE.sub(_toml_char, value) + '"'


_MD_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# What makes a link or an image of plain text: [text](url), ![alt](src), [text][ref], [^note];
# and what GitHub's Markdown turns into a link by itself: scheme://…, www.…, name@host.
_MD_LINKS = re.compile(r"[\[\]@]|:(?=//)|(?<=www)\.", re.IGNORECASE)


def markdown(text: str) -> str:
    """One line of Markdown text (a table cell or inline): no line breaks, no table pipes,
    no raw HTML, and no link or image: spec text reads as the text it is and cannot point a
    reader of the README anywhere (``[`` ``]`` ``@`` and the ``:`` of ``://`` and ``.`` of
    ``www.`` are backslash-escaped, which Markdown shows as the characters themselves)."""
    out = " ".join(_MD_UNSAFE.sub(" ", text).split())
    out = out.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_LINKS.sub(lambda m: "\\" + m.group(), out)


def markdown_code(text: str) -> str:
    """One line inside a Markdown code span (`` `…` ``, in a table cell too): nothing in a code
    span is a link or markup, so only what would end it (a backquote, shown as ``'``, a line
    break) or the table cell (``|``, escaped) is changed."""
    out = " ".join(_MD_UNSAFE.sub(" ", text).split()).replace("`", "'")
    return out.replace("|", "\\|")
