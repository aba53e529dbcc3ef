"""SQLModel tables.

Calendar dates (created, follow-up, next follow-up, opportunity, stage change) are
``date`` columns: sqlmodel stores aware datetimes as UTC, which would move a
morning follow-up in UTC+8 to the previous day. Timestamps that are only
bookkeeping (batch start) are ISO text with their offset.

The customer row carries a few derived columns (``last_follow_at``,
``last_method``, ``next_date``, ``next_plan``) that mirror its latest follow-up
so that the due list is one indexed scan; ``services.followups.refresh_summary``
is the only writer of them.
"""

from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict
from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

# Table models are never validated (services work on ``Model.__table__``), so pydantic need not
# build their validators when this module is imported (~10 of its ~30 ms, paid by every command).
# They are still built, on first use, if anything ever validates a table model.
_LAZY = ConfigDict(defer_build=True)


def _fk(target: str) -> Column:  # type: ignore[type-arg]
    return Column(Integer, ForeignKey(target, ondelete="CASCADE"), nullable=False, index=False)


class Customer(SQLModel, table=True):
    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("name_key", "phone_key", name="uq_customer_identity"),
        Index("ix_customer_due", "archived", "stage", "level"),
        Index("ix_customer_phone_key", "phone_key"),
        Index("ix_customer_created", "created_at"),
        Index("ix_customer_owner", "owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    name: str
    name_key: str
    phone: str | None = None  # a customer may have none (spec §3): then phone_key is ''
    phone_key: str = Field(default="", sa_column_kwargs={"server_default": text("''")})
    other_phones: str | None = None  # further numbers, "; "-joined as shown; their keys in customer_phone
    contact: str | None = None
    title: str | None = None
    email: str | None = None
    industry: str | None = None
    source: str | None = None
    level: str = Field(default="normal", sa_column_kwargs={"server_default": text("'normal'")})
    stage: str = Field(default="potential", sa_column_kwargs={"server_default": text("'potential'")})
    owner: str | None = None
    need: str | None = None
    notes: str | None = None
    address: str | None = None
    wechat: str | None = None
    region: str | None = None
    amount: float | None = None
    expected_close: dt.date | None = None
    lost_reason: str | None = None
    created_at: dt.date
    archived: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    last_follow_at: dt.date | None = None
    last_method: str | None = None
    next_date: dt.date | None = None
    next_plan: str | None = None
    # set when this customer was merged into another (spec §14): hidden everywhere (it is also
    # archived), its code and phone still resolve to that one
    merged_into: int | None = None
    # Purchase history (spec §13), derived: the opening balance plus the won opportunities
    # (``services.purchases.refresh`` is the only writer); main_products is a JSON array.
    orders: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    total_amount: float = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    last_order_at: dt.date | None = None
    main_products: str | None = None
    # The opening balance an import brought (合作次数, 累计消费金额, 最近合作时间, 主要产品/服务).
    opening_orders: int | None = None
    opening_amount: float | None = None
    opening_last_order_at: dt.date | None = None
    opening_products: str | None = None


class Tag(SQLModel, table=True):
    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "tag"

    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    name: str = Field(primary_key=True)


class FollowUp(SQLModel, table=True):
    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_customer", "customer_id", "date", "id"), Index("ix_follow_up_date", "date"))

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=_fk("customer.id"))
    date: dt.date
    method: str | None = None
    content: str
    feedback: str | None = None
    by: str | None = None
    next_date: dt.date | None = None
    next_plan: str | None = None
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")


class StageChange(SQLModel, table=True):
    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_customer", "customer_id", "date"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=_fk("customer.id"))
    from_stage: str | None = None
    to_stage: str
    date: dt.date
    by: str | None = None
    reason: str | None = None
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    deal_id: int | None = None  # the opportunity whose change moved the customer (spec §13), if one did


class Deal(SQLModel, table=True):
    """An opportunity (销售机会, spec §13). The table keeps the name it had when it held won deals
    only: each of those became a won opportunity (migration 0005), and the change log names it."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "deal"
    __table_args__ = (
        Index("ix_deal_customer", "customer_id", "date"),
        Index("ix_deal_date", "date"),
        Index("ix_deal_code", "code", unique=True),
        Index("ix_deal_stage", "stage", "closed_at"),
        Index("ix_deal_external", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=_fk("customer.id"))
    amount: float  # 0 when not known (a lost opportunity may be worth 0)
    date: dt.date  # opened (created / engage date)
    by: str | None = None  # who recorded it
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    code: str  # O + YYYYMM + serial, or the code an imported file gave it
    name: str | None = None
    stage: str  # the customer stages of spec §2
    probability: float  # 0-100; won 100, lost 0
    expected_close: dt.date | None = None
    closed_at: dt.date | None = None  # won or lost on; None while open
    owner: str | None = None  # the opportunity's own, from its customer's when not given
    lost_reason: str | None = None
    external_id: str | None = None  # another CRM's id that did not fit as a code: matched on re-import


class Product(SQLModel, table=True):
    """A product or service sold (产品名称), matched by its normalised name (``GTX Pro`` = ``GTXPro``)."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "product"
    __table_args__ = (Index("ix_product_name_key", "name_key", unique=True), Index("ix_product_code", "code", unique=True))

    id: int | None = Field(default=None, primary_key=True)
    code: str | None = None
    name: str
    name_key: str
    price: float | None = None  # list price: a line's default unit price
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")  # created by that import


class DealLine(SQLModel, table=True):
    """A line of an opportunity: product, quantity, unit price (None: not known)."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "deal_line"
    __table_args__ = (Index("ix_deal_line_deal", "deal_id"), Index("ix_deal_line_product", "product_id"))

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(sa_column=_fk("deal.id"))
    product_id: int = Field(sa_column=Column(Integer, ForeignKey("product.id"), nullable=False))
    quantity: float = 1
    unit_price: float | None = None


class Ticket(SQLModel, table=True):
    """A service ticket (客户服务, spec §15): a customer's complaint or question and how it ended."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_customer", "customer_id", "opened_at", "id"), Index("ix_ticket_opened", "opened_at"))

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    customer_id: int = Field(sa_column=_fk("customer.id"))
    type: str
    content: str | None = None
    status: str = Field(default="open", sa_column_kwargs={"server_default": text("'open'")})
    handler: str | None = None
    opened_at: dt.date
    resolved_at: dt.date | None = None
    satisfaction: int | None = None
    note: str | None = None
    by: str | None = None
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")


class Merge(SQLModel, table=True):
    """One ``crm merge`` (spec §14): which customer went into which, as change set ``set_id``.

    The rows it moved are that change set's changes, so ``merge --undo`` and ``crm undo`` are one
    mechanism; whether it is undone is read from the change set.
    """

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "merge"

    id: int | None = Field(default=None, primary_key=True)
    keep_id: int
    other_id: int
    set_id: int = Field(sa_column=Column(Integer, ForeignKey("change_set.id", ondelete="CASCADE"), nullable=False))
    at: str
    by: str | None = None


class ImportBatch(SQLModel, table=True):
    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    file: str
    started_at: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    follow_ups: int = 0
    undone_at: str | None = None


class BatchChange(SQLModel, table=True):
    """The before-image of each row an import changed, so ``import --undo`` can put it back."""

    model_config = _LAZY  # type: ignore[assignment]

    __tablename__ = "batch_change"
    __table_args__ = (Index("ix_batch_change_batch", "batch_id"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id")
    table_name: str
    row_id: int
    before: str | None = None  # JSON of the row before the change; None when the batch inserted it



class CustomField(SQLModel, table=True):
    """A field a user added (``crm field add``, spec §11); removing it only hides it."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "custom_field"

    key: str = Field(primary_key=True)
    label: str = Field(unique=True)
    type: str  # text | number | money | date | choice
    choices: str | None = None  # JSON array of the choices of a choice field
    position: int
    hidden: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class CustomValue(SQLModel, table=True):
    """A customer's value of a custom field, as canonical text (numbers as written by ``repr``,
    dates ISO, a choice as defined): ``list --where KEY=VALUE`` is one index lookup."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "custom_value"
    __table_args__ = (Index("ix_custom_value_lookup", "field_key", "value"),)

    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    field_key: str = Field(sa_column=Column(String, ForeignKey("custom_field.key"), primary_key=True))
    value: str


class ChangeSet(SQLModel, table=True):
    """One writing command (spec §18): who, when, the command as typed; its rows are ``Change``."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "change_set"

    id: int | None = Field(default=None, primary_key=True)
    at: str  # ISO time with offset
    user: str | None = None
    command: str | None = None
    kind: str = "edit"  # edit | import | undo
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")  # an import: its batch
    undoes: int | None = None  # an undo: the change set it took back
    undone_by: int | None = None  # the undo that took this one back


class Change(SQLModel, table=True):
    """A row a change set inserted, updated or deleted, with its fields before and after (JSON).

    Written by the database's triggers while a write transaction has a change set open
    (``store/changelog.py``), so every write path is logged the same way; an import is logged by
    its batch instead.
    """

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_set", "set_id"),
        Index("ix_change_customer", "customer_id", "set_id"),
        Index("ix_change_row", "table_name", "row_id", "set_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    set_id: int = Field(sa_column=Column(Integer, ForeignKey("change_set.id", ondelete="CASCADE"), nullable=False))
    table_name: str
    row_id: int
    op: str  # insert | update | delete
    before: str | None = None  # JSON of the row's fields before (update, delete)
    after: str | None = None  # JSON after (insert, update)
    customer_id: int | None = None  # the customer it belongs to, for `crm history REF`


class CustomerPhone(SQLModel, table=True):
    """A customer's other phones by key, so that matching and REF lookup use every phone (spec §3)."""

    model_config = _LAZY  # type: ignore[assignment]
    __tablename__ = "customer_phone"
    __table_args__ = (Index("ix_customer_phone_key_other", "phone_key"),)

    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    phone_key: str = Field(sa_column=Column(String, primary_key=True))
