"""The applications table: reading, validating and normalising the input contract.

``read_applications`` turns a CSV, Parquet or JSON Lines file into a :class:`Batch`: the clean,
normalised rows ready for the store and the quarantined rows with the reason each was refused.
Nothing is silently dropped: every input row ends up in exactly one of the two (exact duplicate
rows are folded into one and counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudrings.graph.schema import (
    CONTRACT_FIELDS,
    IDENTIFIER_FIELDS,
    REQUIRED_FIELDS,
    check_name,
)
from fraudrings.loaders.normalise import (
    normalise_email,
    normalise_phone,
    normalise_token,
    split_contacts,
)

#: Longest identifier or text value accepted; longer values are almost certainly garbage.
MAX_VALUE_LENGTH = 256
#: Lowest accepted application time (1990-01-01): older stamps are typos or epoch zeros.
MIN_EPOCH = 631152000

TEXT = "string[pyarrow]"
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}
LINK_FIELDS = ("applicant_id", "applied_at", *IDENTIFIER_FIELDS)


class ContractError(ValueError):
    """The file as a whole cannot be read against the contract (nothing was loaded)."""


@dataclass
class Batch:
    """Normalised applications plus the rows that were refused."""

    rows: pd.DataFrame  # one row per application, normalised (see ``normalise_frame``)
    quarantine: pd.DataFrame  # the raw input row, plus ``_line`` and ``_reason``
    duplicates: int = 0  # exact duplicate rows folded into one
    source: str = ""
    extra_columns: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.quarantine) + self.duplicates


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON Lines file as strings (types are checked by the contract)."""
    path = Path(path)
    if not path.exists():
        raise ContractError(f"no such file: {path}")
    if path.is_dir():
        raise ContractError(f"{path} is a directory, not an applications file")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
        elif suffix.endswith((".jsonl", ".ndjson", ".json")):
            frame = pd.read_json(path, lines=True, dtype=False)
        elif suffix.endswith((".csv", ".csv.gz", ".txt")):
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8"
            )
        else:
            raise ContractError(
                f"{path.name}: unknown file type (expected .csv, .parquet or .jsonl)"
            )
    except ContractError:
        raise
    except Exception as exc:  # pandas and pyarrow raise many kinds; the user needs one line
        raise ContractError(f"cannot read {path.name}: {exc}") from None
    return frame


def to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as a stripped string, absent as ''. Typed inputs (Parquet) become text too.

    Text stays Arrow-backed so that the normalisers run as C++ kernels."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object and column == "contact_phones":
            # JSON Lines may give a list of contacts
            out[column] = series.where(series.notna(), "").map(_cell_text).astype(TEXT)
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            out[column] = series.astype(TEXT).fillna("").str.strip()
        elif pd.api.types.is_datetime64_any_dtype(series):
            text = series.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
            out[column] = text.where(series.notna(), "").astype(TEXT)
        elif pd.api.types.is_float_dtype(series):
            as_int = series.dropna()
            if len(as_int) and (as_int == as_int.round()).all():
                text = series.astype("Int64").astype(str)
            else:
                text = series.astype(str)
            out[column] = text.where(series.notna(), "").astype(TEXT)
        else:
            out[column] = series.astype(str).where(series.notna(), "").astype(TEXT)
    return pd.DataFrame(out, index=frame.index)


def _cell_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (list, tuple, np.ndarray)):  # JSON lists of contact phones
        return ";".join(str(v).strip() for v in value)
    return str(value).strip()


def _hash(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """A stable 64-bit content hash per row: the fields joined in Arrow, then pandas' keyed
    hash (both vectorised), written as 16 hex digits."""
    arrays = []
    for column in columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            array = pa.array(values, type=pa.string(), from_pandas=True)
        else:
            array = pa.array(values, from_pandas=True).cast(pa.string())
        arrays.append(pc.fill_null(array, ""))
    joined = pc.binary_join_element_wise(*arrays, "\x1f")
    # categorize=False: the same values without factorising a million distinct strings first
    hashed = pd.util.hash_array(np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object),
                                categorize=False)
    return pd.Series(_hex16(hashed), index=frame.index)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex16(values: np.ndarray) -> np.ndarray:
    """uint64 -> '%016x' strings, vectorised (a Python format call per row cost seconds)."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    digits = _HEX[(values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)]
    return digits.view("S16").ravel().astype(str).astype(object)


#: Text json.dumps writes unchanged between quotes (printable ASCII without " and \\).
_JSON_PLAIN = r'^[ !#-\[\]-~]*$'


def extra_json(text: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, ``json.dumps`` of its non-empty extra columns with sorted keys — vectorised:
    a row-wise ``apply`` took a minute per 200k rows. Values that need JSON escaping (quotes,
    backslashes, control or non-ASCII characters: rare) go through ``json.dumps`` itself."""
    if not columns:
        return pd.Series("{}", index=text.index, dtype=object)
    pieces = []
    for column in sorted(columns):  # names are checked identifiers: no escaping needed
        values = pa.array(text[column], type=pa.string(), from_pandas=True)
        plain = pc.match_substring_regex(values, _JSON_PLAIN)
        quoted = pc.binary_join_element_wise(f'"{column}": "', values, '", ', "")
        odd = np.flatnonzero(~np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool))
        if len(odd):
            escaped = quoted.to_numpy(zero_copy_only=False).astype(object)
            raw_values = values.to_numpy(zero_copy_only=False)
            escaped[odd] = [f'"{column}": {json.dumps(raw_values[i])}, ' for i in odd]
            quoted = pa.array(escaped, type=pa.string())
        pieces.append(pc.if_else(pc.equal(values, ""), "", quoted))
    # each piece ends '", ' (a value is quoted), so trimming ", " removes only the last comma
    # (the kernel's null_handling="skip" dropped rows in pyarrow 26)
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*pieces, ""), characters=", ")
    joined = pc.binary_join_element_wise("{", body, "}", "")
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=text.index, dtype=object)


def read_applications(
    path: str | Path, *, phone_country: str = "7", phone_trunk: str = "8"
) -> Batch:
    """Read one applications file against the contract."""
    raw = read_table(path)
    return validate(raw, source=str(path), phone_country=phone_country, phone_trunk=phone_trunk)


def validate(
    raw: pd.DataFrame,
    *,
    source: str = "",
    phone_country: str = "7",
    phone_trunk: str = "8",
) -> Batch:
    """Validate and normalise a raw table; see the module docstring."""
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in REQUIRED_FIELDS if c not in raw.columns]
    if missing:
        raise ContractError(
            f"{Path(source).name or 'input'}: missing required column(s) {', '.join(missing)}"
            f"; found {', '.join(map(str, raw.columns[:12])) or 'no columns'}"
        )
    text = to_text(raw)
    text.insert(0, "_line", np.arange(2, len(text) + 2))  # file line, header is line 1
    for column in CONTRACT_FIELDS:
        if column not in text.columns:
            text[column] = ""
    extra_columns = [c for c in raw.columns if c not in CONTRACT_FIELDS]
    for column in extra_columns:
        try:
            check_name(column)
        except ValueError:
            raise ContractError(
                f"column name {column!r} is not a valid property name "
                "(letters, digits and _; not starting with a digit)"
            ) from None

    reasons = pd.Series("", index=text.index, dtype=object)

    def refuse(mask: pd.Series, reason: str) -> None:
        mask = mask & (reasons == "")
        reasons[mask] = reason

    for column in REQUIRED_FIELDS:
        refuse(text[column] == "", f"missing required field: {column}")
    for column in CONTRACT_FIELDS:
        refuse(text[column].str.len() > MAX_VALUE_LENGTH, f"value too long: {column}")

    applied = pd.to_datetime(text["applied_at"], utc=True, errors="coerce", format="ISO8601")
    # refuse implausible years before any arithmetic (year 0827 overflows the epoch maths)
    too_old = applied.notna() & (applied.dt.year < 1990)
    # beyond pandas' nanosecond range (after 2262-04-11) the epoch maths below would raise for
    # the whole table: such a row is refused, as one application alone would be
    too_far = applied.notna() & (applied > pd.Timestamp.max.tz_localize("UTC"))
    applied = applied.where(~too_old & ~too_far)
    # resolution-independent (pandas may hold s, ms, us or ns): seconds since the epoch
    epoch = ((applied - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).fillna(0)
    refuse(too_old, "implausible time: applied_at before 1990")
    refuse((applied.isna() & (text["applied_at"] != "")) | too_far,
           "unparseable time: applied_at")
    refuse((epoch < MIN_EPOCH) & applied.notna(), "implausible time: applied_at before 1990")

    amount = pd.to_numeric(text["amount"].where(text["amount"] != ""), errors="coerce")
    refuse(amount.isna() & (text["amount"] != ""), "wrong type: amount is not a number")
    refuse(amount < 0, "wrong value: amount is negative")
    term = pd.to_numeric(text["term_months"].where(text["term_months"] != ""), errors="coerce")
    refuse(
        (term.isna() & (text["term_months"] != ""))
        | (term.notna() & ((term != term.round()) | ~(term.abs() < 2**63))),  # inf, 1e300
        "wrong type: term_months is not a whole number",
    )
    refuse(term < 0, "wrong value: term_months is negative")
    outcomes = {}
    for column in ("is_fraud", "fpd"):
        lowered = text[column].str.lower()
        known = lowered.isin(_TRUE | _FALSE)
        refuse((lowered != "") & ~known, f"wrong type: {column} must be 1, 0 or empty")
        flag = pd.Series(pd.NA, index=text.index, dtype="Int64")
        flag[lowered.isin(_TRUE)] = 1
        flag[lowered.isin(_FALSE)] = 0
        outcomes[column] = flag

    rows = pd.DataFrame(
        {
            "application_id": text["application_id"],
            "applicant_id": text["applicant_id"],
            "applied_at": epoch.astype("int64"),
            "amount": amount.astype("float64"),
            "term_months": term.where(term == term.round()).astype("Int64"),
            "product": text["product"].str.lower().replace("", None),
            "is_fraud": outcomes["is_fraud"],
            "fpd": outcomes["fpd"],
            "phone": normalise_phone(text["phone"], phone_country, phone_trunk),
            "contact_phones": split_contacts(text["contact_phones"], phone_country, phone_trunk),
            "email": normalise_email(text["email"]),
            **{
                f: normalise_token(text[f])
                for f in ("device_id", "merchant_id", "agent_id", "ip", "address", "bank_account")
            },
        },
        index=text.index,
    )
    rows["extra"] = extra_json(text, extra_columns)
    keyed = rows.assign(contact_phones=pc.binary_join(
        pa.array(rows["contact_phones"], type=pa.list_(pa.string())), ";").to_pandas())
    rows["link_hash"] = _hash(keyed, LINK_FIELDS)
    rows["content_hash"] = _hash(keyed, (*CONTRACT_FIELDS, "extra"))

    # Duplicate ids: identical rows fold into one; differing rows all go to quarantine, since
    # choosing one of them would be a silent guess.
    ok = reasons == ""
    dup_ids = rows["application_id"].where(ok)
    dup_mask = dup_ids.duplicated(keep=False) & ok
    duplicates = 0
    if dup_mask.any():
        groups = rows[dup_mask].groupby("application_id")["content_hash"].nunique()
        conflicting = set(groups[groups > 1].index)
        refuse(
            rows["application_id"].isin(conflicting) & ok,
            "duplicate application_id with different content",
        )
        same = dup_mask & ~rows["application_id"].isin(conflicting)
        extra_copies = same & rows["application_id"].duplicated(keep="first")
        duplicates = int(extra_copies.sum())
        reasons[extra_copies] = "\x00dup"  # folded, neither loaded nor quarantined

    bad = (reasons != "") & (reasons != "\x00dup")
    quarantine = raw.loc[bad].copy()
    quarantine.insert(0, "_line", text.loc[bad, "_line"])
    quarantine.insert(1, "_reason", reasons[bad])
    good = rows.loc[reasons == ""].reset_index(drop=True)
    return Batch(
        rows=good,
        quarantine=quarantine.reset_index(drop=True),
        duplicates=duplicates,
        source=source,
        extra_columns=extra_columns,
    )


def write_quarantine(batch: Batch, path: str | Path) -> Path | None:
    """Write the refused rows with their reasons; remove a stale file when nothing was refused."""
    path = Path(path)
    if batch.quarantine.empty:
        if path.exists():
            path.unlink()
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    batch.quarantine.to_csv(path, index=False)
    return path
