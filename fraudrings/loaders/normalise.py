"""Identifier normalisation, vectorised: the same phone or e-mail written two ways must link.

Every function takes a pandas Series of stripped strings ('' = absent) and works on its Arrow
buffer with ``pyarrow.compute`` (C++ kernels; a million phones take well under a second), and
returns a Series with nulls for absent values, so the store never sees an empty identifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(object).where(values.notna(), ""), type=pa.string()) \
        if values.dtype == object else pa.array(values.fillna(""), type=pa.string())


def _series(array: pa.Array, index: pd.Index) -> pd.Series:
    """Back to pandas, '' as null."""
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    return pd.Series(array.to_pandas(types_mapper=None), index=index, dtype=object)


def normalise_token(values: pd.Series) -> pd.Series:
    """Device ids, IPs, addresses, accounts: trimmed, inner whitespace collapsed."""
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(_arrow(values), r"\s+", " "))
    return _series(text, values.index)


def normalise_email(values: pd.Series) -> pd.Series:
    """E-mail addresses: case and spaces do not make a different mailbox."""
    text = pc.utf8_lower(pc.replace_substring_regex(_arrow(values), r"\s+", ""))
    return _series(text, values.index)


def phone_array(raw: pa.Array, country: str = "7", trunk: str = "8",
                national_digits: int = 10) -> pa.Array:
    """Phones to ``+<country><national number>`` ('' when there are no digits).

    ``+7 912 345-67-89``, ``8 (912) 345 67 89``, ``0079123456789`` and ``9123456789`` are one
    number. The country code, national trunk prefix and national length are a lender's
    convention, so they are parameters rather than guesses per row.
    """
    prefix = pc.match_substring_regex(raw, r"^\s*(\+|00)")
    double_zero = pc.match_substring_regex(raw, r"^\s*00")
    digits = pc.replace_substring_regex(raw, r"\D", "")
    digits = pc.if_else(double_zero, pc.utf8_slice_codeunits(digits, 2), digits)
    length = pc.utf8_length(digits)
    national = pc.invert(prefix)
    trunk_form = pc.and_(pc.and_(national, pc.equal(length, national_digits + 1)),
                         pc.starts_with(digits, trunk))
    bare = pc.and_(national, pc.equal(length, national_digits))
    body = pc.if_else(trunk_form, pc.utf8_slice_codeunits(digits, 1), digits)
    with_country = pc.binary_join_element_wise(country, body, "")
    out = pc.binary_join_element_wise("+", pc.if_else(pc.or_(trunk_form, bare), with_country,
                                                      digits), "")
    return pc.if_else(pc.equal(length, 0), "", out)


def normalise_phone(values: pd.Series, country: str = "7", trunk: str = "8",
                    national_digits: int = 10) -> pd.Series:
    return _series(phone_array(_arrow(values), country, trunk, national_digits), values.index)


def split_contacts(values: pd.Series, country: str = "7", trunk: str = "8") -> pd.Series:
    """``a;b;c`` contact phones to a list of distinct normalised phones per row (in order)."""
    lists = pc.split_pattern(_arrow(values), ";")
    flat = phone_array(pc.utf8_trim_whitespace(pc.list_flatten(lists)), country, trunk)
    row = pc.list_parent_indices(lists).to_numpy()
    phone = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=object)
    pairs = pd.DataFrame({"row": row, "phone": phone})
    pairs = pairs[pairs["phone"] != ""].drop_duplicates()  # absent and repeated contacts
    counts = np.bincount(pairs["row"].to_numpy(), minlength=len(values))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    rebuilt = pa.ListArray.from_arrays(pa.array(offsets),
                                       pa.array(pairs["phone"].to_numpy(), type=pa.string()))
    return pd.Series(rebuilt.to_pylist(), index=values.index, dtype=object)
