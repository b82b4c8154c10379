"""Versioned schema migrations, applied in order at start and by `thidua migrate`.

SQL is kept portable (no SQLite-only types beyond what PostgreSQL accepts) so
the same repositories can later run on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from storage import report_checks, totals
from storage._codec import fetch_one
from storage.port import Tx


@dataclass(frozen=True)
class Dialects:
    """A migration whose statements differ per database (`Tx.dialect`): each listed whole,
    never split on ';' (a trigger's body holds several statements)."""

    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.postgresql if dialect == "postgresql" else self.sqlite


_STAMPS = "CREATE TABLE standing_stamps (scope TEXT PRIMARY KEY, n INTEGER NOT NULL)"
_BUMP = (
    "INSERT INTO standing_stamps (scope, n) VALUES ({scope}, 1) "
    "ON CONFLICT (scope) DO UPDATE SET n = standing_stamps.n + 1;"
)
_AUDITED = "(SELECT unit_code FROM reports WHERE id = {row}.report_id)"
_STAMPED: dict[str, str] = {
    # table → whose counter a row's write bumps: its unit's, or the federation's ('')
    "reports": "{row}.unit_code",
    "report_audit": _AUDITED,  # reviews (a "returned" penalty counts them)
    "declarations": "{row}.unit_code",
    "targets": "{row}.unit_code",
    "units": "''",
    "clusters": "''",
    "cluster_members": "''",
}


def _sqlite_trigger(table: str, op: str, scope: str) -> str:
    rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[op]
    bumps = dict.fromkeys(_BUMP.format(scope=scope.format(row=row)) for row in rows)
    return (
        f"CREATE TRIGGER stamp_{table}_{op.lower()} AFTER {op} ON {table} "
        f"BEGIN {' '.join(bumps)} END"
    )


def _pg_function(name: str, scope: str) -> str:
    new, old = (_BUMP.format(scope=scope.format(row=row)) for row in ("NEW", "OLD"))
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'DELETE' THEN {new} END IF; "
        f"IF TG_OP <> 'INSERT' THEN {old} END IF; "
        "RETURN NULL; END $$"
    )


_PG_UNIT_FUNCTION = _pg_function("stamp_unit", "{row}.unit_code")
_PG_AUDIT_FUNCTION = _pg_function("stamp_audit", _AUDITED)
_PG_ORG_FUNCTION = (
    "CREATE FUNCTION stamp_org() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + _BUMP.format(scope="''")
    + " RETURN NULL; END $$"
)


def _pg_trigger(table: str) -> str:
    scope = _STAMPED[table]
    if scope == "''":  # one bump per statement: a whole organisation saved at once
        each, function = "STATEMENT", "stamp_org"
    else:
        each, function = "ROW", "stamp_audit" if scope == _AUDITED else "stamp_unit"
    return (
        f"CREATE TRIGGER stamp_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH {each} EXECUTE FUNCTION {function}()"
    )


MIGRATIONS: tuple[str | Dialects, ...] = (
    # 1: the core: organisation, people, invites, reports, conversations, inbox, outbox.
    """
    CREATE TABLE units (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE clusters (
        code TEXT NOT NULL,
        year INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (code, year)
    );
    CREATE TABLE cluster_members (
        cluster_code TEXT NOT NULL,
        year INTEGER NOT NULL,
        unit_code TEXT NOT NULL REFERENCES units (code),
        role TEXT NOT NULL,
        PRIMARY KEY (cluster_code, year, unit_code),
        FOREIGN KEY (cluster_code, year) REFERENCES clusters (code, year) ON DELETE CASCADE
    );
    CREATE UNIQUE INDEX cluster_members_unit_year ON cluster_members (unit_code, year);

    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        unit_code TEXT NOT NULL REFERENCES units (code),
        role TEXT NOT NULL,
        language TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE identities (
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        person_id INTEGER NOT NULL REFERENCES people (id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (channel, platform_id)
    );
    CREATE INDEX identities_person ON identities (person_id);

    CREATE TABLE invites (
        id INTEGER PRIMARY KEY,
        code_hash TEXT NOT NULL UNIQUE,
        unit_code TEXT NOT NULL REFERENCES units (code),
        role TEXT NOT NULL,
        max_uses INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        expires_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE invite_uses (
        invite_id INTEGER NOT NULL REFERENCES invites (id),
        person_id INTEGER NOT NULL REFERENCES people (id),
        at TEXT NOT NULL
    );
    CREATE TABLE start_attempts (
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX start_attempts_who ON start_attempts (channel, platform_id, at);

    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        unit_code TEXT NOT NULL REFERENCES units (code),
        person_id INTEGER NOT NULL REFERENCES people (id),
        indicator TEXT NOT NULL,
        values_json TEXT NOT NULL,
        occurred_on TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT,
        status TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        source_key TEXT NOT NULL UNIQUE
    );
    CREATE INDEX reports_unit_created ON reports (unit_code, created_at);
    CREATE INDEX reports_indicator_occurred ON reports (indicator, occurred_on);
    CREATE TABLE report_values (
        report_id INTEGER NOT NULL REFERENCES reports (id),
        field TEXT NOT NULL,
        num DOUBLE PRECISION,
        text TEXT,
        PRIMARY KEY (report_id, field)
    );
    CREATE TABLE report_photos (
        id INTEGER PRIMARY KEY,
        report_id INTEGER NOT NULL REFERENCES reports (id),
        channel TEXT NOT NULL,
        file_ref TEXT NOT NULL,
        file_unique_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE INDEX report_photos_report ON report_photos (report_id);
    CREATE TABLE report_audit (
        id INTEGER PRIMARY KEY,
        report_id INTEGER NOT NULL REFERENCES reports (id),
        person_id INTEGER NOT NULL REFERENCES people (id),
        action TEXT NOT NULL,
        at TEXT NOT NULL,
        before_json TEXT,
        after_json TEXT
    );
    CREATE INDEX report_audit_report ON report_audit (report_id);

    CREATE TABLE conversations (
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        flow TEXT NOT NULL,
        step TEXT NOT NULL,
        flow_id TEXT NOT NULL,
        data_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (channel, chat_id, sender_id)
    );

    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        handled_at TEXT,
        error TEXT
    );
    CREATE INDEX inbox_status ON inbox (status, channel, chat_id, sender_id, id);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        platform_message_id TEXT,
        inbox_id INTEGER REFERENCES inbox (id)
    );
    CREATE INDEX outbox_status ON outbox (status, channel, next_attempt_at, id);
    CREATE TABLE outbox_attempts (
        id INTEGER PRIMARY KEY,
        outbox_id INTEGER NOT NULL REFERENCES outbox (id),
        at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);
    """,
    # 2: deadlines and reminders: reachability, muting, once-only deliveries and firings.
    """
    ALTER TABLE people ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE people ADD COLUMN unreachable_at TEXT;
    ALTER TABLE people ADD COLUMN unreachable_reason TEXT;
    ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
    CREATE UNIQUE INDEX outbox_dedupe ON outbox (dedupe_key);
    CREATE TABLE schedule_claims (
        job TEXT NOT NULL,
        fire_at TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (job, fire_at)
    );
    CREATE TABLE declarations (
        unit_code TEXT NOT NULL REFERENCES units (code),
        obligation TEXT NOT NULL,
        period_key TEXT NOT NULL,
        person_id INTEGER NOT NULL REFERENCES people (id),
        declared_at TEXT NOT NULL,
        PRIMARY KEY (unit_code, obligation, period_key)
    );
    CREATE TABLE snoozes (
        person_id INTEGER NOT NULL REFERENCES people (id),
        obligation TEXT NOT NULL,
        period_key TEXT NOT NULL,
        until TEXT NOT NULL,
        PRIMARY KEY (person_id, obligation, period_key)
    );
    """,
    # 3: standings: targets per unit, measure and period; cluster group chats.
    """
    CREATE TABLE targets (
        unit_code TEXT NOT NULL REFERENCES units (code),
        measure TEXT NOT NULL,
        period_key TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        source TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (unit_code, measure, period_key)
    );
    CREATE TABLE cluster_groups (
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        cluster_code TEXT NOT NULL,
        linked_by INTEGER NOT NULL REFERENCES people (id),
        linked_at TEXT NOT NULL,
        PRIMARY KEY (channel, chat_id)
    );
    CREATE INDEX reports_occurred ON reports (occurred_on, unit_code);
    """,
    # 4: one person on two messengers: link codes and the preferred channel.
    """
    ALTER TABLE people ADD COLUMN preferred_channel TEXT;
    CREATE TABLE link_codes (
        code_hash TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id),
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    """,
    # 5: access: keys the bot makes for itself (signed buttons); outbox rows that show a
    # secret once (a /link code) keep the text to store after delivery, with it masked;
    # the language an account chose before registering.
    """
    CREATE TABLE app_keys (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE outbox ADD COLUMN after_delivery_json TEXT;
    CREATE TABLE account_languages (
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        language TEXT NOT NULL,
        PRIMARY KEY (channel, platform_id)
    );
    """,
    # 6: what the running process last reported of its loops (read by `thidua status`)
    """
    CREATE TABLE heartbeats (
        component TEXT PRIMARY KEY,
        last_ok TEXT,
        last_error TEXT,
        restarts INTEGER NOT NULL DEFAULT 0,
        stale INTEGER NOT NULL DEFAULT 0,
        checked_at TEXT NOT NULL
    );
    """,
    # 7: people who asked for their cluster's scheduled standings posts in private
    # (/subscribe): Zalo bots cannot join groups, so a linked group is not enough.
    """
    CREATE TABLE post_subscriptions (
        person_id INTEGER PRIMARY KEY REFERENCES people (id),
        subscribed_at TEXT NOT NULL
    );
    """,
    # 8: per-unit, per-month totals of the reports (storage/totals.py), kept in each
    # report's own transaction so standings and rates never read every report;
    # existing reports are counted in here, once.
    ";\n".join((totals.SCHEMA, *totals.REBUILD_BEFORE_REVIEW)),
    # 9: review states (issue 12, part 1): where each report is in review and since when
    # (the queue, oldest first, reads the index). Existing reports were accepted as saved,
    # so their totals buckets stay what they are (storage.totals._STATUS). Review actions
    # go into report_audit (who, when, from, to, reason).
    """
    ALTER TABLE reports ADD COLUMN review TEXT NOT NULL DEFAULT 'accepted';
    ALTER TABLE reports ADD COLUMN review_at TEXT;
    CREATE INDEX reports_review ON reports (review, review_at, unit_code)
    """,
    # 10: warnings a report was saved with: unusual values the person confirmed
    # ("Bạn chắc chắn?" → Đúng), per version of the report (storage/report_checks.py).
    report_checks.SCHEMA,
    # 11: evidence: photos kept by content hash (issue 12 part 3). Each report_photos row
    # is its own download job (state, attempts, next attempt, last error) and points at
    # the stored file by SHA-256; evidence_blobs describes each file once, its 64-bit
    # difference hash cut into four indexed 16-bit bands (near copies share a band).
    # Photos saved before this migration are downloaded too (due at once).
    """
    CREATE TABLE evidence_blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        dhash TEXT NOT NULL,
        band0 INTEGER NOT NULL,
        band1 INTEGER NOT NULL,
        band2 INTEGER NOT NULL,
        band3 INTEGER NOT NULL,
        stored_at TEXT NOT NULL
    );
    CREATE INDEX evidence_blobs_band0 ON evidence_blobs (band0);
    CREATE INDEX evidence_blobs_band1 ON evidence_blobs (band1);
    CREATE INDEX evidence_blobs_band2 ON evidence_blobs (band2);
    CREATE INDEX evidence_blobs_band3 ON evidence_blobs (band3);
    ALTER TABLE report_photos ADD COLUMN sha256 TEXT;
    ALTER TABLE report_photos ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
    ALTER TABLE report_photos ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE report_photos ADD COLUMN next_attempt_at TEXT;
    ALTER TABLE report_photos ADD COLUMN last_error TEXT;
    CREATE INDEX report_photos_due ON report_photos (state, next_attempt_at);
    CREATE INDEX report_photos_sha256 ON report_photos (sha256);
    """,
    # 12: unlock requests, finalised periods and their snapshots (issue 12 part 4).
    # A snapshot is written once and never updated; reopening marks the row (the
    # partial index allows one standing snapshot per cluster and period).
    """
    CREATE TABLE period_unlocks (
        id INTEGER PRIMARY KEY,
        unit_code TEXT NOT NULL REFERENCES units (code),
        period_key TEXT NOT NULL,
        person_id INTEGER NOT NULL REFERENCES people (id),
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        asked_at TEXT NOT NULL,
        decided_by INTEGER REFERENCES people (id),
        decided_at TEXT,
        open_until TEXT
    );
    CREATE INDEX period_unlocks_unit ON period_unlocks (unit_code, period_key, status);
    CREATE TABLE finalised_periods (
        id INTEGER PRIMARY KEY,
        cluster_code TEXT NOT NULL,
        year INTEGER NOT NULL,
        period_key TEXT NOT NULL,
        finalised_at TEXT NOT NULL,
        finalised_by INTEGER REFERENCES people (id),
        snapshot_json TEXT NOT NULL,
        reopened_at TEXT,
        reopened_by INTEGER REFERENCES people (id),
        reopen_reason TEXT
    );
    CREATE UNIQUE INDEX finalised_periods_standing
        ON finalised_periods (cluster_code, period_key) WHERE reopened_at IS NULL;
    CREATE TABLE period_audit (
        id INTEGER PRIMARY KEY,
        cluster_code TEXT NOT NULL,
        period_key TEXT NOT NULL,
        action TEXT NOT NULL,
        person_id INTEGER REFERENCES people (id),
        at TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX period_audit_period ON period_audit (cluster_code, period_key, at);
    """,
    # 13: several processes on one PostgreSQL: inbox claims, outbox leases (issue 11).
    # A pending row is sent only by the process whose lease on it has not expired; a
    # process that died leaves leases that others take over once they expire.
    """
    ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until TEXT;
    CREATE INDEX outbox_lease ON outbox (lease_owner, status);
    """,
    # 14: web sign-in links and sessions (issue 13): only hashes of the tokens are kept;
    # a session signed out or expired is refused by the server whatever the cookie says.
    # The reports table pages by (occurred_on, id) keyset: its index.
    """
    CREATE TABLE web_links (
        token_hash TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id),
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id),
        via TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX web_sessions_person ON web_sessions (person_id);
    CREATE INDEX reports_occurred_id ON reports (occurred_on, id)
    """,
    # 15: data stamps for the memo of computed standings (storage/memo.py, issue 10): a
    # counter per unit and one for the federation (scope ''), bumped by triggers on every
    # write to what standings read, whatever writes it. Triggers are the one thing the two
    # databases say differently.
    Dialects(
        sqlite=(
            _STAMPS,
            *(
                _sqlite_trigger(table, op, scopes)
                for table, scopes in _STAMPED.items()
                for op in ("INSERT", "UPDATE", "DELETE")
            ),
        ),
        postgresql=(
            _STAMPS,
            _PG_UNIT_FUNCTION,
            _PG_AUDIT_FUNCTION,
            _PG_ORG_FUNCTION,
            *(_pg_trigger(table) for table in _STAMPED),
        ),
    ),
    # 16: one heartbeat per process (several `thidua run` on one PostgreSQL database used to
    # overwrite each other's): the processes as last seen, with their elected roles, and
    # their loops' heartbeats keyed by process. Rows of processes long gone age out.
    """
    DROP TABLE heartbeats;
    CREATE TABLE processes (
        process TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        roles TEXT NOT NULL,
        started_at TEXT NOT NULL,
        seen_at TEXT NOT NULL
    );
    CREATE INDEX processes_seen ON processes (seen_at);
    CREATE TABLE heartbeats (
        process TEXT NOT NULL,
        component TEXT NOT NULL,
        last_ok TEXT,
        last_error TEXT,
        restarts INTEGER NOT NULL DEFAULT 0,
        stale INTEGER NOT NULL DEFAULT 0,
        checked_at TEXT NOT NULL,
        PRIMARY KEY (process, component)
    )
    """,
)


async def current_version(tx: Tx) -> int:
    await tx.execute_schema(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    row = await fetch_one(tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(row[0]) if row else 0


async def migrate(tx: Tx) -> int:
    """Apply every migration newer than the database; returns the resulting version."""
    await tx.lock("migrations")  # processes starting together migrate one after another
    version = await current_version(tx)
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        if isinstance(script, Dialects):
            statements: Iterable[str] = script.statements(tx.dialect)
        else:
            statements = (s.strip() for s in script.split(";"))
        for statement in statements:
            if statement:
                await tx.execute_schema(statement)
        await tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            (number, dt.datetime.now(dt.UTC).isoformat()),
        )
        version = number
    return version
