"""Request and response bodies (pydantic), with the examples the OpenAPI document shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import Role

T = TypeVar("T")


def storable(value: str) -> str:
    """`value` if a database can store it: PostgreSQL refuses NUL in text, and an unpaired
    surrogate is no UTF-8 at all. ValueError (a 422 naming the field) otherwise."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (it cannot be stored)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (an unpaired surrogate cannot be stored)") from None
    return value


#: Free text from a client that will be stored.
Text = Annotated[str, AfterValidator(storable)]
#: An id (supplier, category) as the dataset spells it.
Id = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(storable)]


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, how many there are in all, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "ana", "role": "buyer"}]}
    )

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role


class RoleChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "approver"}]}
    )

    role: Role


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class NewUser(UserOut):
    key: str = Field(description="The API key, shown once: store it now.")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str = Field(examples=["ok"])
    revision: str | None = Field(examples=["0001"])


class PlanRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"budget": 50000, "suppliers": ["SUP001"]}]},
    )

    budget: float = Field(ge=0, allow_inf_nan=False, description="Purchase budget (currency).")
    capacity: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    suppliers: list[Id] | None = Field(default=None, min_length=1, max_length=1000)
    categories: list[Id] | None = Field(default=None, min_length=1, max_length=1000)
    horizon_days: int | None = Field(default=None, ge=1, le=365)


class Accepted(BaseModel):
    job_id: str
    plan_id: int


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: str = Field(examples=["running"])
    progress: int = Field(ge=0, le=100)
    error: str | None
    plan_id: int | None
    created_at: datetime
    updated_at: datetime


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku_id: str
    supplier_id: str
    pack_size: int
    packs: int
    quantity: int
    unit_cost: float
    reasons: dict[str, Any]
    edit_reason: str | None


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    state: str = Field(examples=["draft"])
    version: int
    requested_by: int
    decided_by: int | None
    reason: str | None
    params: dict[str, Any]
    record: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    lines: list[LineOut] = []


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="The version you saw.")
    reason: Text | None = Field(default=None, max_length=2000)


class Placed(BaseModel):
    """An approved purchase order placed with its supplier."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reference": "ERP-PO-10442"}]}
    )

    reference: Text | None = Field(
        default=None, min_length=1, max_length=100,
        description="The purchasing system's order number.",
    )  # fmt: skip


class LineEdit(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"packs": 3, "reason": "promo next week", "version": 2}]},
    )

    packs: int = Field(ge=0, le=10_000_000)
    reason: Text = Field(min_length=3, max_length=2000)
    version: int = Field(ge=1)


class PurchaseOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    plan_id: int
    supplier_id: str
    status: str
    total: float
    lines: list[dict[str, Any]]
    created_at: datetime
    ordered_at: datetime | None = None
    reference: str | None = None
