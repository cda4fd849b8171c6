"""The service's tables as SQLAlchemy 2 typed models (the schema Alembic migrates).

Times are stored in UTC. API keys are never stored: only their SHA-256 (keys are 256
random bits, so a fast hash is enough; a slow KDF protects guessable passwords, which
these are not) and a short prefix to tell keys apart in listings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    """Someone (or a system) holding an API key with one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Set when the key was revoked: it is refused from then on (api.auth), and the user
    #: can no longer sign in to the app.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: argon2 hash of the app password (api.web.signin); None: API key only.
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Failed sign-ins in a row; at api.web.signin.MAX_FAILURES the user is locked out.
    failed_signins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: The app's language for this user ("en", "zh_CN"); None: the browser's.
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)


class WebSession(Base):
    """A signed-in browser: the cookie's token (stored as its SHA-256), the CSRF token
    every form of the session carries, and when the session ends."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditEntry(Base):
    """Who did what, when, to which entity, with the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    request_id: Mapped[str | None] = mapped_column(Text, nullable=True)


class DatasetTable(Base):
    """One table of the dataset, stored as uploaded (CSV or Parquet bytes), validated.

    Whole-table replace: a new upload of a table takes the place of the old one only if
    the dataset with it passes validation; `sha256` makes identical re-uploads no-ops.
    """

    __tablename__ = "dataset_tables"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    format: Mapped[str] = mapped_column(String(10))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """Long work (a plan's forecast and solve) run by the service's workers."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The service process whose pool runs it, "host:pid" (api.jobs.Workers.owner).
    owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: Which run of the job this is: a retry starts the next one, and only the run whose
    #: attempt is current may write the job's results (a stale run writes nothing).
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Plan(Base):
    """A reorder plan: pending (being computed) -> draft -> submitted -> approved |
    rejected -> ordered. `version` grows with every change (optimistic concurrency)."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("requested_by", "idempotency_key"),)


class PlanEditor(Base):
    """Someone who changed a plan's lines: they may not approve it (four eyes)."""

    __tablename__ = "plan_editors"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class PlanLine(Base):
    """One SKU to order in a plan, with the optimizer's reasons and any buyer edit.

    One line per (plan, SKU): the schema refuses a second, whoever tries to write it."""

    __tablename__ = "plan_lines"
    __table_args__ = (UniqueConstraint("plan_id", "sku_id", name="uq_plan_lines_plan_sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    sku_id: Mapped[str] = mapped_column(String(100))
    supplier_id: Mapped[str] = mapped_column(String(100))
    pack_size: Mapped[int] = mapped_column(Integer)
    packs: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[float] = mapped_column(Float)
    unit_volume: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    moq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON)
    edit_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class PlanForecast(Base):
    """The forecast fan of one plan line's SKU when the plan was computed
    (`forecast.fan.Fan.record`): what the review page draws beside the line's reasons.
    Apart from the lines, so reading a plan never carries it."""

    __tablename__ = "plan_forecasts"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    sku_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    fan: Mapped[dict[str, Any]] = mapped_column(JSON)


class PurchaseOrder(Base):
    """An approved plan's lines for one supplier: what the purchasing system pulls.

    `status` approved -> ordered once the order is placed with the supplier (`reference`
    is the purchasing system's order number)."""

    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    supplier_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="approved")
    total: Mapped[float] = mapped_column(Float)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)


class OutboxMessage(Base):
    """A webhook delivery owed: written with the approval, sent until the receiver says 2xx.

    `event_id` is the idempotency id the receiver sees on every attempt of this message.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Simulation(Base):
    """A what-if simulation a planner asked for: the scenario, then results and charts."""

    __tablename__ = "simulations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SimulationChart(Base):
    """One PNG chart of a simulation's results."""

    __tablename__ = "simulation_charts"

    simulation_id: Mapped[int] = mapped_column(ForeignKey("simulations.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
