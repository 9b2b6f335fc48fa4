"""What personal data looks like in a column that must not carry any: as SQL, for the loader and for gate 2.

An identifier (``anonymous_id``), a UTM parameter or a referral code is a code, never a person. Three shapes give a
person away; each is judged on the whole (trimmed) value:

- **an email address**: ``local@domain.tld`` (:data:`EMAIL_PATTERN`);
- **a phone number**: ``+`` and 8 to 15 digits, with or without spaces, dots, hyphens and parentheses (E.164 and how
  it is written: ``+442079460958``, ``+44 20 7946 0958``, ``+1 (555) 123-4567``), or 9 to 15 digits in groups with
  separators (national formats: ``(555) 123-4567``, ``020 7946 0958``, ``06 12 34 56 78``, ``555.123.4567``). Digits
  alone are not judged (numeric ids are common), nor are dates (at most 8 digits) or dotted IP addresses;
- **a person's name**: two or three words of letters (``Jane Doe``, ``maria garcia``, ``Doe, Jane``, ``John A.
  Smith``, ``Mary-Ann O'Neil``) of which one is a common given name (:data:`GIVEN_NAMES`, ``given_names.txt``). A
  single word is not judged, and neither is a slug (``webinar_c0001``, ``northwind-analytics``).

Examples shown in messages are masked: digits become ``#``, words their initial and ``***``, the local part of an
email its first character and ``***``.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.warehouse.sql import lit

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_INTERNATIONAL = r"(tel:)?\+[0-9][0-9 ().\-]{5,24}[0-9]"
PHONE_NATIONAL = r"(tel:)?\(?[0-9]{2,5}\)?([ .\-/][0-9]{1,5}){1,5}"
DOTTED_QUAD = r"[0-9]{1,3}(\.[0-9]{1,3}){3}"
_WORD = r"\pL[\pL'’\-]*\.?"
PERSON_NAME_SHAPE = rf"{_WORD}(,? {_WORD}){{1,2}}"
_NAME_SEPARATORS = r"[ ,.'’\-]+"
GIVEN_NAMES_FILE = Path(__file__).with_name("given_names.txt")
GIVEN_NAMES: tuple[str, ...] = tuple(
    line.strip()
    for line in GIVEN_NAMES_FILE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
#: What each shape is called in messages (``... looks like a phone number``).
SHAPES = {"email": "an email address", "phone": "a phone number", "person_name": "a person's name"}


def _digits(value: str) -> str:
    return f"length(regexp_replace({value}, '[^0-9]', '', 'g'))"


def email_sql(value: str) -> str:
    """SQL: the value (an expression) holds an email address."""
    return f"CASE WHEN contains({value}, '@') THEN regexp_matches({value}, {lit(EMAIL_PATTERN)}) ELSE FALSE END"


# The shapes are cheap regular expressions; the costly parts (counting digits, looking words up) run only on the rare
# values of that shape: CASE evaluates a branch for the rows that reach it, where AND may evaluate both sides.


def phone_sql(value: str) -> str:
    """SQL: the whole value is written like a phone number."""
    return (
        f"CASE WHEN regexp_full_match({value}, {lit(PHONE_INTERNATIONAL)}) THEN {_digits(value)} BETWEEN 8 AND 15"
        f" WHEN regexp_full_match({value}, {lit(PHONE_NATIONAL)})"
        f" THEN {_digits(value)} BETWEEN 9 AND 15 AND NOT regexp_full_match({value}, {lit(DOTTED_QUAD)})"
        " ELSE FALSE END"
    )


def person_name_sql(value: str) -> str:
    """SQL: the whole value is two or three words of letters, one of them a common given name."""
    names = "[" + ", ".join(lit(n) for n in GIVEN_NAMES) + "]"
    words = f"regexp_split_to_array(lower({value}), {lit(_NAME_SEPARATORS)})"
    return (
        f"CASE WHEN contains({value}, ' ') AND regexp_full_match({value}, {lit(PERSON_NAME_SHAPE)})"
        f" THEN list_has_any({words}, {names}) ELSE FALSE END"
    )


SHAPE_SQL = {"email": email_sql, "phone": phone_sql, "person_name": person_name_sql}


def masked_sql(value: str) -> str:
    """SQL: the value with its personal part masked (email local parts, digits, words after their initial)."""
    email = f"regexp_replace({value}, '([A-Za-z0-9])[A-Za-z0-9._%+-]*@', '\\1***@', 'g')"
    return (
        f"CASE WHEN contains({value}, '@') THEN {email}"
        f" ELSE regexp_replace(regexp_replace({value}, '[0-9]', '#', 'g'), '(\\pL)\\pL[\\pL''’\\-]*', '\\1***', 'g')"
        " END"
    )
