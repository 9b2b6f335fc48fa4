"""Keyed hashes: how Partnerlens names a person in anything it keeps about an erasure or shares with partners.

A plain SHA-256 of an email is reversed by hashing a list of candidate emails; an HMAC-SHA256 under a secret key is
not, as long as the key stays secret. The key comes from the environment variable ``PARTNERLENS_HMAC_KEY``; without
it the documented demo key :data:`DEMO_KEY` is used (fine for generated demo data, never for real customers).

What is hashed, always as the normalised text of the identifier:

- a customer id or an anonymous id: the id itself (``customer_id:<id>``, ``anonymous_id:<id>``);
- an email: the SHA-256 hex of the trimmed, lower-cased email (``email_sha256:<hex>``), so that a raw email and the
  hash a partner delivers for it give the same keyed hash.

:func:`keyed_hash` hashes one value in Python; :func:`register` adds the same function to a DuckDB connection as
``partnerlens_keyed_hash(kind, value)`` (and ``partnerlens_keyed_hashes``: under every honoured key), a vectorised
(Arrow) function that hashes a whole column at a time, so SQL can compare delivered values with tombstones set-based.
DuckDB has no HMAC of its own; PostgreSQL's pgcrypto has ``hmac(value, key, 'sha256')``, which gives the same hex
digests.

Rotation (README, Privacy): a keyed hash cannot be recomputed under a new key without the value, which Partnerlens
does not keep. So the old key moves to ``PARTNERLENS_HMAC_PREVIOUS_KEYS`` (comma-separated, newest first) when
``PARTNERLENS_HMAC_KEY`` gets a new one: new tombstones and records use the new key, and the loader matches delivered
values against tombstones under every key listed (``partnerlens_keyed_hashes``). Shared outputs are rebuilt under
the new key by the next full build.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os

import duckdb
import pyarrow as pa

KEY_VARIABLE = "PARTNERLENS_HMAC_KEY"
PREVIOUS_KEYS_VARIABLE = "PARTNERLENS_HMAC_PREVIOUS_KEYS"
#: The demo key, used only when PARTNERLENS_HMAC_KEY is not set: it is public, so it protects nothing real.
DEMO_KEY = "partnerlens-demo-key-not-secret"
#: The kinds of identifier a keyed hash can name.
KINDS = ("customer_id", "email_sha256", "anonymous_id")
SQL_FUNCTION = "partnerlens_keyed_hash"
SQL_ALL_KEYS_FUNCTION = "partnerlens_keyed_hashes"


def current_key() -> bytes:
    """The HMAC key: PARTNERLENS_HMAC_KEY, or the demo key when it is unset or empty."""
    return (os.environ.get(KEY_VARIABLE) or DEMO_KEY).encode()


def all_keys() -> list[bytes]:
    """The current key, then every previous key still honoured (PARTNERLENS_HMAC_PREVIOUS_KEYS)."""
    previous = [k.strip().encode() for k in os.environ.get(PREVIOUS_KEYS_VARIABLE, "").split(",") if k.strip()]
    return [current_key(), *previous]


def email_sha256(email: str) -> str:
    """SHA-256 hex of the normalised email (trimmed, lower-cased): what staging computes (macro hash_email)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def keyed_hash(kind: str, value: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 hex of ``<kind>:<value>`` under ``key`` (default: :func:`current_key`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}: expected one of {', '.join(KINDS)}")
    return hmac.new(key or current_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def register(con: duckdb.DuckDBPyConnection, key: bytes | None = None) -> None:
    """Add ``partnerlens_keyed_hash(kind VARCHAR, value VARCHAR) -> VARCHAR`` to ``con`` (NULL value: NULL).

    Arrow-vectorised: DuckDB hands it whole vectors of rows, never one row at a time.
    """
    secret = key or current_key()

    def _hash(kinds: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.Array:
        return pa.array(
            [
                None if v is None else hmac.new(secret, f"{k}:{v}".encode(), hashlib.sha256).hexdigest()
                for k, v in zip(kinds.to_pylist(), values.to_pylist(), strict=True)
            ],
            type=pa.string(),
        )

    keys = all_keys() if key is None else [key]

    def _hashes(kinds: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.Array:
        return pa.array(
            [
                None if v is None else [hmac.new(k_, f"{k}:{v}".encode(), hashlib.sha256).hexdigest() for k_ in keys]
                for k, v in zip(kinds.to_pylist(), values.to_pylist(), strict=True)
            ],
            type=pa.list_(pa.string()),
        )

    con.execute("SELECT 1").fetchall()  # a function is added only when no result is pending
    unregister(con)
    con.create_function(SQL_FUNCTION, _hash, ["VARCHAR", "VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
    con.create_function(
        SQL_ALL_KEYS_FUNCTION, _hashes, ["VARCHAR", "VARCHAR"], "VARCHAR[]", type="arrow", side_effects=False
    )


def unregister(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the functions again (before the connection is closed)."""
    for name in (SQL_FUNCTION, SQL_ALL_KEYS_FUNCTION):
        with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
            con.remove_function(name)
