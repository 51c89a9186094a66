"""``fetch``: download the specs listed in ``specs/sources.yaml`` that cannot be found locally,
each checked against its sha256 before it is saved."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from . import specs

MAX_DOWNLOAD = 64 * 1024 * 1024


def fetch_specs(
    spec_dir: str | None, mirror: str | None, timeout: float
) -> Iterator[tuple[bool, str]]:
    """One ``(ok, line)`` per listed spec: found (and its checksum right), downloaded and saved,
    or why not (``ok`` false). Downloads go to ``spec_dir`` or the cache."""
    target = Path(spec_dir) if spec_dir else specs.cache_dir()
    for source in specs.load_sources():
        try:
            found, _ = specs.find(source.file, spec_dir, cwd_fallback=False)
        except FileNotFoundError:
            found = None
        if found is not None:
            wrong = wrong_checksum(source, found.read_bytes())
            if wrong:
                yield (
                    False,
                    (
                        f"{source.file}: present at {found} but {wrong}: verify or remove it; "
                        f"{specs.ways_out(source.file)}"
                    ),
                )
            else:
                yield True, f"{source.file}: present at {found}"
            continue
        url = f"{mirror.rstrip('/')}/{urllib.parse.quote(source.file)}" if mirror else source.url
        try:
            data = download(url, timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            looked = ", ".join(str(d) for d in specs.search_dirs(spec_dir))
            yield (
                False,
                (
                    f"{source.file}: cannot download {url} ({exc}); looked in: {looked}; "
                    f"{specs.ways_out(source.file)}"
                ),
            )
            continue
        wrong = wrong_checksum(source, data)
        if wrong:
            yield (
                False,
                (
                    f"{source.file}: downloaded {url} but {wrong}; not saved; "
                    f"{specs.ways_out(source.file)}"
                ),
            )
            continue
        dest = target / source.file
        target.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
        yield True, f"{source.file}: downloaded to {dest}"


def wrong_checksum(source: specs.Source, data: bytes) -> str | None:
    """Why ``data`` is not the file ``source`` lists (its sha256), or None."""
    digest = hashlib.sha256(data).hexdigest()
    if source.sha256 and digest != source.sha256:
        return f"its sha256 {digest} is not {source.sha256} (listed in specs/sources.yaml)"
    return None


def download(url: str, timeout: float) -> bytes:
    """The body at an http(s) ``url``, at most :data:`MAX_DOWNLOAD` bytes."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: bytes = resp.read(MAX_DOWNLOAD + 1)
    if len(data) > MAX_DOWNLOAD:
        raise ValueError(f"larger than {MAX_DOWNLOAD // (1024 * 1024)} MiB")
    return data
