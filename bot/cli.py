"""The `thidua` command: run, demo, check-config, invite, reminders, outbox, export, targets.

Every line it prints comes from the catalog, in one language: Vietnamese, or
English with `--lang en` (or THIDUA_LANG=en). Only argparse, the catalog and
the configuration are imported up front; a command imports what it uses, so
`thidua --help` does not load matplotlib, openpyxl, aiohttp or the Telegram
library.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.i18n import LANGUAGES, Catalog
from domain.errors import DatabaseInUse, DatabaseLost, DatabaseMissing, DatabaseUnreachable

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import AppConfig, Secrets

log = logging.getLogger("thidua")
REPO_ROOT = Path(__file__).resolve().parent.parent

#: argparse's own English words (it translates them through a module-level `_`) -> catalog keys.
_ARGPARSE = {
    "usage: ": "usage",
    "positional arguments": "positionals",
    "options": "options",
    "show this help message and exit": "help",
    "the following arguments are required: %s": "required",
    "invalid choice: %(value)r (choose from %(choices)s)": "invalid_choice",
    "unrecognized arguments: %s": "unrecognized",
    "expected one argument": "expected_one",
    "invalid %(type)s value: %(value)r": "invalid_value",
    "%(prog)s: error: %(message)s\n": "error",
    "argument %(argument_name)s: %(message)s": "argument",
    "ambiguous option: %(option)s could match %(matches)s": "ambiguous",
}


class Say:
    """The command line's words, in one language, from the catalog's [cli] table."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "vi"
        self.catalog = Catalog()

    def __call__(self, key: str, /, **params: Any) -> str:
        return self.catalog(self.lang, f"cli.{key}", **params)

    def argparse_words(self, message: str) -> str:
        key = _ARGPARSE.get(message)
        return self(f"argparse.{key}") if key else message


class Parser(argparse.ArgumentParser):
    """argparse with its errors in the CLI's language and exit status 2."""

    say: Say

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, self.say("argparse.error_line", prog=self.prog, message=message) + "\n")


def _env(name: str) -> str | None:
    """An environment variable as `Secrets` reads it (any case, empty is unset), without
    loading pydantic: the help's language is known before any configuration is."""
    wanted = name.lower()
    return next((v for k, v in os.environ.items() if k.lower() == wanted and v), None)


def _split_lang(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """`--lang en` may stand anywhere on the line: take it out before argparse sees it."""
    rest: list[str] = []
    lang: str | None = None
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--lang" and i + 1 < len(items):
            lang = items[i + 1]
            i += 2
            continue
        if item.startswith("--lang="):
            lang = item.partition("=")[2]
        else:
            rest.append(item)
        i += 1
    return lang, rest


def _config_path(given: str | None, secrets: Secrets, say: Say) -> Path:
    if given:
        return Path(given)
    if secrets.thidua_config:
        return secrets.thidua_config
    for candidate in (
        Path("config.toml"),
        Path("config.example.toml"),
        REPO_ROOT / "config.example.toml",
    ):
        if candidate.exists():
            return candidate
    _fail(say("no_config"))


def _fail(line: str, status: int = 1) -> NoReturn:
    print(line, file=sys.stderr)
    raise SystemExit(status)


def _load(given: str | None, secrets: Secrets, say: Say) -> AppConfig:
    from bot.config import format_problems, load_config
    from domain.errors import ConfigError

    path = _config_path(given, secrets, say)
    try:
        return load_config(path, say.lang).with_secrets(secrets)
    except ConfigError as exc:
        print(say("config_problems", path=path), file=sys.stderr)
        print(format_problems(exc.problems), file=sys.stderr)
        raise SystemExit(1) from exc


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs request URLs, and Telegram's URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "telegram.ext.ExtBot", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not verbose:  # PTB's English "Application started": the CLI says it in its own words
        logging.getLogger("telegram.ext.Application").setLevel(logging.WARNING)
    # With no retries of its own, PTB's limiter logs every 429 as an error with a
    # traceback; the outbox records each one (thidua outbox), so that is noise.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskCodes())


class MaskCodes(logging.Filter):
    """Invite and link codes never reach a log line, whoever logs them (PTB's DEBUG lines
    show updates and API parameters, /start CODE and the /link code among them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from domain.invites import mask_codes

        message = record.getMessage()
        masked = mask_codes(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _why(exc: Exception, say: Say) -> str:
    """One line a person can act on, for a channel that did not connect (never the token)."""
    from domain.errors import ChannelStartError

    if isinstance(exc, ChannelStartError):
        text = say(f"reason_{exc.reason}", channel=exc.channel)
        return f"{text} ({exc.detail})" if exc.detail else text
    return say("reason_other", error=type(exc).__name__)


async def _run(config: AppConfig, secrets: Secrets, say: Say) -> int:
    """Serve until Ctrl+C; "running" only once a channel is connected, else one line and 1."""
    from bot.app import App

    connected: list[str] = []
    failed: dict[str, Exception] = {}
    started = False

    def status(name: str, error: Exception | None) -> None:
        if error is None:
            connected.append(name)
            failed.pop(name, None)
            if started:  # a channel that failed at start connected on a retry
                print(say("connected_later", channel=name), flush=True)
        else:
            failed[name] = error

    app = App(config, secrets, on_channel=status)
    try:
        channels = app.enabled_channels()
    except Exception as exc:  # the library refused the token before any connection
        _fail(say("cannot_start", error=type(exc).__name__))
    for channel in channels:
        app.add_channel(channel)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await app.start()
    started = True
    if not connected:
        for name, error in failed.items():
            print(say("connect_failed", channel=name, why=_why(error, say)), file=sys.stderr)
        await app.stop(drain_seconds=0)
        return 1
    for name, error in failed.items():
        print(say("connect_retrying", channel=name, why=_why(error, say)), file=sys.stderr)
    print(say("running", channels=", ".join(connected)), flush=True)
    await app.serve_until(stop)  # DatabaseLost if the database file goes away meanwhile
    print(say("stopped"), flush=True)
    return 0


async def _backup(config: AppConfig, out: Path | None, say: Say) -> int:
    """A verified copy while the bot may be running (reads never block it)."""
    from bot.app import App
    from bot.config import Secrets
    from storage import backup as backups

    app = App(config, Secrets())
    lang = say.lang
    if app.lock is None:
        print(app.catalog(lang, "ops.not_sqlite", database=app.db.path), file=sys.stderr)
        return 1
    try:
        if out is None:
            result = await app.backup_now()
        else:
            result = await asyncio.to_thread(backups.backup, Path(app.db.path), out)
    except backups.BackupError as exc:
        print(app.catalog(lang, "ops.backup_failed", reason=str(exc)), file=sys.stderr)
        return 1
    print(
        app.catalog(
            lang,
            "ops.backup_done",
            path=result.path,
            size=result.size // 1024,
            rows=sum(result.tables.values()),
            tables=len(result.tables),
        )
    )
    return 0


async def _status(config: AppConfig, say: Say) -> int:
    """What the running bot last reported (heartbeats in the database), and the backlog."""
    from bot.app import App
    from bot.config import Secrets
    from storage import health as health_repo

    app = App(config, Secrets())
    await app.open()
    try:
        async with app.db.transaction() as tx:
            processes = await health_repo.processes(tx)
            pending, oldest = await health_repo.outbox_backlog(tx)
            tick = await health_repo.last_tick(tx)
        running = await app.db.process_holder()
    finally:
        await app.db.close()
    now = app.clock.now()
    tz = config.federation.tz

    def ago(when: dt.datetime | None) -> str:
        if when is None:
            return say("status.never")
        seconds = max(0, round((now - when).total_seconds()))
        return say("status.ago", when=when.astimezone(tz).strftime("%H:%M:%S %d/%m"), s=seconds)

    def role(name: str) -> str:
        if name == "scheduler":
            return say("status.role_scheduler")
        if name.endswith(".poll"):
            return say("status.role_poller", channel=name.removesuffix(".poll"))
        return name

    print(say("status.process", holder=running) if running else say("status.no_process"))
    # Heartbeats are written every 30 s; much older ones mean the process is gone or stuck.
    fresh_limit = dt.timedelta(seconds=max(120, 2 * 30))
    live = [p for p in processes if now - p.seen_at <= fresh_limit]
    healthy = running is not None and bool(live)
    for process in processes:
        roles = ", ".join(role(r) for r in process.roles) or say("status.role_standby")
        where = {"host": process.host, "pid": process.pid, "roles": roles}
        if process not in live:  # killed or stuck: shown until forgotten, not judged
            print(say("status.gone", **where, seen=ago(process.seen_at)))
            continue
        print(say("status.instance", **where, seen=ago(process.seen_at)))
        for beat in process.beats:
            ok = not beat.stale
            healthy = healthy and ok
            print(
                "   "
                + say(
                    "status.component",
                    mark="✅" if ok else "❌",
                    name=beat.component,
                    last_ok=ago(beat.last_ok),
                    restarts=beat.restarts,
                )
                + (f" — {beat.last_error}" if beat.last_error and not ok else "")
            )
    age = round((now - oldest).total_seconds()) if oldest else 0
    stuck = age > config.health.outbox_stale_seconds
    healthy = healthy and not stuck
    print(say("status.outbox", mark="❌" if stuck else "✅", pending=pending, s=age))
    print(say("status.tick", last=ago(tick)))
    print(say("status.database", path=app.db.where))
    return 0 if healthy else 1


async def _restore(config: AppConfig, file: Path, say: Say) -> int:
    """Put a backup back, only while no `thidua run` holds the database."""
    from bot.app import App
    from bot.config import Secrets
    from storage import backup as backups

    app = App(config, Secrets())
    lang = say.lang
    if app.lock is None:
        print(app.catalog(lang, "ops.not_sqlite", database=app.db.path), file=sys.stderr)
        return 1
    try:
        app.lock.acquire(app.clock.now())
    except DatabaseInUse as exc:
        print(app.catalog(lang, "ops.restore_running", holder=exc.holder), file=sys.stderr)
        return 1
    try:
        database = Path(app.db.path)
        stamp = app.clock.now().astimezone(config.federation.tz).strftime(backups.STAMP)
        saved = database.with_name(f"{database.name}.before-restore-{stamp}")
        counts, kept = await asyncio.to_thread(backups.restore, file, database, saved)
    except backups.BackupError as exc:
        print(app.catalog(lang, "ops.restore_failed", reason=str(exc)), file=sys.stderr)
        return 1
    finally:
        app.lock.release()
    print(
        app.catalog(
            lang,
            "ops.restore_done",
            path=database,
            file=file,
            rows=sum(counts.values()),
            tables=len(counts),
            saved=saved if kept else "—",
        )
    )
    return 0


async def _db_copy(config: AppConfig, secrets: Secrets, to: str, say: Say) -> int:
    """Move the SQLite database into an empty PostgreSQL one, verified; the bot stopped."""
    from storage.copy import CopyError, copy_database
    from storage.db import Database, is_url
    from storage.lock import ProcessLock

    if not is_url(to):
        print(say("db.not_url", given=to), file=sys.stderr)
        return 1
    source = Database(config.bot.database)
    if not source.is_file:
        print(say("db.not_sqlite", database=source.where), file=sys.stderr)
        return 1
    lock = ProcessLock(source.path)
    try:
        lock.acquire(dt.datetime.now(dt.UTC))
    except DatabaseInUse as exc:
        print(say("db.running", holder=exc.holder), file=sys.stderr)
        return 1
    password = secrets.thidua_database_password
    target = Database(to, password=password.get_secret_value() if password else None)
    try:
        async with source, target:
            copied = await copy_database(source, target)
    except CopyError as exc:
        print(say("db.failed", reason=str(exc)), file=sys.stderr)
        return 1
    finally:
        lock.release()
    print(
        say(
            "db.copied",
            rows=sum(copied.counts.values()),
            tables=len(copied.counts),
            source=source.where,
            target=target.where,
            checksum=copied.checksum[:16],
        )
    )
    return 0


def _demo_files(given: str | None) -> Path:
    """Where the demo saves what it sends: the folder asked for, or a new one that is kept."""
    if given:
        return Path(given)
    return Path(tempfile.mkdtemp(prefix="thidua-demo-files-"))


async def _demo(config: AppConfig, secrets: Secrets, say: Say, files: Path) -> None:
    """A chat in the terminal on a throwaway database, with sample data and codes."""
    from bot.clock import SystemClock
    from bot.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="thidua-demo-") as folder:
        await run_demo(
            config,
            secrets,
            clock=SystemClock(),
            database=str(Path(folder) / "demo.sqlite3"),
            files=files,
            say=say,
        )


async def _opened(config: AppConfig) -> App:
    from bot.app import App
    from bot.config import Secrets

    app = App(config, Secrets())
    await app.open()
    return app


async def _migrate(config: AppConfig, say: Say) -> None:
    from storage.migrations import current_version

    app = await _opened(config)
    async with app.db.transaction() as tx:
        version = await current_version(tx)
    await app.db.close()
    print(say("schema_version", path=app.db.where, version=version))


async def _check_totals(config: AppConfig, say: Say) -> None:
    """`thidua migrate --totals`: the report totals (storage.totals) against the reports, recomputed
    if they differ. Each report write keeps them, so this is for a database someone
    changed by hand, or a doubt."""
    from storage import totals

    app = await _opened(config)
    try:
        async with app.db.transaction() as tx:
            wrong = await totals.differences(tx)
            if wrong:
                await totals.rebuild(tx)
            buckets = await totals.buckets(tx)
    finally:
        await app.db.close()
    print(say("totals_rebuilt", count=len(wrong)) if wrong else say("totals_ok", buckets=buckets))


def _role(say: Say) -> Callable[[str], str]:
    """--role: a known role, or the closest ones offered (imports only once it is used,
    so `thidua --help` stays quick)."""

    def check(text: str) -> str:
        from domain.models import Role
        from domain.suggest import closest

        roles = [r.value for r in Role]
        if text in roles:
            return text
        raise argparse.ArgumentTypeError(
            _unknown(say, "unknown_role", text, closest(text, roles), choices=", ".join(roles))
        )

    return check


def _unknown(say: Say, key: str, text: str, suggestions: Sequence[str], **params: Any) -> str:
    line = say(key, text=text, **params)
    if suggestions:
        line += ". " + say("did_you_mean", suggestions=", ".join(suggestions))
    else:
        line += "."
    return line


def _date(say: Say) -> Callable[[str], dt.date]:
    """--date: dd/mm/yyyy or yyyy-mm-dd, refused in plain words."""

    def parse(text: str) -> dt.date:
        from domain.dates import parse_full_date
        from domain.errors import UserInputError

        try:
            return parse_full_date(text)
        except UserInputError:
            raise argparse.ArgumentTypeError(say("bad_date", text=text)) from None

    return parse


def _duration(say: Say) -> Callable[[str], str]:
    def check(text: str) -> str:
        from usecases.invites import parse_duration

        try:
            parse_duration(text)
        except ValueError:
            raise argparse.ArgumentTypeError(say("bad_duration", text=text)) from None
        return text

    return check


async def _invite(config: AppConfig, args: argparse.Namespace, say: Say) -> int:
    from domain.errors import UserInputError
    from domain.models import Role
    from domain.suggest import closest
    from usecases.access import OPERATOR
    from usecases.invites import create_invite, parse_duration

    unit = config.unit(args.unit)
    if unit is None:
        names = {u.code: u.code for u in config.units} | {u.name: u.code for u in config.units}
        found = [names[n] for n in closest(args.unit, names)]
        shown = [f"{c} ({u.name})" for c in dict.fromkeys(found) if (u := config.unit(c))]
        print(_unknown(say, "unknown_unit", args.unit, shown), file=sys.stderr)
        return 1
    app = await _opened(config)
    try:
        async with app.db.transaction() as tx:
            issued = await create_invite(
                tx,
                OPERATOR,
                unit_code=args.unit,
                role=Role(args.role),
                uses=args.uses,
                expires_in=parse_duration(args.expires) if args.expires else None,
                now=app.clock.now(),
            )
    except UserInputError as exc:
        reason = app.catalog(say.lang, exc.key, **exc.params)
        print(say("invite_refused", reason=reason), file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    print(say("invite_code", code=issued.shown))
    line = say("invite_unit", unit=unit.name, role=say(f"role_{args.role}"), uses=args.uses)
    if args.expires:
        line += say("invite_expires", expires=args.expires)
    print(line)
    link = config.telegram.deep_link(issued.code)
    print(say("invite_link", link=link) if link else say("invite_no_link"))
    print(say("invite_type", code=issued.shown))
    return 0


async def _people(config: AppConfig, args: argparse.Namespace, say: Say) -> int:
    """thidua people list | deactivate ID | reactivate ID."""
    from domain.errors import UserInputError
    from usecases import people as people_uc
    from usecases.access import OPERATOR

    app = await _opened(config)
    try:
        async with app.db.transaction() as tx:
            if args.people_command == "list":
                everyone = await people_uc.listing(tx, OPERATOR)
            else:
                active = args.people_command == "reactivate"
                changed = await people_uc.set_active(tx, OPERATOR, args.id, active)
    except UserInputError as exc:
        print(app.catalog(say.lang, exc.key, **exc.params), file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    if args.people_command == "list":
        for p in everyone:
            unit = config.unit(p.unit_code)
            state = say("people.active" if p.active else "people.inactive")
            name = unit.name if unit else p.unit_code
            print(f"{p.id:>5}  {state:<12}  {p.role.value:<12}  {name}  {p.name}")
        print(say("people.count", active=sum(p.active for p in everyone), total=len(everyone)))
        return 0
    key = "people.now_active" if changed.active else "people.now_inactive"
    print(say(key, id=changed.id, name=changed.name, unit=changed.unit_code))
    return 0


async def _preview(config: AppConfig, day: dt.date, say: Say) -> None:
    """Who would be reminded of what on `day`: a dry run, nothing is written."""
    from handlers.reminders import Reminders

    app = await _opened(config)
    tz = config.federation.tz
    start = dt.datetime.combine(day, dt.time(0), tz) - dt.timedelta(microseconds=1)
    end = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tz)
    try:
        async with app.db.transaction() as tx:
            planned = await Reminders(app.dispatcher.settings, app.catalog).plan(tx, start, end)
    finally:
        await app.db.close()
    print(say("preview_header", date=f"{day:%d/%m/%Y}", count=len(planned)))
    for p in sorted(planned, key=lambda p: (p.at, p.person.unit_code, p.person.name)):
        first_line = p.reply.text.splitlines()[0]
        when = p.at.astimezone(tz).strftime("%H:%M")
        print(
            f"  {when}  {p.person.name} ({p.person.unit_code}, {p.person.role.value}) "
            f"[{p.kind}] {first_line}"
        )
    if not planned:
        print(say("preview_nobody"))


async def _outbox(config: AppConfig, show_all: bool, say: Say) -> None:
    from domain.messages import DeliveryStatus
    from storage import outbox

    app = await _opened(config)
    statuses = [DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    if show_all:
        statuses.append(DeliveryStatus.SENT)
    try:
        async with app.db.transaction() as tx:
            items = await outbox.listing(tx, statuses, limit=200)
    finally:
        await app.db.close()
    tz = config.federation.tz
    header = (
        f"{'id':>6} {say('col_channel'):9} {say('col_chat'):>14} {say('col_status'):8} "
        f"{say('col_tries'):>5} {say('col_next'):16}"
    )
    print(f"{header} {say('col_reason')}")
    for item in items:
        when = item.next_attempt_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        text = item.reply.text.splitlines()[0][:40] if item.reply.text else ""
        reason = item.last_error or ""
        print(
            f"{item.id:>6} {item.channel:9} {item.chat_id:>14} {item.status.value:8} "
            f"{item.attempts:>5} {when:16} {reason[:60] or text}"
        )
    if not items:
        print(say("outbox_empty"))


def _progress_bar(label: str) -> Callable[[int, int], None]:
    """A text progress bar on stderr (the CLI's own output stays clean for pipes)."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


async def _export(
    config: AppConfig, period_text: str, cluster_code: str | None, out: Path, say: Say
) -> int:
    """The workbook of one cluster, or of every cluster; a period with no data is an error.

    The standings and targets are read in a short transaction; the reports are then
    streamed from a read-only snapshot of the database into the file, so a running
    bot is never kept waiting and memory stays flat at any size.
    """
    from domain.errors import UserInputError
    from domain.periods import PeriodKind, parse_period
    from storage import org
    from usecases import exports
    from usecases.access import OPERATOR

    app = await _opened(config)
    now = app.clock.now()
    today = now.astimezone(config.federation.tz).date()
    try:
        period = parse_period(period_text, today, PeriodKind.YEAR)
        async with app.db.transaction() as tx:
            cluster = await org.cluster(tx, cluster_code, period.year) if cluster_code else None
            if cluster_code and cluster is None:
                codes = await org.cluster_codes(tx, period.year)
                from domain.suggest import closest

                message = _unknown(
                    say,
                    "unknown_cluster",
                    cluster_code,
                    closest(cluster_code, codes),
                    year=period.year,
                )
                print(message, file=sys.stderr)
                return 1
            data = await exports.gather(
                tx,
                OPERATOR,
                app.dispatcher.settings,
                app.catalog,
                say.lang,
                cluster,
                period,
                now,
                hold_reports=not app.db.is_file,  # a snapshot needs a database file
            )
    except UserInputError as exc:
        print(app.catalog(say.lang, exc.key, **exc.params), file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    if data.reports is None:
        progress = _progress_bar(say("export_progress"))
        await asyncio.to_thread(
            exports.write_from_snapshot, data, app.catalog, app.db.path, out, progress
        )
    else:
        xlsx = await asyncio.to_thread(exports.render, data, app.catalog)
        await asyncio.to_thread(out.write_bytes, xlsx)
    size = (await asyncio.to_thread(out.stat)).st_size
    print(say("export_done", path=out, kb=size // 1024, period=period))
    for each in data.filed:  # a finalised cluster: its documents to file, beside the workbook
        for kind in exports.FILED_KINDS:
            name, made = await asyncio.to_thread(exports.filed_document, each, kind, app.catalog)
            path = out.parent / name
            await asyncio.to_thread(path.write_bytes, made)
            print(say("export_filed", path=path))
    return 0


async def _finalize(config: AppConfig, args: argparse.Namespace, say: Say) -> int:
    """thidua finalize --period P --cluster C [--yes] | [--reopen REASON]: as the operator.

    Without --yes, what is still open is printed and nothing is stored when anything is;
    with nothing open the period is finalised at once.
    """
    from domain.errors import UserInputError
    from domain.periods import PeriodKind, parse_period
    from usecases import finalize
    from usecases.access import OPERATOR

    app = await _opened(config)
    now = app.clock.now()
    today = now.astimezone(config.federation.tz).date()
    settings = app.dispatcher.settings

    def t(key: str, **params: Any) -> str:
        return app.catalog(say.lang, key, **params)

    try:
        period = parse_period(args.period, today, PeriodKind.YEAR)
        async with app.db.transaction() as tx:
            if args.reopen is not None:
                reopened = await finalize.reopen(
                    tx, OPERATOR, settings, period, args.reopen, now, args.cluster
                )
                print(say("finalize_reopened", cluster=reopened.cluster_name, period=period))
                return 0
            shown = await finalize.preview(tx, OPERATOR, settings, period, now, args.cluster)
            print(t("finalize.preview_title", cluster=shown.cluster.name, period=period))
            items = shown.open_items
            if items.empty:
                print(t("finalize.nothing_open"))
            else:
                print(t("finalize.open_title"))
                if items.unreviewed:
                    print(t("finalize.open_unreviewed", count=items.unreviewed))
                for m in items.missing:
                    print(t("finalize.open_missing", unit=m.name, met=m.met, expected=m.expected))
                if items.unlocks:
                    print(t("finalize.open_unlocks", units=", ".join(items.unlocks)))
                if not args.yes:
                    print(say("finalize_confirm"), file=sys.stderr)
                    return 1
            snapshot = await finalize.finalize(
                tx,
                OPERATOR,
                settings,
                period,
                now,
                confirmed=args.yes,
                cluster_code=shown.cluster.code,
                shown=shown,  # computed once: the standings just previewed are stored
            )
    except UserInputError as exc:
        print(app.catalog(say.lang, exc.key, **exc.params), file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    for row in snapshot.rows:
        rank = f"={row.rank}" if row.tied else str(row.rank)
        score = row.format_score(say.lang)
        print(t("finalize.row", rank=rank, unit=row.unit_name, score=score, rating=row.rating))
    print(say("finalize_done", cluster=snapshot.cluster_name, period=period, id=snapshot.id))
    return 0


async def _targets(config: AppConfig, args: argparse.Namespace, say: Say) -> int:
    from documents.targets_file import TargetsFileError, targets_template
    from domain.periods import Period
    from usecases import targets as targets_uc
    from usecases.access import OPERATOR

    app = await _opened(config)
    try:
        if args.targets_command == "template":
            async with app.db.transaction() as tx:
                existing = await targets_uc.every_target(tx, OPERATOR)
            data = targets_template(
                list(config.units),
                list(config.all_measures),
                args.period,
                translate=app.catalog,
                lang=say.lang,
                existing=existing,
                generated_at=app.clock.now(),
            )
            await asyncio.to_thread(Path(args.out).write_bytes, data)
            print(say("template_done", path=args.out, period=Period.from_key(args.period)))
            return 0
        path = Path(args.file)
        try:
            raw = await asyncio.to_thread(path.read_bytes)
            found = targets_uc.read_file(
                OPERATOR,
                app.dispatcher.settings,
                raw,
                path.name,
                translate=app.catalog,
                lang=say.lang,
            )
        except TargetsFileError as exc:
            print(app.catalog(say.lang, exc.key, **exc.params), file=sys.stderr)
            return 1
        async with app.db.transaction() as tx:
            await targets_uc.import_rows(tx, OPERATOR, found, app.clock.now())
        print(say("targets_imported", count=len(found), file=path.name))
        return 0
    finally:
        await app.db.close()


def build_parser(say: Say) -> Parser:
    """The whole command line, its help in the CLI's language."""
    argparse.__dict__["_"] = say.argparse_words  # argparse's own words ("usage:", errors)

    def parser_class(**kwargs: Any) -> Parser:
        made = Parser(**kwargs)
        made.say = say
        return made

    parser = parser_class(prog="thidua", description=say("cmd.description"))
    parser.add_argument("-v", "--verbose", action="store_true", help=say("cmd.verbose"))
    parser.add_argument("--lang", choices=list(LANGUAGES), help=say("cmd.lang"))
    sub = parser.add_subparsers(dest="command", title=say("cmd.commands"), metavar="COMMAND")

    def command(name: str) -> Parser:
        made = sub.add_parser(name, help=say(f"cmd.{name}"), description=say(f"cmd.{name}"))
        assert isinstance(made, Parser)
        made.say = say
        return made

    config_help = say("cmd.config")
    for name in ("run", "demo", "migrate"):
        p = command(name)
        p.add_argument("--config", help=config_help)
        if name == "demo":
            p.add_argument("--files", help=say("cmd.files"))
        if name == "migrate":
            p.add_argument("--totals", action="store_true", help=say("cmd.totals"))
    check = command("check-config")
    check.add_argument("file", help=say("cmd.file"))
    inv = command("invite")
    inv.add_argument("--config", help=config_help)
    inv.add_argument("--unit", required=True, help=say("cmd.unit"))
    inv.add_argument("--role", required=True, type=_role(say), help=say("cmd.role"))
    inv.add_argument("--uses", type=int, default=1, help=say("cmd.uses"))
    inv.add_argument("--expires", type=_duration(say), help=say("cmd.expires"))
    rem = command("reminders")
    rem_sub = rem.add_subparsers(dest="reminders_command", required=True, metavar="preview")
    prev = rem_sub.add_parser("preview", help=say("cmd.preview"))
    prev.say = say
    prev.add_argument("--date", required=True, type=_date(say), help=say("cmd.date"))
    prev.add_argument("--config", help=config_help)
    exp = command("export")
    exp.add_argument("--period", required=True, help=say("cmd.period"))
    exp.add_argument("--cluster", help=say("cmd.cluster"))
    exp.add_argument("--out", required=True, type=Path, help=say("cmd.out"))
    exp.add_argument("--config", help=config_help)
    fin = command("finalize")
    fin.add_argument("--period", required=True, help=say("cmd.period"))
    fin.add_argument("--cluster", help=say("cmd.finalize_cluster"))
    fin.add_argument("--yes", action="store_true", help=say("cmd.yes"))
    fin.add_argument("--reopen", metavar="REASON", help=say("cmd.reopen"))
    fin.add_argument("--config", help=config_help)
    tgt = command("targets")
    tgt_sub = tgt.add_subparsers(dest="targets_command", required=True, metavar="template|import")
    tmpl = tgt_sub.add_parser("template", help=say("cmd.template"))
    tmpl.say = say
    tmpl.add_argument("--period", required=True, help=say("cmd.target_period"))
    tmpl.add_argument("--out", required=True, help=say("cmd.out"))
    tmpl.add_argument("--config", help=config_help)
    imp = tgt_sub.add_parser("import", help=say("cmd.import"))
    imp.say = say
    imp.add_argument("file", help=say("cmd.import_file"))
    imp.add_argument("--config", help=config_help)
    bak = command("backup")
    bak.add_argument("--out", type=Path, help=say("cmd.backup_out"))
    bak.add_argument("--config", help=config_help)
    stat = command("status")
    stat.add_argument("--config", help=config_help)
    res = command("restore")
    res.add_argument("file", type=Path, help=say("cmd.restore_file"))
    res.add_argument("--config", help=config_help)
    box = command("outbox")
    box.add_argument("--config", help=config_help)
    box.add_argument("--all", action="store_true", help=say("cmd.all"))
    ppl = sub.add_parser("people", help=say("people.cmd"), description=say("people.cmd"))
    assert isinstance(ppl, Parser)
    ppl.say = say
    ppl_sub = ppl.add_subparsers(
        dest="people_command", required=True, metavar="list|deactivate|reactivate"
    )
    lst = ppl_sub.add_parser("list", help=say("people.list"))
    lst.say = say
    lst.add_argument("--config", help=config_help)
    for verb in ("deactivate", "reactivate"):
        one = ppl_sub.add_parser(verb, help=say(f"people.{verb}"))
        one.say = say
        one.add_argument("id", type=int, help=say("people.id"))
        one.add_argument("--config", help=config_help)
    db = sub.add_parser("db", help=say("db.cmd"), description=say("db.cmd"))
    assert isinstance(db, Parser)
    db.say = say
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="copy")
    cp = db_sub.add_parser("copy", help=say("db.copy"), description=say("db.copy"))
    cp.say = say
    cp.add_argument("--to", required=True, help=say("db.to"))
    cp.add_argument("--config", help=config_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    lang, rest = _split_lang(sys.argv[1:] if argv is None else argv)
    say = Say(lang or _env("THIDUA_LANG") or "vi")
    words = argparse.__dict__["_"]
    try:
        args = build_parser(say).parse_args(rest)
    finally:
        argparse.__dict__["_"] = words  # leave argparse as found (main() runs in tests too)
    from bot.config import Secrets  # pydantic: not needed for --help

    secrets = Secrets()
    has_token = secrets.telegram_bot_token or secrets.zalo_bot_token
    command = args.command or ("run" if has_token else "demo")
    if command == "check-config":
        from bot.config import check_config

        problems, summary = check_config(args.file, say.lang)
        if problems:
            print("\n".join(problems))
            print(summary, file=sys.stderr)
            return 1
        print(summary)
        return 0
    _logging(args.verbose)
    if command == "demo":
        logging.getLogger().setLevel(logging.WARNING)
    config = _load(getattr(args, "config", None), secrets, say)
    if command == "run":
        if not (config.telegram.enabled or config.zalo.enabled):
            print(say("no_channel"), file=sys.stderr)
            return 1
        if not has_token:
            print(say("no_token_demo"), file=sys.stderr)
            logging.getLogger().setLevel(logging.WARNING)
            asyncio.run(_demo(config, secrets, say, _demo_files(None)))
            return 0
        try:
            return asyncio.run(_run(config, secrets, say))
        except DatabaseInUse as exc:
            print(
                Catalog()(say.lang, "ops.in_use", path=exc.path, holder=exc.holder), file=sys.stderr
            )
            return 1
        except DatabaseMissing as exc:
            print(Catalog()(say.lang, "ops.missing", path=str(exc)), file=sys.stderr)
            return 1
        except DatabaseLost as exc:
            print(Catalog()(say.lang, "ops.lost", path=str(exc)), file=sys.stderr)
            return 3
        except DatabaseUnreachable as exc:
            return _unreachable(say, exc)
    try:
        return _dispatch(command, args, config, secrets, say)
    except DatabaseUnreachable as exc:
        return _unreachable(say, exc)


def _unreachable(say: Say, exc: DatabaseUnreachable) -> int:
    """A wrong URL, database name or password: one line, no traceback."""
    print(
        Catalog()(say.lang, "ops.unreachable", where=exc.where, reason=exc.reason), file=sys.stderr
    )
    return 1


def _dispatch(
    command: str, args: argparse.Namespace, config: AppConfig, secrets: Secrets, say: Say
) -> int:
    if command == "demo":
        asyncio.run(_demo(config, secrets, say, _demo_files(getattr(args, "files", None))))
    elif command == "migrate":
        asyncio.run(_migrate(config, say))
        if args.totals:
            asyncio.run(_check_totals(config, say))
    elif command == "reminders":
        asyncio.run(_preview(config, args.date, say))
    elif command == "export":
        return asyncio.run(_export(config, args.period, args.cluster, args.out, say))
    elif command == "targets":
        return asyncio.run(_targets(config, args, say))
    elif command == "finalize":
        return asyncio.run(_finalize(config, args, say))
    elif command == "people":
        return asyncio.run(_people(config, args, say))
    elif command == "outbox":
        asyncio.run(_outbox(config, args.all, say))
    elif command == "backup":
        return asyncio.run(_backup(config, args.out, say))
    elif command == "status":
        return asyncio.run(_status(config, say))
    elif command == "restore":
        return asyncio.run(_restore(config, args.file, say))
    elif command == "invite":
        return asyncio.run(_invite(config, args, say))
    elif command == "db":
        return asyncio.run(_db_copy(config, secrets, args.to, say))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
