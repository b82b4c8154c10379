"""The dashboard's report table: filtered, sorted, paged by keyset (occurred_on, id), so the
thousandth page costs what the first does (no OFFSET), and one report's audit trail."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage._codec import fetch_all, parse_ts
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class Listed:
    id: int
    unit_code: str
    person_id: int
    person_name: str
    indicator: str
    values: dict[str, Any]
    occurred_on: dt.date
    created_at: dt.datetime
    status: str
    review: str


@dataclass(frozen=True, slots=True)
class Filters:
    """`units` None: every unit. `after`: the last row of the page before, (date, id)."""

    units: Sequence[str] | None
    start: dt.date
    end: dt.date
    indicator: str = ""
    status: str = ""
    person: int | None = None
    review: str = ""
    newest_first: bool = True
    after: tuple[dt.date, int] | None = None


async def page(tx: Tx, f: Filters, limit: int) -> list[Listed]:
    """Up to `limit` reports matching `f`, after its cursor, in its order."""
    # The cursor's day also bounds the date range, so the index (occurred_on, id) is sought
    # straight to it: with only the OR below, SQLite walks every row before the cursor.
    start, end = f.start, f.end
    if f.after is not None:
        if f.newest_first:
            end = min(end, f.after[0])
        else:
            start = max(start, f.after[0])
    where = ["r.occurred_on >= ?", "r.occurred_on <= ?"]
    params: list[Any] = [start.isoformat(), end.isoformat()]
    if f.units is not None:
        if not f.units:
            return []
        where.append(f"r.unit_code IN ({','.join('?' * len(f.units))})")
        params += list(f.units)
    if f.indicator:
        where.append("r.indicator = ?")
        params.append(f.indicator)
    if f.status:
        where.append("r.status = ?")
        params.append(f.status)
    if f.person is not None:
        where.append("r.person_id = ?")
        params.append(f.person)
    if f.review:
        where.append("r.review = ?")
        params.append(f.review)
    order = "DESC" if f.newest_first else "ASC"
    if f.after is not None:
        beyond = "<" if f.newest_first else ">"
        where.append(f"(r.occurred_on {beyond} ? OR (r.occurred_on = ? AND r.id {beyond} ?))")
        day = f.after[0].isoformat()
        params += [day, day, f.after[1]]
    rows = await fetch_all(
        tx,
        "SELECT r.id, r.unit_code, r.person_id, p.name AS person_name, r.indicator, "
        "r.values_json, r.occurred_on, r.created_at, r.status, r.review "
        "FROM reports r JOIN people p ON p.id = r.person_id "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY r.occurred_on {order}, r.id {order} LIMIT ?",
        [*params, limit],
    )
    return [
        Listed(
            id=r["id"],
            unit_code=r["unit_code"],
            person_id=r["person_id"],
            person_name=r["person_name"],
            indicator=r["indicator"],
            values=json.loads(r["values_json"]),
            occurred_on=dt.date.fromisoformat(r["occurred_on"]),
            created_at=parse_ts(r["created_at"]),
            status=r["status"],
            review=r["review"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    person_name: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def audit(tx: Tx, report_id: int) -> list[AuditEntry]:
    rows = await fetch_all(
        tx,
        "SELECT a.at, p.name AS person_name, a.action, a.before_json, a.after_json "
        "FROM report_audit a JOIN people p ON p.id = a.person_id "
        "WHERE a.report_id = ? ORDER BY a.id",
        (report_id,),
    )
    return [
        AuditEntry(
            parse_ts(r["at"]),
            r["person_name"],
            r["action"],
            json.loads(r["before_json"]) if r["before_json"] else None,
            json.loads(r["after_json"]) if r["after_json"] else None,
        )
        for r in rows
    ]


async def authors(tx: Tx, units: Sequence[str] | None) -> list[tuple[int, str]]:
    """(id, name) of the people of these units (None: all): the person filter's choices."""
    if units is not None and not units:
        return []
    where = f"WHERE unit_code IN ({','.join('?' * len(units))})" if units is not None else ""
    rows = await fetch_all(
        tx, f"SELECT id, name FROM people {where} ORDER BY name, id", list(units or ())
    )
    return [(r["id"], r["name"]) for r in rows]
