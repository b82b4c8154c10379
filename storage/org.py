"""Units and clusters: synced from configuration, membership kept per year."""

from __future__ import annotations

from collections.abc import Iterable

from domain.models import Cluster, ClusterMember, ClusterRole, Unit
from storage import memo
from storage._codec import fetch_all, fetch_one
from storage.db import Tx


async def sync(tx: Tx, units: Iterable[Unit], clusters: Iterable[Cluster]) -> None:
    """Make the tables match the config; units missing from config become inactive.

    Units are never deleted: reports and people still point at them.
    """
    units = list(units)
    await tx.executemany(
        "INSERT INTO units (code, name, kind, active) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, active = 1",
        [(u.code, u.name, u.kind) for u in units],
    )
    codes = [u.code for u in units]
    marks = ",".join("?" * len(codes)) or "''"
    await tx.execute(f"UPDATE units SET active = 0 WHERE code NOT IN ({marks})", codes)
    await tx.execute("DELETE FROM cluster_members")
    await tx.execute("DELETE FROM clusters")
    for c in clusters:
        await tx.execute(
            "INSERT INTO clusters (code, year, name) VALUES (?, ?, ?)", (c.code, c.year, c.name)
        )
        await tx.executemany(
            "INSERT INTO cluster_members (cluster_code, year, unit_code, role) VALUES (?, ?, ?, ?)",
            [(c.code, c.year, m.unit, m.role.value) for m in c.members],
        )


async def unit(tx: Tx, code: str) -> Unit | None:
    row = await fetch_one(tx, "SELECT code, name, kind FROM units WHERE code = ?", (code,))
    return Unit(code=row["code"], name=row["name"], kind=row["kind"]) if row else None


async def units(tx: Tx, *, active_only: bool = True) -> list[Unit]:
    sql = "SELECT code, name, kind FROM units"
    if active_only:
        sql += " WHERE active = 1"
    rows = await fetch_all(tx, sql + " ORDER BY code")
    return [Unit(code=r["code"], name=r["name"], kind=r["kind"]) for r in rows]


async def cluster_of(tx: Tx, unit_code: str, year: int) -> Cluster | None:
    row = await fetch_one(
        tx,
        "SELECT cluster_code FROM cluster_members WHERE unit_code = ? AND year = ?",
        (unit_code, year),
    )
    return await cluster(tx, row["cluster_code"], year) if row else None


async def cluster(tx: Tx, code: str, year: int) -> Cluster | None:
    rows = await fetch_all(  # one query: the name comes with each member
        tx,
        "SELECT c.name, m.unit_code, m.role FROM clusters c "
        "JOIN cluster_members m ON m.cluster_code = c.code AND m.year = c.year "
        "WHERE c.code = ? AND c.year = ? ORDER BY m.unit_code",
        (code, year),
    )
    if not rows:
        return None
    members = tuple(ClusterMember(unit=r["unit_code"], role=ClusterRole(r["role"])) for r in rows)
    return Cluster(code=code, year=year, name=rows[0]["name"], members=members)


async def clusters(tx: Tx, year: int) -> list[Cluster]:
    """Every cluster of `year` with its members, by code, in two queries; kept in the
    database's memo until the organisation changes (storage.memo: its stamp read first)."""
    kept = tx.memo()
    if kept is None:
        return await _clusters(tx, year)
    stamp = await memo.org_stamp(tx)
    key = ("org.clusters", year)
    found: tuple[int, tuple[Cluster, ...]] | None = kept.get(key)
    if found is None or found[0] != stamp:
        found = stamp, tuple(await _clusters(tx, year))
        kept.put(key, found)
    return list(found[1])


async def _clusters(tx: Tx, year: int) -> list[Cluster]:
    heads, rows = await tx.together(
        fetch_all(tx, "SELECT code, name FROM clusters WHERE year = ? ORDER BY code", (year,)),
        fetch_all(
            tx,
            "SELECT cluster_code, unit_code, role FROM cluster_members WHERE year = ? "
            "ORDER BY cluster_code, unit_code",
            (year,),
        ),
    )
    members: dict[str, list[ClusterMember]] = {}
    for r in rows:
        members.setdefault(r["cluster_code"], []).append(
            ClusterMember(unit=r["unit_code"], role=ClusterRole(r["role"]))
        )
    return [
        Cluster(
            code=h["code"], year=year, name=h["name"], members=tuple(members.get(h["code"], ()))
        )
        for h in heads
    ]


async def memberships(tx: Tx, year: int) -> dict[str, tuple[str, ClusterRole]]:
    """unit → (cluster, role) for one year."""
    rows = await fetch_all(
        tx, "SELECT unit_code, cluster_code, role FROM cluster_members WHERE year = ?", (year,)
    )
    return {r["unit_code"]: (r["cluster_code"], ClusterRole(r["role"])) for r in rows}


async def membership(tx: Tx, year: int, unit: str) -> tuple[str, ClusterRole] | None:
    """One unit's (cluster, role) in one year: `memberships` for a single unit, by its
    unique index (every update's caller needs only its own unit's)."""
    row = await fetch_one(
        tx,
        "SELECT cluster_code, role FROM cluster_members WHERE unit_code = ? AND year = ?",
        (unit, year),
    )
    return (row["cluster_code"], ClusterRole(row["role"])) if row is not None else None


async def cluster_years(tx: Tx) -> list[int]:
    """The years that have clusters, ascending."""
    rows = await fetch_all(tx, "SELECT DISTINCT year FROM clusters ORDER BY year")
    return [int(r[0]) for r in rows]


async def cluster_codes(tx: Tx, year: int) -> list[str]:
    rows = await fetch_all(tx, "SELECT code FROM clusters WHERE year = ? ORDER BY code", (year,))
    return [str(r[0]) for r in rows]


async def cluster_names(tx: Tx, year: int) -> list[tuple[str, str]]:
    """(code, name) of every cluster of `year`, by code: a switch's options, without the
    members (a city federation's 350 clusters and 2,000 units were most of a page's time)."""
    rows = await fetch_all(
        tx, "SELECT code, name FROM clusters WHERE year = ? ORDER BY code", (year,)
    )
    return [(str(r[0]), str(r[1])) for r in rows]
