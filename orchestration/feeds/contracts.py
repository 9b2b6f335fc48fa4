"""Feed contracts: what every landed file of a feed must look like.

One YAML file per feed lives in ``orchestration/feeds/contracts/`` (packaged with this module). Onboarding a new feed
means adding a contract; the loader (:mod:`orchestration.feeds.loader`) is generic and needs no code change.

Feed keys
---------
``feed``            name of the feed; also the name of the raw table ``raw.<feed>`` and of the landing folder
                    ``landing/<source>/<feed>/``. Must equal the YAML file's stem.
``description``     free text (optional).
``source_kind``     who may deliver the feed: ``internal`` (only ``landing/internal/``), ``partner`` (only partner
                    folders ``landing/<partner_id>/``) or ``any``.
``load_mode``       ``append``: event data (touchpoints, conversions, costs). A key may be loaded only once, ever: a
                    key already present in ``raw.<feed>`` is rejected as ``duplicate_key`` when the row is the same
                    in every column (a replay) and as ``conflicting_duplicate`` when it is not (the reason shows both
                    versions).
                    ``snapshot``: master data and deals that change (partners, agreements, campaigns, ...). Each
                    delivery is a full or partial snapshot; a key may reappear in a later file as a new version, so
                    the key is unique within one file only. Downstream models pick the latest version.
``key``             list of columns that identify a row (each must be a required column). Within one file the first
                    occurrence of a key wins; later ones are rejected as ``duplicate_key`` (the same row again) or
                    ``conflicting_duplicate`` (another version of it). Keys compare trimmed values (``' x '`` is
                    ``'x'``).
``require_one_of``  optional list of columns of which at least one must be non-null (rule ``require_one_of``).
``delivery``        optional ``{within_hours: <hours>, when_missing: fail | warn}``: the feed is expected every night.
                    Gate 1's ``delivery`` check on ``raw.<feed>`` fails the run (``fail``) or warns (``warn``) when no
                    file of the feed was loaded within the last ``within_hours`` hours, by this run or an earlier one
                    (so a re-run the same night passes, and a night without files, or a warehouse that never loaded
                    one, does not).
``columns``         list of column contracts (below), in the order they are validated and stored.

Column keys
-----------
``name``            column name (lower-case identifier, not starting with ``_``, which is reserved for lineage).
``type``            ``varchar``, ``integer`` (BIGINT), ``decimal`` (DECIMAL(18,4): at most 14 digits before the point,
                    a larger number is out of range), ``double``, ``date``, ``timestamptz`` (the value must carry an
                    offset or ``Z``, and the offset must exist: -12:00 to +14:00, whole hours or :15/:30/:45; at most
                    microsecond precision) or ``boolean``. Every value is trimmed of surrounding blanks first (see
                    :data:`orchestration.feeds.rules.BLANKS`); a JSON object or array, a JSON boolean outside a boolean
                    column and a Parquet list/struct/map are no values of any type.
``required``        the value must be present (empty and blank-only values count as missing). Default false.
``allowed``         list of allowed values (compared as text).
``pattern``         regular expression the value must match (RE2 syntax; anchor it with ``^...$``).
``min``/``max``     inclusive numeric bounds (numeric types only). Every money amount of the packaged contracts
                    has bounds the models' types carry: a value at a bound, converted to the reporting currency
                    and summed over thousands of rows, still fits the DECIMAL(18,4) of the marts.
``not_in_future``   the value must not lie after the load time (dates and timestamps only; see
                    :mod:`orchestration.feeds.rules` for the clock-skew allowance).
``after``           name of another column of the same type; this value must be >= that one when both are set.
``references``      ``<feed>.<column>``: the value must exist in ``raw.<feed>``; null is fine when not required.
``matches_source``  for partner-delivered files the value must equal the ``<source>`` folder name (not checked for
                    files under ``internal/``).
``pii``             the column holds personal data (hashed in staging, never published). Default false.
``no_personal_data`` the column must not carry personal data (identifiers, UTM parameters, codes): a value that looks
                    like an email address, a phone number or a person's name is rejected (rule ``personal_data``,
                    the example masked; see :mod:`orchestration.personal_data`). Varchar only. Default false.
``negative_when``   ``{column: value}``: when every listed column has the listed value, this value must be <= 0
                    (e.g. a refund's revenue) and, with a ``max``, at least ``-max``; otherwise ``min`` applies as
                    usual.
``description``     free text (optional).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

#: Contract type name -> DuckDB column type.
COLUMN_TYPES: dict[str, str] = {
    "varchar": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,4)",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamptz": "TIMESTAMPTZ",
    "boolean": "BOOLEAN",
}
NUMERIC_TYPES = frozenset({"integer", "decimal", "double"})
TEMPORAL_TYPES = frozenset({"date", "timestamptz"})
SOURCE_KINDS = ("internal", "partner", "any")
LOAD_MODES = ("append", "snapshot")
#: The ``<source>`` folder name of the host company's own systems.
INTERNAL_SOURCE = "internal"
#: Folder holding the packaged contracts.
DEFAULT_CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

FEED_KEYS = frozenset(
    {"feed", "description", "source_kind", "load_mode", "key", "require_one_of", "delivery", "columns"}
)
DELIVERY_KEYS = frozenset({"within_hours", "when_missing"})
#: What a missing delivery does: fail gate 1 (blocking) or warn.
WHEN_MISSING = ("fail", "warn")
COLUMN_KEYS = frozenset(
    {
        "name",
        "type",
        "required",
        "allowed",
        "pattern",
        "min",
        "max",
        "not_in_future",
        "after",
        "references",
        "matches_source",
        "pii",
        "no_personal_data",
        "negative_when",
        "description",
    }
)
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class ContractError(ValueError):
    """A feed contract YAML is invalid; the message names the file and the offending key."""


@dataclass(frozen=True)
class ColumnContract:
    """The contract of one column of a feed."""

    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    not_in_future: bool = False
    after: str | None = None
    references: str | None = None
    matches_source: bool = False
    pii: bool = False
    no_personal_data: bool = False
    negative_when: Mapping[str, str] = field(default_factory=dict, hash=False)
    description: str | None = None

    @property
    def duckdb_type(self) -> str:
        """The DuckDB type used for this column in ``raw.<feed>``."""
        return COLUMN_TYPES[self.type]

    @property
    def reference(self) -> tuple[str, str] | None:
        """``(feed, column)`` this column references, or None."""
        if self.references is None:
            return None
        feed, column = self.references.split(".", 1)
        return feed, column


@dataclass(frozen=True)
class DeliveryExpectation:
    """How often a file of the feed is expected (``delivery`` in the contract)."""

    within_hours: float
    when_missing: str  # fail | warn

    @property
    def blocking(self) -> bool:
        return self.when_missing == "fail"


@dataclass(frozen=True)
class FeedContract:
    """The contract of one feed: its columns, key, load mode and who may deliver it."""

    feed: str
    source_kind: str
    load_mode: str
    key: tuple[str, ...]
    columns: tuple[ColumnContract, ...]
    require_one_of: tuple[str, ...] = ()
    description: str = ""
    path: Path | None = None
    delivery: DeliveryExpectation | None = None

    @property
    def column_names(self) -> list[str]:
        """Contract column names in contract order."""
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnContract:
        """The contract of column ``name`` (KeyError if unknown)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"feed {self.feed} has no column {name!r}")

    @property
    def depends_on(self) -> set[str]:
        """Other feeds this feed references; load them first so references resolve."""
        return {c.reference[0] for c in self.columns if c.reference and c.reference[0] != self.feed}


def load_contracts(dir: Path | str | None = None) -> dict[str, FeedContract]:
    """Read and validate every ``*.yml``/``*.yaml`` contract in ``dir`` (default: the packaged contracts folder).

    Returns the contracts keyed by feed name, sorted by name. Raises :class:`ContractError` naming the file and key on
    unknown keys, unknown types, inconsistent rules or references to unknown feeds/columns.
    """
    folder = Path(dir) if dir is not None else DEFAULT_CONTRACTS_DIR
    if not folder.is_dir():
        raise ContractError(f"contracts folder {folder} does not exist")
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    contracts: dict[str, FeedContract] = {}
    for path in files:
        contract = parse_contract_file(path)
        if contract.feed in contracts:
            raise ContractError(f"{path.name}: feed {contract.feed!r} is defined twice")
        contracts[contract.feed] = contract
    _check_references(contracts)
    return dict(sorted(contracts.items()))


def load_order(contracts: Mapping[str, FeedContract]) -> list[str]:
    """Feed names ordered so that every feed comes after the feeds it references (ties by name)."""
    done: list[str] = []
    pending = dict(sorted(contracts.items()))
    while pending:
        ready = [name for name, c in pending.items() if not (c.depends_on & set(pending) - {name})]
        if not ready:
            raise ContractError(f"circular references between feeds: {', '.join(pending)}")
        for name in ready:
            done.append(name)
            del pending[name]
    return done


def parse_contract_file(path: Path) -> FeedContract:
    """Parse and validate one contract YAML file (references to other feeds are checked by load_contracts)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path.name}: not valid YAML: {exc}") from exc
    contract = parse_contract(data, where=path.name)
    if contract.feed != path.stem:
        raise ContractError(f"{path.name}: feed {contract.feed!r} must match the file name {path.stem!r}")
    return replace(contract, path=path)


def parse_contract(data: Any, where: str = "<contract>") -> FeedContract:
    """Validate a contract given as parsed YAML (a mapping) and build a :class:`FeedContract`."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{where}: a contract must be a mapping, got {type(data).__name__}")
    _no_unknown_keys(data, FEED_KEYS, where)
    for required in ("feed", "source_kind", "load_mode", "key", "columns"):
        if required not in data:
            raise ContractError(f"{where}: missing key {required!r}")
    feed = _identifier(data["feed"], f"{where}: feed")
    where = f"{where} (feed {feed})"
    source_kind = _choice(data["source_kind"], SOURCE_KINDS, f"{where}: source_kind")
    load_mode = _choice(data["load_mode"], LOAD_MODES, f"{where}: load_mode")
    description = " ".join((_optional_str(data.get("description"), f"{where}: description") or "").split())

    raw_columns = data["columns"]
    if not isinstance(raw_columns, list) or not raw_columns:
        raise ContractError(f"{where}: columns must be a non-empty list")
    columns = tuple(_parse_column(item, i, where) for i, item in enumerate(raw_columns, start=1))
    names = [c.name for c in columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContractError(f"{where}: duplicate column(s) {', '.join(dupes)}")
    by_name = {c.name: c for c in columns}

    key = tuple(_column_list(data["key"], by_name, f"{where}: key"))
    if not key:
        raise ContractError(f"{where}: key must list at least one column")
    for name in key:
        if not by_name[name].required:
            raise ContractError(f"{where}: key column {name!r} must be required")
    require_one_of = tuple(_column_list(data.get("require_one_of", []), by_name, f"{where}: require_one_of"))
    for col in columns:
        _check_column_against_feed(col, by_name, f"{where}: column {col.name}")
    return FeedContract(
        feed=feed,
        source_kind=source_kind,
        load_mode=load_mode,
        key=key,
        columns=columns,
        require_one_of=require_one_of,
        description=description,
        delivery=_delivery(data.get("delivery"), f"{where}: delivery"),
    )


def _delivery(value: Any, where: str) -> DeliveryExpectation | None:
    """Validate ``delivery: {within_hours, when_missing}``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ContractError(f"{where}: must be a mapping {{within_hours: <hours>, when_missing: fail | warn}}")
    _no_unknown_keys(value, DELIVERY_KEYS, where)
    hours = value.get("within_hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
        raise ContractError(f"{where}: within_hours must be a positive number of hours, got {hours!r}")
    return DeliveryExpectation(float(hours), _choice(value.get("when_missing"), WHEN_MISSING, f"{where}: when_missing"))


def _parse_column(item: Any, position: int, where: str) -> ColumnContract:
    """Validate one entry of ``columns`` (rules that need the other columns are checked afterwards)."""
    if not isinstance(item, Mapping):
        raise ContractError(f"{where}: columns[{position}] must be a mapping")
    label = f"{where}: column {item.get('name', f'#{position}')}"
    _no_unknown_keys(item, COLUMN_KEYS, label)
    if "name" not in item or "type" not in item:
        raise ContractError(f"{label}: 'name' and 'type' are required")
    name = _identifier(item["name"], f"{label}: name")
    ctype = _choice(item["type"], tuple(COLUMN_TYPES), f"{label}: type")
    allowed = item.get("allowed")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise ContractError(f"{label}: allowed must be a non-empty list")
        for value in allowed:
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise ContractError(f"{label}: allowed value {value!r} must be a string (quote it in YAML)")
        allowed = tuple(str(v) for v in allowed)
    pattern = _optional_str(item.get("pattern"), f"{label}: pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ContractError(f"{label}: pattern {pattern!r} is not a valid regular expression: {exc}") from exc
        if re.search(r"\(\?<?[=!]|\\[1-9]", pattern):
            raise ContractError(
                f"{label}: pattern {pattern!r} uses lookaround or backreferences, which DuckDB's RE2 engine lacks"
            )
    bounds = {k: item.get(k) for k in ("min", "max")}
    for bound, value in bounds.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(f"{label}: {bound} must be a number, got {value!r}")
        if ctype not in NUMERIC_TYPES:
            raise ContractError(f"{label}: {bound} applies to numeric columns only, not {ctype}")
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise ContractError(f"{label}: min {bounds['min']} is greater than max {bounds['max']}")
    not_in_future = _bool(item.get("not_in_future", False), f"{label}: not_in_future")
    if not_in_future and ctype not in TEMPORAL_TYPES:
        raise ContractError(f"{label}: not_in_future applies to date/timestamptz columns only, not {ctype}")
    references = _optional_str(item.get("references"), f"{label}: references")
    if references is not None and not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", references):
        raise ContractError(f"{label}: references must look like '<feed>.<column>', got {references!r}")
    matches_source = _bool(item.get("matches_source", False), f"{label}: matches_source")
    if matches_source and ctype != "varchar":
        raise ContractError(f"{label}: matches_source applies to varchar columns only")
    no_personal_data = _bool(item.get("no_personal_data", False), f"{label}: no_personal_data")
    if no_personal_data and ctype != "varchar":
        raise ContractError(f"{label}: no_personal_data applies to varchar columns only")
    negative_when = item.get("negative_when") or {}
    if not isinstance(negative_when, Mapping):
        raise ContractError(f"{label}: negative_when must be a mapping {{column: value}}")
    if negative_when and ctype not in NUMERIC_TYPES:
        raise ContractError(f"{label}: negative_when applies to numeric columns only")
    for other, value in negative_when.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ContractError(f"{label}: negative_when value for {other!r} must be a string")
    return ColumnContract(
        name=name,
        type=ctype,
        required=_bool(item.get("required", False), f"{label}: required"),
        allowed=allowed,
        pattern=pattern,
        min=bounds["min"],
        max=bounds["max"],
        not_in_future=not_in_future,
        after=_optional_str(item.get("after"), f"{label}: after"),
        references=references,
        matches_source=matches_source,
        pii=_bool(item.get("pii", False), f"{label}: pii"),
        no_personal_data=no_personal_data,
        negative_when={str(k): str(v) for k, v in negative_when.items()},
        description=_optional_str(item.get("description"), f"{label}: description"),
    )


def _check_column_against_feed(col: ColumnContract, by_name: Mapping[str, ColumnContract], label: str) -> None:
    """Rules of one column that name other columns of the same feed."""
    if col.after is not None:
        other = by_name.get(col.after)
        if other is None:
            raise ContractError(f"{label}: after names unknown column {col.after!r}")
        if other.name == col.name or other.type != col.type or col.type not in TEMPORAL_TYPES:
            raise ContractError(f"{label}: after needs another {col.type} column of the same type (date/timestamptz)")
    for other in col.negative_when:
        if other not in by_name or other == col.name:
            raise ContractError(f"{label}: negative_when names unknown column {other!r}")


def _check_references(contracts: Mapping[str, FeedContract]) -> None:
    """Every ``references`` must name an existing feed and column of the same type."""
    for contract in contracts.values():
        for col in contract.columns:
            if col.reference is None:
                continue
            feed, column = col.reference
            where = f"{contract.path.name if contract.path else contract.feed}: column {col.name}"
            if feed not in contracts:
                raise ContractError(f"{where}: references unknown feed {feed!r}")
            try:
                target = contracts[feed].column(column)
            except KeyError:
                raise ContractError(f"{where}: references unknown column {column!r} of feed {feed!r}") from None
            if target.type != col.type:
                raise ContractError(f"{where}: references {col.references} of type {target.type}, not {col.type}")
    load_order(contracts)


def _no_unknown_keys(data: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ContractError(f"{where}: {value!r} is not a lower-case identifier like 'partner_id'")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ContractError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ContractError(f"{where}: must be true or false, got {value!r}")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ContractError(f"{where}: must be a string, got {value!r}")
    return value


def _column_list(value: Any, by_name: Mapping[str, ColumnContract], where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContractError(f"{where}: must be a list of column names")
    unknown = [v for v in value if v not in by_name]
    if unknown:
        raise ContractError(f"{where}: unknown column(s) {', '.join(unknown)}")
    if len(set(value)) != len(value):
        raise ContractError(f"{where}: lists a column twice")
    return list(value)
