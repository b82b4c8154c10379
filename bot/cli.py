"""The `thidua` command: run, demo, migrate, check-config, invite."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.clock import SystemClock
from bot.config import AppConfig, Secrets, check_config, format_problems, load_config
from bot.i18n import Catalog
from domain.errors import ConfigError, UserInputError
from domain.messages import DeliveryStatus
from domain.models import Role
from domain.periods import PeriodKind, parse_period
from handlers.admin import IssuedInvite, create_invite, parse_duration
from handlers.reminders import Reminders
from handlers.standings import build_workbook
from handlers.targets_file import TargetsFileError, parse_targets, targets_template
from storage import org, outbox
from storage import targets as targets_repo

log = logging.getLogger("thidua")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_UNIT = "hoan_kiem"


def _config_path(given: str | None, secrets: Secrets) -> Path:
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
    raise SystemExit("no configuration: pass --config FILE or set THIDUA_CONFIG")


def _load(given: str | None, secrets: Secrets) -> AppConfig:
    path = _config_path(given, secrets)
    try:
        return load_config(path).with_secrets(secrets)
    except ConfigError as exc:
        print(f"{path}: configuration has problems:", file=sys.stderr)
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
    # With no retries of its own, PTB's limiter logs every 429 as an error with a
    # traceback; the outbox records each one (thidua outbox), so that is noise.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


async def _backup(config: AppConfig, out: Path | None) -> int:
    """A verified copy while the bot may be running (reads never block it)."""
    from storage import backup as backups

    app = App(config, Secrets())
    lang = config.federation.default_language.value
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


async def _restore(config: AppConfig, file: Path) -> int:
    """Put a backup back, only while no `thidua run` holds the database."""
    from storage import backup as backups
    from storage.lock import DatabaseInUse

    app = App(config, Secrets())
    lang = config.federation.default_language.value
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


async def _run(config: AppConfig, secrets: Secrets) -> None:
    app = App(config, secrets)
    for channel in app.enabled_channels():
        app.add_channel(channel)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("thidua is running on %s; Ctrl+C to stop", ", ".join(app.channels))
    await app.run_until(stop)


async def _demo(config: AppConfig, secrets: Secrets, lines: Sequence[str] | None = None) -> None:
    """A chat in the terminal on the sample config, a throwaway database, a ready invite."""
    with tempfile.TemporaryDirectory(prefix="thidua-demo-") as folder:
        clock = SystemClock()
        app = App(config, secrets, clock=clock, database=str(Path(folder) / "demo.sqlite3"))
        console = ConsoleChannel(clock)
        app.add_channel(console)
        await app.start()
        try:
            issued = await _demo_invite(app)
            unit = config.unit(DEMO_UNIT)
            print("=" * 60)
            print("thidua — demo trên console (không cần token Telegram)")
            print(f"Mã mời demo cho {unit.name if unit else DEMO_UNIT}: {issued.shown}")
            print(f"Thử: /start {issued.shown}  →  /report  →  /myreports")
            print("Gõ số để chọn, /photo để gửi ảnh mẫu, Ctrl+D để thoát.")
            print("=" * 60)
            source = iter(lines) if lines is not None else None
            while True:
                if source is not None:
                    line = next(source, None)
                    if line is None:
                        break
                    print(f"> {line}")
                else:
                    try:
                        line = await asyncio.to_thread(input, "> ")
                    except EOFError:
                        break
                if not line.strip():
                    continue
                await app.dispatcher.submit(console.to_inbound(line))
                await app.senders[console.name].wait_idle()
        finally:
            await app.stop()


async def _demo_invite(app: App) -> IssuedInvite:
    async with app.db.transaction() as tx:
        return await create_invite(
            tx,
            unit_code=DEMO_UNIT,
            role=Role.OFFICER,
            uses=5,
            expires_in=None,
            now=app.clock.now(),
        )


async def _migrate(config: AppConfig) -> None:
    app = App(config, Secrets())
    await app.open()
    async with (
        app.db.transaction() as tx,
        tx.execute("SELECT MAX(version) FROM schema_migrations") as cur,
    ):
        row = await cur.fetchone()
    await app.db.close()
    print(f"{app.db.path}: schema version {row[0] if row else 0}")


async def _invite(config: AppConfig, args: argparse.Namespace) -> int:
    app = App(config, Secrets())
    await app.open()
    try:
        async with app.db.transaction() as tx:
            issued = await create_invite(
                tx,
                unit_code=args.unit,
                role=Role(args.role),
                uses=args.uses,
                expires_in=parse_duration(args.expires) if args.expires else None,
                now=app.clock.now(),
            )
    except UserInputError as exc:
        print(f"invite: {app.catalog('en', exc.key, **exc.params)}", file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    unit = config.unit(args.unit)
    print(f"Code: {issued.shown}")
    print(
        f"Unit: {unit.name if unit else args.unit} · role: {args.role} · uses: {args.uses}"
        + (f" · expires in {args.expires}" if args.expires else "")
    )
    link = config.telegram.deep_link(issued.code)
    print(f"Telegram: {link}" if link else "Telegram: set telegram.bot_username for a deep link")
    print(f"Or type in the chat: /start {issued.shown}")
    return 0


async def _preview(config: AppConfig, day: dt.date) -> None:
    """Who would be reminded of what on `day`: a dry run, nothing is written."""
    app = App(config, Secrets())
    await app.open()
    tz = config.federation.tz
    start = dt.datetime.combine(day, dt.time(0), tz) - dt.timedelta(microseconds=1)
    end = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tz)
    try:
        async with app.db.transaction() as tx:
            planned = await Reminders(app.dispatcher.settings, app.catalog).plan(tx, start, end)
    finally:
        await app.db.close()
    print(f"Reminders on {day:%d/%m/%Y} ({len(planned)} messages, dry run):")
    for p in sorted(planned, key=lambda p: (p.at, p.person.unit_code, p.person.name)):
        first_line = p.reply.text.splitlines()[0]
        when = p.at.astimezone(tz).strftime("%H:%M")
        print(
            f"  {when}  {p.person.name} ({p.person.unit_code}, {p.person.role.value}) "
            f"[{p.kind}] {first_line}"
        )
    if not planned:
        print("  nobody: no registered person owes a report due then.")


async def _outbox(config: AppConfig, show_all: bool) -> None:
    app = App(config, Secrets())
    await app.open()
    statuses = [DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    if show_all:
        statuses.append(DeliveryStatus.SENT)
    try:
        async with app.db.transaction() as tx:
            items = await outbox.listing(tx, statuses, limit=200)
    finally:
        await app.db.close()
    tz = config.federation.tz
    header = f"{'id':>6} {'channel':9} {'chat':>14} {'status':8} {'tries':>5} {'next try':16}"
    print(f"{header} reason / text")
    for item in items:
        when = item.next_attempt_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        text = item.reply.text.splitlines()[0][:40] if item.reply.text else ""
        reason = item.last_error or ""
        print(
            f"{item.id:>6} {item.channel:9} {item.chat_id:>14} {item.status.value:8} "
            f"{item.attempts:>5} {when:16} {reason[:60] or text}"
        )
    if not items:
        print("nothing pending or failed")


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


async def _export(config: AppConfig, period_text: str, cluster_code: str | None, out: Path) -> int:
    """The workbook of one cluster, or of every cluster; a period with no data is an error."""
    app = App(config, Secrets())
    await app.open()
    lang = config.federation.default_language.value
    now = app.clock.now()
    today = now.astimezone(config.federation.tz).date()
    try:
        period = parse_period(period_text, today, PeriodKind.YEAR)
        async with app.db.transaction() as tx:
            cluster = await org.cluster(tx, cluster_code, period.year) if cluster_code else None
            if cluster_code and cluster is None:
                print(f"export: no cluster {cluster_code!r} in {period.year}", file=sys.stderr)
                return 1
            data = await build_workbook(
                tx,
                app.dispatcher.settings,
                app.catalog,
                lang,
                cluster,
                period,
                now,
                progress=_progress_bar("export"),
            )
    except UserInputError as exc:
        print(f"export: {app.catalog(lang, exc.key, **exc.params)}", file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    await asyncio.to_thread(out.write_bytes, data)
    print(f"{out}: {len(data) // 1024} KB, {period.label(lang)}")
    return 0


async def _targets(config: AppConfig, args: argparse.Namespace) -> int:
    app = App(config, Secrets())
    await app.open()
    try:
        if args.targets_command == "template":
            async with app.db.transaction() as tx:
                existing = await targets_repo.all_targets(tx)
            data = targets_template(
                list(config.units),
                list(config.all_measures),
                args.period,
                existing=existing,
                generated_at=app.clock.now(),
            )
            await asyncio.to_thread(Path(args.out).write_bytes, data)
            print(f"{args.out}: template for {args.period}")
            return 0
        path = Path(args.file)
        try:
            raw = await asyncio.to_thread(path.read_bytes)
            found = parse_targets(
                raw,
                path.name,
                units={u.code for u in config.units},
                measures={m.code for m in config.all_measures},
            )
        except TargetsFileError as exc:
            print(app.catalog("vi", exc.key, **exc.params), file=sys.stderr)
            return 1
        async with app.db.transaction() as tx:
            await targets_repo.replace_imported(tx, found, app.clock.now())
        print(f"imported {len(found)} targets from {path.name}")
        return 0
    finally:
        await app.db.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thidua", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command")
    for name, text in (
        ("run", "run the bot on Telegram (needs TELEGRAM_BOT_TOKEN)"),
        ("demo", "chat with the bot in this terminal, on sample data"),
        ("migrate", "apply database migrations"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", help="TOML file (default: THIDUA_CONFIG or config.example.toml)")
    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file")
    inv = sub.add_parser("invite", help="create an invite code")
    inv.add_argument("--config")
    inv.add_argument("--unit", required=True)
    inv.add_argument("--role", required=True, choices=[r.value for r in Role])
    inv.add_argument("--uses", type=int, default=1)
    inv.add_argument("--expires", help="e.g. 7d, 12h")
    rem = sub.add_parser("reminders", help="reminders: preview who would be reminded")
    rem_sub = rem.add_subparsers(dest="reminders_command", required=True)
    prev = rem_sub.add_parser("preview", help="dry run for one day")
    prev.add_argument("--date", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    prev.add_argument("--config")
    exp = sub.add_parser("export", help="standings, reports and targets as an Excel file")
    exp.add_argument("--period", required=True, help='e.g. 2025, "đợt 1 2025"')
    exp.add_argument("--cluster", help="a cluster code; default: every cluster of the year")
    exp.add_argument("--out", required=True, type=Path)
    exp.add_argument("--config")
    tgt = sub.add_parser("targets", help="targets: template and import")
    tgt_sub = tgt.add_subparsers(dest="targets_command", required=True)
    tmpl = tgt_sub.add_parser("template", help="an .xlsx to fill in")
    tmpl.add_argument("--period", required=True, help="2026, 2026-H1, …")
    tmpl.add_argument("--out", required=True)
    tmpl.add_argument("--config")
    imp = tgt_sub.add_parser("import", help="import targets from .xlsx or .csv (all or nothing)")
    imp.add_argument("file")
    imp.add_argument("--config")
    bak = sub.add_parser("backup", help="a verified copy of the database (also while running)")
    bak.add_argument("--out", type=Path, help="file to write (default: the [backup] folder)")
    bak.add_argument("--config")
    res = sub.add_parser("restore", help="put a backup back (the bot must be stopped)")
    res.add_argument("file", type=Path)
    res.add_argument("--config")
    box = sub.add_parser("outbox", help="list pending and failed messages with reasons")
    box.add_argument("--config")
    box.add_argument("--all", action="store_true", help="include sent messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    secrets = Secrets()
    has_token = secrets.telegram_bot_token or secrets.zalo_bot_token
    command = args.command or ("run" if has_token else "demo")
    if command == "check-config":
        problems, summary = check_config(args.file)
        if problems:
            print("\n".join(problems))
            print(summary, file=sys.stderr)
            return 1
        print(summary)
        return 0
    _logging(args.verbose)
    if command == "demo":
        logging.getLogger().setLevel(logging.WARNING)
    config = _load(getattr(args, "config", None), secrets)
    if command == "run":
        if not (config.telegram.enabled or config.zalo.enabled):
            print("No channel is enabled in the configuration.", file=sys.stderr)
            return 1
        if not has_token:
            print(
                "Neither TELEGRAM_BOT_TOKEN nor ZALO_BOT_TOKEN is set; "
                "starting the console demo instead.",
                file=sys.stderr,
            )
            asyncio.run(_demo(config, secrets))
            return 0
        from storage.lock import DatabaseInUse

        try:
            asyncio.run(_run(config, secrets))
        except DatabaseInUse as exc:
            lang = config.federation.default_language.value
            print(Catalog()(lang, "ops.in_use", path=exc.path, holder=exc.holder), file=sys.stderr)
            return 1
    elif command == "demo":
        asyncio.run(_demo(config, secrets))
    elif command == "migrate":
        asyncio.run(_migrate(config))
    elif command == "reminders":
        asyncio.run(_preview(config, args.date))
    elif command == "export":
        return asyncio.run(_export(config, args.period, args.cluster, args.out))
    elif command == "targets":
        return asyncio.run(_targets(config, args))
    elif command == "outbox":
        asyncio.run(_outbox(config, args.all))
    elif command == "backup":
        return asyncio.run(_backup(config, args.out))
    elif command == "restore":
        return asyncio.run(_restore(config, args.file))
    elif command == "invite":
        try:
            return asyncio.run(_invite(config, args))
        except ValueError as exc:
            print(f"invite: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
