"""The sync twins of the asyncio runtime modules: derived at render time, never edited."""

from __future__ import annotations

from pathlib import Path

from generator.unasync import TWINS, unasync

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
