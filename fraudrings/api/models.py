"""Request and response bodies (pydantic), which are also the OpenAPI description.

The request model checks JSON types and lengths so that a wrong field is named before anything
else runs; the *meaning* of the fields (times, amounts, outcomes, phone normalisation, hashes)
is left to the contract's rules (:func:`fraudrings.loaders.single.validate_one`, held equal to
the file loader's ``contract.validate`` by a parity test), so the API and the loader cannot
drift apart.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from fraudrings.loaders.contract import MAX_VALUE_LENGTH

#: No control characters: they never belong in an identifier, and some drivers choke on NUL.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(max_length=MAX_VALUE_LENGTH, pattern=_PRINTABLE)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_VALUE_LENGTH,
                                       pattern=_PRINTABLE)]
#: Extra input columns are kept as application properties (the contract's rule), as scalars.
ExtraValue = Annotated[str, StringConstraints(max_length=MAX_VALUE_LENGTH,
                                              pattern=_PRINTABLE)] | float | bool | None
MAX_EXTRA_FIELDS = 32
MAX_CONTACTS = 10
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class ApplicationIn(BaseModel):
    """One application in the input contract's fields (DESIGN.md, input contract)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{
            "application_id": "A-2025-000123", "applied_at": "2025-06-01T10:15:00",
            "applicant_id": "P-9f2c", "phone": "+7 912 345-67-89", "device_id": "dev-77",
            "merchant_id": "M-12", "agent_id": "AG-3", "email": "ivan@example.com",
            "ip": "10.1.2.3", "address": "addr-5521", "bank_account": "40817810000000000001",
            "contact_phones": ["+7 912 000-00-01"], "amount": 25000, "term_months": 12,
            "product": "pos",
        }]},
    )
    __pydantic_extra__: dict[str, ExtraValue] = Field(init=False)  # type: ignore[assignment]

    application_id: Key
    applied_at: Annotated[str, StringConstraints(min_length=1, max_length=64,
                                                 pattern=_PRINTABLE)] = Field(
        description="ISO-8601 time; without a zone it is UTC",
        json_schema_extra={"format": "date-time"})
    applicant_id: Key
    phone: Text | None = None
    device_id: Text | None = None
    merchant_id: Text | None = None
    agent_id: Text | None = None
    email: Text | None = None
    ip: Text | None = None
    address: Text | None = None
    bank_account: Text | None = None
    contact_phones: Text | Annotated[list[Annotated[str, StringConstraints(
        max_length=64, pattern=_PRINTABLE)]], Field(max_length=MAX_CONTACTS)] | None = Field(
        default=None, description="';'-separated phones, or a list of them")
    amount: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    term_months: Annotated[int, Field(ge=0, le=1200)] | None = None
    product: Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE)] | None = None
    is_fraud: bool | None = Field(default=None, description="post-loan outcome, if known")
    fpd: bool | None = Field(default=None, description="first-payment default, if known")

    @model_validator(mode="after")
    def _extra_names(self) -> ApplicationIn:
        extra = self.model_extra or {}
        if len(extra) > MAX_EXTRA_FIELDS:
            raise ValueError(f"at most {MAX_EXTRA_FIELDS} extra fields")
        for name, value in extra.items():
            if not _NAME.match(name):
                raise ValueError(f"extra field name {name[:64]!r} is not a valid property name")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"extra field {name}: not a finite number")
        return self

    def contract_row(self) -> dict[str, str]:
        """The row as the contract reads a file: every cell text, absent as ''."""
        row: dict[str, str] = {}
        for name, value in {**self.model_dump(exclude_none=False), **(self.model_extra or {})
                            }.items():
            if value is None:
                row[name] = ""
            elif isinstance(value, bool):
                row[name] = "1" if value else "0"
            elif isinstance(value, list):
                row[name] = ";".join(value)
            elif isinstance(value, float) and value.is_integer():
                row[name] = str(int(value))  # 25000.0 and 25000 are one amount
            else:
                row[name] = str(value)
        return row


class SharedIdentifier(BaseModel):
    kind: str = Field(description="identifier label: Phone, Device, Ip, …")
    relationship: str
    value: str
    applications: int = Field(description="applications using it, this one included")
    applicants: int | None = Field(description="distinct applicants using it (null for hubs)")
    hub: bool = Field(description="so widely used that it is counted, never followed")


class Burst(BaseModel):
    window_days: int
    applications: int = Field(description="other applicants' applications on its shared "
                                          "identifiers within the window of it")
    applicants: int


class FlagCount(BaseModel):
    heuristic: str
    applications: int = Field(description="neighbours the last sweep flagged with it")


class NeighbourRing(BaseModel):
    ring_id: str
    score: float | None
    found_by: Literal["sweep", "api"]
    applications: int = Field(description="its neighbours in that ring")


class GnnEvidence(BaseModel):
    score: float
    threshold: float
    flagged: bool


class Evidence(BaseModel):
    shared_identifiers: list[SharedIdentifier]
    burst: Burst
    neighbour_flags: list[FlagCount]
    neighbour_rings: list[NeighbourRing]
    gnn: GnnEvidence | None
    neighbourhood: int = Field(description="applications within two shared identifiers")
    truncated: bool = Field(description="the neighbourhood's outer rim was left out")
    reasons: list[str]


class SharedInRing(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str
    value: str
    members: int


class RingMember(BaseModel):
    application_id: str
    applicant_id: str | None
    applied_at: int | None
    score: float | None


class RingOut(BaseModel):
    ring_id: str
    score: float
    size: int
    found_by: Literal["sweep", "api"] = Field(
        description="sweep: found (or grown from a ring found) by a batch sweep")
    swept_at: int | None
    first_seen: int | None
    last_seen: int | None
    heuristic_score: float | None
    gnn_score: float | None
    reasons: list[str]
    shared: list[SharedInRing]
    members: list[RingMember]
    applicants: list[str]
    merchants: list[str]
    agents: list[str]


class RingSummary(BaseModel):
    ring_id: str
    score: float
    size: int
    found_by: Literal["sweep", "api"]
    swept_at: int | None
    first_seen: int | None
    last_seen: int | None
    reasons: list[str]


class RingList(BaseModel):
    rings: list[RingSummary]


Recommendation = Literal["approve", "review", "decline"]


class Assessment(BaseModel):
    application_id: str
    score: float = Field(description="final risk, 0-1")
    gnn_score: float | None = Field(description="the GNN's fraud probability; null without a "
                                                "trained model")
    recommendation: Recommendation
    ring: RingOut | None
    evidence: Evidence


class IdentifierOut(BaseModel):
    kind: str
    relationship: str
    value: str


class ApplicationOut(BaseModel):
    application_id: str
    applicant_id: str | None
    applied_at: int | None = Field(description="epoch seconds, UTC")
    amount: float | None
    term_months: int | None
    product: str | None
    is_fraud: int | None
    fpd: int | None
    extra: dict[str, Any]
    identifiers: list[IdentifierOut]
    score: float | None
    gnn_score: float | None
    flags: list[str]
    recommendation: Recommendation | None
    ring: RingSummary | None


class Status(BaseModel):
    status: str


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[ErrorItem]


class MessageOut(BaseModel):
    detail: str
