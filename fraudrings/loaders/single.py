"""One application against the input contract, in plain Python (the HTTP API's path).

:func:`fraudrings.loaders.contract.validate` is vectorised for files: one row costs ~185 ms of
fixed pandas / pyarrow overhead. :func:`validate_one` gives exactly what ``validate`` gives for a
one-row table — the same refusal reason (first rule that fails, in the same order), the same
normalised values and the same content and link hashes — in well under a millisecond.

Exactness: the common case (ASCII text, ``YYYY-MM-DDTHH:MM:SS`` times, whole-number amounts) is
plain Python that mirrors the Arrow kernels (RE2's ``\\s`` is ``[\\t\\n\\f\\r ]``, ``\\D`` is
anything but ``[0-9]``; Arrow's whitespace trim is Python's ``str.strip``). Anything else —
non-ASCII case folding, other time forms, decimal numbers, float formatting — is handed to the
very pandas / pyarrow call ``validate`` makes, on that one value. ``tests/loaders/test_single.py``
runs both over generated books and every kind of bad row and requires identical results.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudrings.graph.schema import CONTRACT_FIELDS, REQUIRED_FIELDS, check_name
from fraudrings.loaders.contract import (
    _FALSE,
    _TRUE,
    LINK_FIELDS,
    MAX_VALUE_LENGTH,
    MIN_EPOCH,
    TEXT,
    ContractError,
    _cell_text,
)

_TOKENS = ("device_id", "merchant_id", "agent_id", "ip", "address", "bank_account")
_RE2_SPACE = "\t\n\f\r "  # RE2's \s (no \v), what the normalisers' regexes match
_SPACES = re.compile(r"[\t\n\f\r ]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_PLAIN_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})")
_PLAIN_INT = re.compile(r"[0-9]{1,15}")  # exact as a float, however it is parsed
_TOO_OLD = "implausible time: applied_at before 1990"
_LAST_YEAR = 2262  # pandas' nanosecond range ends in April 2262 ...
_LAST_TIME = pd.Timestamp.max.tz_localize("UTC")  # ... here
_HASH_SEPARATOR = "\x1f"


class RowRefused(ValueError):
    """The contract refuses the row: ``reason`` is the quarantine reason ``validate`` gives,
    ``field`` the column it names."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


def validate_one(
    row: Mapping[str, Any],
    *,
    source: str = "",
    phone_country: str = "7",
    phone_trunk: str = "8",
) -> dict[str, Any]:
    """The normalised row (plain Python values, ``None`` = absent), or :class:`RowRefused`;
    :class:`ContractError` where ``validate`` would refuse the whole table.

    Cells are text as a file gives them ('' or None = absent); ``contact_phones`` may also be a
    list. Other values are read as ``str(value)``, as pandas reads an object column.
    """
    text = _texts(row, source)
    for column in REQUIRED_FIELDS:
        if text[column] == "":
            raise RowRefused(f"missing required field: {column}", column)
    for column in CONTRACT_FIELDS:
        if len(text[column]) > MAX_VALUE_LENGTH:
            raise RowRefused(f"value too long: {column}", column)
    applied_at = _epoch(text["applied_at"])
    amount = _number(text["amount"])
    if amount is not None and np.isnan(amount):
        raise RowRefused("wrong type: amount is not a number", "amount")
    if amount is not None and amount < 0:
        raise RowRefused("wrong value: amount is negative", "amount")
    term = _number(text["term_months"])
    # beyond INT64 (inf, 1e300) is no whole number either
    if term is not None and (not abs(term) < 2**63 or term != round(term)):
        raise RowRefused("wrong type: term_months is not a whole number", "term_months")
    if term is not None and term < 0:
        raise RowRefused("wrong value: term_months is negative", "term_months")
    outcomes: dict[str, int | None] = {}
    for column in ("is_fraud", "fpd"):
        lowered = _lower(text[column])
        if lowered != "" and lowered not in _TRUE | _FALSE:
            raise RowRefused(f"wrong type: {column} must be 1, 0 or empty", column)
        outcomes[column] = 1 if lowered in _TRUE else 0 if lowered in _FALSE else None

    out: dict[str, Any] = {
        "application_id": text["application_id"],
        "applicant_id": text["applicant_id"],
        "applied_at": applied_at,
        "amount": amount,
        "term_months": int(term) if term is not None else None,
        "product": _lower(text["product"]) or None,
        **outcomes,
        "phone": phone(text["phone"], phone_country, phone_trunk) or None,
        "contact_phones": contacts(text["contact_phones"], phone_country, phone_trunk),
        "email": email(text["email"]) or None,
        **{f: token(text[f]) or None for f in _TOKENS},
    }
    extra = {k: v for k, v in text.items() if k not in CONTRACT_FIELDS and v != ""}
    out["extra"] = json.dumps(extra, sort_keys=True)
    cells = {k: _hash_text(k, out[k]) for k in (*CONTRACT_FIELDS, "extra")}
    link, content = pd.util.hash_array(np.array([
        _HASH_SEPARATOR.join(cells[k] for k in LINK_FIELDS),
        _HASH_SEPARATOR.join(cells[k] for k in (*CONTRACT_FIELDS, "extra")),
    ], dtype=object), categorize=False)  # what validate's hash gives (it factorises first)
    out["link_hash"], out["content_hash"] = f"{link:016x}", f"{content:016x}"
    return out


def _texts(row: Mapping[str, Any], source: str) -> dict[str, str]:
    """Every contract field and extra column as stripped text ('' = absent), as ``to_text``."""
    text: dict[str, str] = {}
    for key, value in row.items():
        name = str(key).strip()
        if name in text:
            raise ContractError(f"column {name!r} is given twice")
        if value is None or (isinstance(value, float) and np.isnan(value)):
            text[name] = ""
        elif name == "contact_phones" and isinstance(value, (list, tuple)):
            text[name] = _cell_text(value)
        else:
            text[name] = str(value).strip()
    missing = [c for c in REQUIRED_FIELDS if c not in text]
    if missing:
        raise ContractError(
            f"{Path(source).name or 'input'}: missing required column(s) {', '.join(missing)}"
            f"; found {', '.join(list(text)[:12]) or 'no columns'}")
    if "_line" in text:  # validate's own bookkeeping column
        raise ContractError("column name '_line' is reserved")
    for name in text:
        if name not in CONTRACT_FIELDS:
            try:
                check_name(name)
            except ValueError:
                raise ContractError(
                    f"column name {name!r} is not a valid property name "
                    "(letters, digits and _; not starting with a digit)") from None
    for column in CONTRACT_FIELDS:
        text.setdefault(column, "")
    return text


def _epoch(value: str) -> int:
    """Epoch seconds (UTC) of ``applied_at``, refusing what validate refuses."""
    match = _PLAIN_TIME.fullmatch(value)
    if match:  # the common form: naive = UTC
        try:
            parsed = datetime(*map(int, match.groups()))  # type: ignore[arg-type]
        except ValueError:
            parsed = None
        if parsed is not None and 1990 <= parsed.year < _LAST_YEAR:
            return calendar.timegm(parsed.timetuple())
    # anything else: validate's own calls on this one value
    applied = pd.to_datetime(pd.Series([value], dtype=TEXT), utc=True, errors="coerce",
                             format="ISO8601")
    if applied.notna().iloc[0] and applied.dt.year.iloc[0] < 1990:
        raise RowRefused(_TOO_OLD, "applied_at")
    if applied.isna().iloc[0] or applied.iloc[0] > _LAST_TIME:  # no epoch maths past it
        raise RowRefused("unparseable time: applied_at", "applied_at")
    epoch = int((applied - pd.Timestamp(0, tz="UTC")).iloc[0] // pd.Timedelta(seconds=1))
    if epoch < MIN_EPOCH:
        raise RowRefused(_TOO_OLD, "applied_at")
    return epoch


def _number(value: str) -> float | None:
    """None when absent, NaN when not a number (validate's ``to_numeric(errors="coerce")``)."""
    if value == "":
        return None
    if _PLAIN_INT.fullmatch(value):
        return float(int(value))
    parsed = pd.to_numeric(pd.Series([value], dtype=TEXT), errors="coerce")
    return float(parsed.astype("float64").iloc[0])


def _lower(value: str) -> str:
    """Arrow's ``utf8_lower`` (per code point; Python's ``lower`` differs outside ASCII)."""
    if value.isascii():
        return value.lower()
    return str(pc.utf8_lower(pa.scalar(value, pa.string())).as_py())


def token(value: str) -> str:
    """``normalise_token``: inner whitespace collapsed, trimmed."""
    return _SPACES.sub(" ", value).strip()


def email(value: str) -> str:
    """``normalise_email``: no whitespace, lower case."""
    return _lower(_SPACES.sub("", value))


def phone(raw: str, country: str = "7", trunk: str = "8", national_digits: int = 10) -> str:
    """``phone_array`` for one phone ('' when it has no digits)."""
    lead = raw.lstrip(_RE2_SPACE)
    prefix = lead.startswith(("+", "00"))
    digits = _NOT_DIGIT.sub("", raw)
    if lead.startswith("00"):
        digits = digits[2:]
    if not digits:
        return ""
    trunk_form = not prefix and len(digits) == national_digits + 1 and digits.startswith(trunk)
    bare = not prefix and len(digits) == national_digits
    if trunk_form:
        return f"+{country}{digits[1:]}"
    return f"+{country}{digits}" if bare else f"+{digits}"


def contacts(value: str, country: str = "7", trunk: str = "8") -> list[str]:
    """``split_contacts`` for one cell: distinct normalised phones, in order."""
    out: list[str] = []
    for part in value.split(";"):
        number = phone(part.strip(), country, trunk)
        if number and number not in out:
            out.append(number)
    return out


def _hash_text(column: str, value: Any) -> str:
    """A normalised value as ``contract._hash`` writes it before hashing."""
    if value is None:
        return ""
    if column == "contact_phones":
        return ";".join(value)
    if column == "amount":
        if 0 < abs(value) < 1e15 and value == int(value):
            return str(int(value))
        return str(pa.array([value], pa.float64()).cast(pa.string())[0].as_py())
    return str(value)
