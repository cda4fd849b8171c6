"""Request and response bodies (pydantic), with the examples the OpenAPI document shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.auth import Role

T = TypeVar("T")


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


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    key_prefix: str
    created_at: datetime


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
