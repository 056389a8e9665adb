"""JSON in and out: Kubernetes objects decoded by msgspec with orjson's errors, and written whatever numbers they hold.

Why msgspec for the objects pods are not (auditor.podwire has those): its untyped decode builds the same dicts, lists,
strings and numbers as `orjson.loads`, ~20% faster on Kubernetes objects (it caches the short keys every object
repeats: 24 -> 19 ms for 4 MB of Deployments, a 50k-pod audit 3% faster in all), and it refuses what orjson refuses.
What it refuses is handed to orjson, so a malformed file or answer is named exactly as before (line and column).

One difference, kept on purpose: a whole number outside the 64-bit range is an exact int, where orjson made it a float
(or, beyond a double, refused the file). YAML snapshot files (PyYAML) always gave exact ints. No API server sends one;
the shape rules refuse one where they read a whole number (auditor.sources.shapes), and `dumps` writes it (as the float
orjson reads it as, or its digits), so no reader is surprised.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

_DECODER = msgspec.json.Decoder()
# A Kubernetes object's whole numbers are int64 (a few uint64): anything beyond is not an API server's.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1


def loads(raw: bytes | memoryview) -> Any:
    """`orjson.loads(raw)`, decoded by msgspec; malformed input raises orjson.JSONDecodeError, as orjson says it."""
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # ValidationError (a number out of range) is a DecodeError
        return orjson.loads(raw)  # raises orjson's error; or, nested deeper than msgspec goes, orjson's answer


def dumps(value: Any, **options: Any) -> bytes:
    """`orjson.dumps(value, **options)`, and a value holding a whole number beyond 64 bits (a hand-made snapshot's:
    orjson refuses to write one) written with each such number as the float orjson reads it as."""
    try:
        return orjson.dumps(value, **options)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(_bounded(value), **options)


def _bounded(value: Any) -> Any:
    """`value` with every int outside INT_MIN..INT_MAX a float, containers copied (only on the rare path above)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return value
        try:
            return float(value)
        except OverflowError:  # beyond any float: written as its digits
            return str(value)
    if isinstance(value, dict):
        return {key: _bounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_bounded(item) for item in value]
    return value
