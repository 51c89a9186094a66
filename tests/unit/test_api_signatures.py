"""The generated package keeps its public API: every resource method (sync and async, aliases
included), every ``with_raw_response`` method and every client method has the signature
recorded in ``records/api-signatures.json`` (taken before the resources were reshaped; see
tests/support/api_signatures.py). Names the package gained since are listed, with their
signatures, in ``records/api-signatures-added.json``: an addition is deliberate, never silent.

Regenerate a record only for a deliberate API change:
``PYTHONPATH=generated/klaviyo-client/src:. python -m tests.support.api_signatures klaviyo_client``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.fresh_reports import GROUP, report

RECORDS = Path(__file__).parent / "records"


def current() -> dict[str, str]:
    result: dict[str, str] = report("api_signatures", "klaviyo_client")
    return result


# The one deliberate signature change since the record: a JSON body typed
# ``Model | Mapping[str, Any]`` is now ``Model | ModelDict``, the model's TypedDict (a dict body
# is type-checked). Read back as the recorded form; everything else must be identical.
_BODY_DICT = re.compile(r"'(\w+) \| \1Dict'")


def _as_recorded(signature: str) -> tuple[str, int]:
    return _BODY_DICT.subn(r"'\1 | Mapping[str, Any]'", signature)


@pytest.mark.xdist_group(GROUP)
def test_public_api_matches_the_record() -> None:
    recorded: dict[str, str] = json.loads((RECORDS / "api-signatures.json").read_text())
    added: dict[str, str] = json.loads((RECORDS / "api-signatures-added.json").read_text())
    now: dict[str, str] = {}
    typed_bodies = 0
    for name, signature in current().items():
        now[name], n = _as_recorded(signature) if name in recorded else (signature, 0)
        typed_bodies += n
    assert typed_bodies > 500, typed_bodies  # every JSON body, sync, async and raw views
    # the record covers what it is meant to (sync, async, raw-response views, legacy, clients)
    assert sum(".with_raw_response." in k for k in recorded) > 1300
    assert any(k.startswith("klaviyo_client.legacy.resources.") for k in recorded)
    assert "klaviyo_client._client.AsyncKlaviyo.paginate" in recorded
    missing = sorted(k for k in recorded if k not in now)
    assert not missing, f"{len(missing)} gone: {missing[:20]}"
    changed = [
        f"{k}\n  was {recorded[k]}\n  now {now[k]}" for k in recorded if now[k] != recorded[k]
    ]
    assert not changed, f"{len(changed)} changed:\n" + "\n".join(changed[:20])
    extra = {k: v for k, v in now.items() if k not in recorded}
    assert extra == added, (
        "names added or changed since the record: "
        + json.dumps({k: v for k, v in extra.items() if added.get(k) != v}, indent=1)[:4000]
    )
