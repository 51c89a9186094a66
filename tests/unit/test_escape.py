"""The escaping functions: whatever the text, the result stays inside its context."""

from __future__ import annotations

import ast
import html as html_module
import keyword
import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import escape, naming

# Text biased towards what breaks contexts: quotes, backslashes, braces, controls, separators.
NASTY = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"'\\{}#|<>`\n\r\t\x00\x0b\x0c\x1b\x85\u2028\u2029\ud800$[]")),
        st.characters(),
    ),
    max_size=40,
)

# Texts are drawn 20 to an example (distinct within it): the checks take microseconds a text,
# and hypothesis's own cost per example was most of this module's time. Each test checks 1.25
# times as many texts as with one text an example (a few repeat across examples).


def batches(texts: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(texts, min_size=20, max_size=20, unique=True)


@settings(max_examples=25, deadline=None)  # 500 texts (was 400)
@given(batches(NASTY))
def test_docstring_cannot_be_closed_and_keeps_the_text(texts: list[str]) -> None:
    for text in texts:
        source = f'def f():\n    """{escape.docstring(text)}"""\n'
        tree = ast.parse(source)  # compiles: nothing escaped the docstring
        func = tree.body[0]
        assert isinstance(func, ast.FunctionDef) and len(func.body) == 1
        doc = ast.get_docstring(func, clean=False)
        assert doc is not None
        # printable text survives (controls are shown as \\xNN, \r as a newline, tabs as
        # spaces, spaces at line ends are dropped)
        for ch in text:
            if ch.isprintable() and ch not in "\\ ":
                assert ch in doc, text
        assert not any(line.endswith((" ", "\t")) for line in doc.split("\n")[:-1]), text


@settings(max_examples=25, deadline=None)  # 500 texts (was 400)
@given(batches(NASTY))
def test_py_str_round_trips(texts: list[str]) -> None:
    for text in texts:
        assert ast.literal_eval(escape.py_str(text)) == text


@settings(max_examples=25, deadline=None)  # 500 texts (was 400)
@given(batches(NASTY))
def test_toml_str_round_trips(texts: list[str]) -> None:
    for text in texts:
        parsed = tomllib.loads(f"x = {escape.toml_str(text)}\n")
        expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
        assert parsed == {"x": expected}


@settings(max_examples=25, deadline=None)  # 500 texts (was 400)
@given(batches(NASTY))
def test_identifiers_are_ascii_names(texts: list[str]) -> None:
    for text in texts:
        for name in (escape.identifier(text), naming.snake(text), naming.pascal(text)):
            assert name.isascii() and name.isidentifier(), (text, name)
            assert not keyword.iskeyword(name), text
            assert not name.startswith("_"), text


@settings(max_examples=13, deadline=None)  # 260 texts (was 200)
@given(batches(NASTY))
def test_markdown_is_one_line_without_pipes_or_html(texts: list[str]) -> None:
    for text in texts:
        out = escape.markdown(text)
        assert "\n" not in out and "\r" not in out, text
        assert "<" not in out and ">" not in out, text
        assert "|" not in out.replace("\\|", ""), text


def test_identifiers_do_not_fold_together() -> None:
    # Python folds identifiers with NFKC: ﬁle is file. Generated names stay ASCII and distinct.
    assert naming.snake("ﬁle") == "file"
    assert naming.snake("日本") != naming.snake("中国")
    assert naming.pascal("None") == "None_"
    assert naming.method_name("list") == "list_"


def test_py_literal_refuses_what_has_no_literal() -> None:
    for bad in (float("nan"), float("inf"), [1], {"a": 1}):
        try:
            escape.py_literal(bad)
        except TypeError:
            continue
        raise AssertionError(bad)
    assert escape.py_literal(1.5) == "1.5"
    assert escape.py_literal(None) == "None"


# Spec text that would put a link or an image into the generated README if it went in verbatim.
MD_INJECTIONS = [
    "[click here](https://evil.example/login)",
    "![logo](https://evil.example/pixel.png)",
    "[text][ref] [ref]: https://evil.example",
    "[^note] footnote",
    "see https://evil.example/x or HTTP://EVIL.EXAMPLE",
    "visit www.evil.example or WWW.evil.example today",
    "mail me@evil.example",
    "<https://evil.example> <b>bold</b>",
    "\\[already escaped\\](https://evil.example)",
]


def _unescaped(markdown: str) -> str:
    """``markdown`` with every backslash-escaped character (and the backslash) taken out."""
    return re.sub(r"\\.", "", markdown)


@settings(max_examples=19, deadline=None)  # 380 texts (was 300)
@given(batches(st.one_of(NASTY, st.sampled_from(MD_INJECTIONS))))
def test_markdown_makes_no_link_or_image(texts: list[str]) -> None:
    for text in texts:
        bare = _unescaped(escape.markdown(text)).lower()
        for trigger in ("[", "]", "://", "www.", "@", "<", ">"):
            assert trigger not in bare, (text, escape.markdown(text))


@pytest.mark.parametrize("text", MD_INJECTIONS)
def test_markdown_renders_as_the_text_without_links(text: str) -> None:
    """Rendered by a CommonMark renderer (in a table cell too): no <a>, no <img>, and the
    reader sees exactly the spec's text."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable("table")
    cell = escape.markdown(text)
    for source in (cell, f"| a |\n| - |\n| {cell} |\n"):
        html = md.render(source)
        assert "<a " not in html and "<img" not in html, html
        shown = html_module.unescape(re.sub(r"<[^>]+>", "", html)).strip()
        assert shown.endswith(" ".join(text.split())), (shown, text)


@settings(max_examples=13, deadline=None)  # 260 texts (was 200)
@given(batches(NASTY))
def test_markdown_code_stays_inside_its_code_span(texts: list[str]) -> None:
    for text in texts:
        out = escape.markdown_code(text)
        assert "`" not in out and "\n" not in out and "\r" not in out, text
        assert "|" not in out.replace("\\|", ""), text
