"""Identifier normalisation, vectorised: the same phone or e-mail written two ways must link.

All functions take a pandas Series of stripped strings ('' = absent) and return a Series with
``None`` for absent values, so the store never sees an empty identifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def normalise_token(values: pd.Series) -> pd.Series:
    """Device ids, IPs, addresses, accounts: trimmed, inner whitespace collapsed."""
    out = values.str.replace(r"\s+", " ", regex=True).str.strip()
    return out.where(out != "", None)


def normalise_email(values: pd.Series) -> pd.Series:
    """E-mail addresses: case and spaces do not make a different mailbox."""
    out = values.str.replace(r"\s+", "", regex=True).str.lower()
    return out.where(out != "", None)


def normalise_phone(values: pd.Series, country: str = "7", trunk: str = "8",
                    national_digits: int = 10) -> pd.Series:
    """Phones to ``+<country><national number>``.

    ``+7 912 345-67-89``, ``8 (912) 345 67 89``, ``0079123456789`` and ``9123456789`` are one
    number. The country code, national trunk prefix and national length are a lender's
    convention, so they are parameters rather than guesses per row.
    """
    values = values.astype(object).fillna("")
    international = values.str.match(r"^\s*(\+|00)")
    digits = values.str.replace(r"\D", "", regex=True)
    digits = digits.where(~(international & values.str.match(r"^\s*00")), digits.str[2:])
    national_len = digits.str.len()
    out = pd.Series("+" + digits, index=values.index, dtype=object)
    trunk_form = ~international & (national_len == national_digits + 1) & digits.str.startswith(
        trunk
    )
    out[trunk_form] = "+" + country + digits[trunk_form].str[1:]
    bare = ~international & (national_len == national_digits)
    out[bare] = "+" + country + digits[bare]
    absent = digits == ""
    out[absent] = None
    return out


def split_contacts(values: pd.Series, country: str = "7", trunk: str = "8") -> pd.Series:
    """``a;b;c`` contact phones to a list of distinct normalised phones per row (in order)."""
    exploded = values.str.split(";").explode()
    exploded = exploded[exploded.notna()].str.strip()
    exploded = exploded[exploded != ""]
    phones = normalise_phone(exploded, country, trunk).dropna()
    frame = pd.DataFrame({"row": phones.index, "phone": phones.values}).drop_duplicates()
    # lists per row by splitting the (row-ordered) phone array: no per-group Python calls
    position = pd.Series(np.arange(len(values)), index=values.index)
    rows = position.reindex(frame["row"]).to_numpy()
    order = np.argsort(rows, kind="stable")
    rows, phone = rows[order], frame["phone"].to_numpy(dtype=object)[order]
    starts = np.searchsorted(rows, np.arange(len(values)), side="left")
    ends = np.searchsorted(rows, np.arange(len(values)), side="right")
    out = np.empty(len(values), dtype=object)
    for i, (a, b) in enumerate(zip(starts, ends)):
        out[i] = phone[a:b].tolist()
    return pd.Series(out, index=values.index, dtype=object)
