"""The sync twins of the asyncio runtime modules: derived at render time, never edited."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from generator.unasync import EXCEPTIONS, RULES, TWINS, unasync

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ROOT / "templates" / "overlays"
GENERATED = ROOT / "generated" / "klaviyo-client" / "src" / "klaviyo_client"


def test_keywords_names_and_awaitables_become_blocking() -> None:
    source = (
        "from __future__ import annotations\n\n"
        "from collections.abc import AsyncIterator, Awaitable, Callable\n\n"
        "from . import _async_compat as _compat\n\n\n"
        "class AsyncPager:\n"
        '    """The asyncio client; ``async for`` over items."""\n\n'
        "    async def pages(self, call: Callable[[], Awaitable[list[int]]]) -> AsyncIterator[int]:"
        "\n"
        "        async with _compat.deadline(1.0):\n"
        "            async for item in await call():\n"
        "                yield item\n\n"
        "    async def aclose(self) -> None:\n"
        "        await self._http.aclose()\n"
    )
    text = unasync(source, "_async_example.py")
    assert text.startswith("# Derived from _async_example.py")
    assert "from __future__ import annotations" in text  # kept although no name uses it
    assert "from collections.abc import Iterator, Callable\n" in text  # Awaitable dropped
    assert "from . import _sync_compat as _compat" in text
    assert "class SyncPager:" in text
    assert '"""The blocking client; ``for`` over items."""' in text
    assert "def pages(self, call: Callable[[], list[int]]) -> Iterator[int]:" in text
    assert "with _compat.deadline(1.0):" in text
    assert "for item in call():" in text
    assert "def close(self) -> None:\n        self._http.close()" in text
    body = text.split("\n", 1)[1].replace("_async_example", "")
    assert "async" not in body and "await" not in body


def test_the_committed_twins_are_derived_from_the_current_sources() -> None:
    for source, twin in TWINS.items():
        expected = unasync((OVERLAYS / source).read_text(encoding="utf-8"), source)
        committed = (GENERATED / twin).read_text(encoding="utf-8")
        # the generated file is also ruff-formatted; compare what formatting cannot change
        words = [w for w in expected.split() if w not in "()[],"]
        assert all(w.strip("(),[]") in committed for w in words[:400]), twin
        assert "await " not in committed and "async def" not in committed


# -- by rule, not by list ---------------------------------------------------------------------


def _by_rules(text: str) -> str:
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    return text


def test_names_follow_the_rules_with_no_table_entry() -> None:
    source = (
        "from . import _async_widgets as _widgets\n"
        "from ._async_widgets import AsyncWidget, async_widget_method\n\n\n"
        "class AsyncWidgetPool(AsyncWidget):\n"
        '    """Holds ``AsyncWidget`` values; see :mod:`._async_widgets`."""\n\n'
        "    async def __anext__(self) -> AsyncWidget:\n"
        "        await self._conn.handle_async_widget(self)\n"
        "        await self._conn.aclose()\n"
        "        return async_widget_method(_widgets.AsyncWidget())\n\n"
        "    async def attempt(self) -> None:\n"
        "        await self.slots.acquire(self.answer)\n"
    )
    text = unasync(source, "_async_widgets_pool.py").split("\n", 1)[1]
    assert "from . import _sync_widgets as _widgets" in text
    assert "from ._sync_widgets import SyncWidget, widget_method" in text
    assert "class SyncWidgetPool(SyncWidget):" in text
    assert '"""Holds ``SyncWidget`` values; see :mod:`._sync_widgets`."""' in text
    assert "def __next__(self) -> SyncWidget:" in text
    assert "self._conn.handle_widget(self)" in text
    assert "self._conn.close()" in text
    assert "return widget_method(_widgets.SyncWidget())" in text
    # words that merely start with an "a" keep it: only the listed coroutine stems lose it
    assert "def attempt(self) -> None:\n        self.slots.acquire(self.answer)" in text
    assert not any("Widget" in name for name in EXCEPTIONS)


def test_the_exceptions_are_only_what_no_rule_gives() -> None:
    # each entry is a name whose blocking form the rules would get wrong (or leave alone)
    for name, plain in EXCEPTIONS.items():
        assert _by_rules(name) != plain, name
    text = unasync(
        "client: AsyncKlaviyo | AsyncKlaviyoPublic\n"
        "http: httpx.AsyncClient | httpx.AsyncBaseTransport | httpcore.AsyncHTTPConnection\n"
        "import redis.asyncio as redis_api\n",
        "_async_x.py",
    )
    assert "client: Klaviyo | KlaviyoPublic\n" in text  # the longest name first
    assert "http: httpx.Client | httpx.BaseTransport | httpcore.HTTPConnection\n" in text
    assert "import redis as redis_api\n" in text


def test_editors_notes_and_async_only_blocks_stay_in_the_source() -> None:
    source = (
        "# Written for asyncio: edit this file.\n"
        '"""The asyncio client."""\n\n\n'
        "def where() -> str:\n"
        '    # async-only: loop = ""\n'
        '    loop = " inside the event loop (asyncio)"\n'
        "    # end async-only\n"
        '    return "here" + loop\n'
    )
    text = unasync(source, "_async_x.py")
    header, body = text.split("\n", 1)
    assert header.startswith("# Derived from _async_x.py") and header.endswith("do not edit.")
    assert body.startswith('"""The blocking client."""\n')
    assert '    loop = ""\n    return "here" + loop\n' in body
    assert "edit" not in body and "asyncio" not in body


# -- the derived modules of the generated package ------------------------------------------

_ASYNC_WORD = re.compile(
    r"async|\bawait\b|Awaitable|\ba(?:close|iter_\w+|renew|reserve|observe|status)\b"
    r"|__a(?:enter|exit|iter|next)__",
    re.IGNORECASE,
)
_ASYNC_NODES = (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await)
# what only the source may say of itself: where to edit, that it is the asyncio one
_SELF_CLAIM = re.compile(
    r"\bedit\b|\btwins?\b|derived from this|(?:is|of) the source|asyncio (?:source|version)",
    re.IGNORECASE,
)


def _derived() -> list[tuple[str, str]]:
    out = []
    for twin in TWINS.values():
        header, body = (GENERATED / twin).read_text(encoding="utf-8").split("\n", 1)
        assert header.startswith("# Derived from _async_") and header.endswith("do not edit."), twin
        out.append((twin, body))
    return out


def test_derived_modules_hold_no_async_token() -> None:
    for twin, body in _derived():
        tree = ast.parse(body, filename=twin)
        assert not [type(n).__name__ for n in ast.walk(tree) if isinstance(n, _ASYNC_NODES)], twin
        found = sorted({m.group(0) for m in _ASYNC_WORD.finditer(body)})
        assert not found, f"{twin}: {found}"


def test_derived_modules_say_nothing_untrue_about_themselves() -> None:
    for twin, body in _derived():
        tokens = tokenize.generate_tokens(io.StringIO(body).readline)
        prose = [t.string for t in tokens if t.type in (tokenize.STRING, tokenize.COMMENT)]
        claims = sorted({m.group(0) for s in prose for m in _SELF_CLAIM.finditer(s)})
        assert not claims, f"{twin}: {claims}"


def test_each_source_names_the_module_derived_from_it() -> None:
    for source, twin in TWINS.items():
        text = (OVERLAYS / source).read_text(encoding="utf-8")
        notes = text[: text.index('"""')]
        assert notes.startswith("# Written for asyncio") and f"derives {twin}" in notes, source
        assert "# Written for asyncio" not in unasync(text, source), source
