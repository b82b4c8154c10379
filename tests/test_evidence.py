"""Evidence that lasts: every photo downloaded from its platform (the fake Telegram and Zalo
servers on 127.0.0.1) into the content-addressed store, checked (size, really a picture),
thumbnailed, retried when the platform fails (by count of attempts, on the injected clock),
marked and told to the officer when it cannot be kept, served from the store after the
platform forgot it, and flagged when the same picture is attached to another report.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import ZaloBotAPI
from bot.evidence import EvidenceFetcher
from bot.media import MediaStore
from bot.webhook import WebhookServer
from documents import images
from domain.errors import AccessDenied, DeliveryError
from domain.evidence import Likeness, PhotoState, hamming
from domain.messages import Reply
from domain.models import Photo, Role
from storage import reports as reports_repo
from storage.blobs import BlobStore, sha256
from tests.fakes.telegram_api import FakeTelegramAPI, picture
from tests.fakes.zalo_api import FakeZaloAPI
from tests.harness import FakeClock, Harness
from usecases import evidence
from usecases.access import OPERATOR, Caller, actor_of

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def jpeg(seed: str, size: tuple[int, int] = (640, 480), quality: int = 90) -> bytes:
    """A photo-sized JPEG drawn from the seed (the fakes' own pictures, larger)."""
    return picture(seed, size)


def recompressed(data: bytes, quality: int = 55, scale: float = 0.8) -> bytes:
    """The same picture saved again smaller and at another quality, as a messenger does."""
    image = Image.open(io.BytesIO(data))
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


# ---- the pieces ---------------------------------------------------------------------------


def test_a_picture_is_read_from_its_bytes_not_its_name() -> None:
    data = jpeg("a")
    facts = images.inspect(data)
    assert (facts.content_type, facts.width, facts.height) == ("image/jpeg", 640, 480)
    png = io.BytesIO()
    Image.new("RGBA", (50, 40), (10, 200, 30, 128)).save(png, "PNG")
    assert images.inspect(png.getvalue()).content_type == "image/png"
    for not_a_picture in (b"%PDF-1.4\n...", b"hello", b"", data[: len(data) // 2]):
        with pytest.raises(images.NotAnImage):
            images.inspect(not_a_picture)
    thumb = Image.open(io.BytesIO(images.thumbnail(data, 320)))
    assert thumb.format == "JPEG" and max(thumb.size) == 320
    assert Image.open(io.BytesIO(images.thumbnail(png.getvalue(), 320))).mode == "RGB"


def test_a_recompressed_copy_keeps_its_difference_hash_and_another_picture_does_not() -> None:
    original = images.inspect(jpeg("trao-qua")).dhash
    copy = images.inspect(recompressed(jpeg("trao-qua"))).dhash
    assert hamming(original, copy) <= 3
    others = [images.inspect(jpeg(f"khac-{n}")).dhash for n in range(10)]
    assert min(hamming(original, other) for other in others) > 8


def test_the_store_keeps_files_by_hash_sharded_and_checks_them(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "ev")
    data = jpeg("a")
    digest = store.put(data, b"thumb")
    assert digest == sha256(data)
    assert store.path(digest) == tmp_path / "ev" / digest[:2] / digest[2:4] / digest
    assert store.read(digest) == data and store.read_thumbnail(digest) == b"thumb"
    assert store.put(data, b"thumb") == digest  # the same bytes: kept once
    store.path(digest).write_bytes(b"damaged")
    assert store.read(digest) is None  # never served as evidence
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


# ---- downloads from the fake platforms ------------------------------------------------------


@dataclass
class Rig:
    h: Harness
    tg: FakeTelegramAPI
    zalo: FakeZaloAPI
    telegram: TelegramChannel
    zalo_channel: ZaloChannel
    store: BlobStore
    officer: int  # person id of the officer of ba_dinh
    other: int  # person id of the officer of tay_ho (another cluster)

    def fetcher(self, *, max_bytes: int = 10 * 1024 * 1024, attempts: int = 4) -> EvidenceFetcher:
        channels = {"telegram": self.telegram, "zalo": self.zalo_channel, "test": object()}
        return EvidenceFetcher(
            self.h.db,
            channels,
            self.store,
            self.h.clock,
            self.h.catalog,
            max_bytes=max_bytes,
            max_attempts=attempts,
            tell_within=dt.timedelta(hours=24),
            backoff_base=10.0,
        )

    async def report(self, *photos: Photo, person: int | None = None) -> int:
        person = person or self.officer
        unit = "ba_dinh" if person == self.officer else "tay_ho"
        async with self.h.db.transaction() as tx:
            made, _ = await reports_repo.create(
                tx,
                unit_code=unit,
                person_id=person,
                indicator="gifts",
                values={"count": 3, "occasion": "tet"},
                occurred_on=NOW.date(),
                photos=photos,
                source_key=f"k{photos}{person}",
                now=self.h.clock.now(),
            )
        return made.id

    async def photos(self, report_id: int, caller: Caller = OPERATOR) -> list:  # type: ignore[type-arg]
        async with self.h.db.transaction() as tx:
            return list((await evidence.report_photos(tx, caller, report_id)).photos)

    async def caller(self, person_id: int) -> Caller:
        from storage import people

        async with self.h.db.transaction() as tx:
            person = await people.get(tx, person_id)
            return Caller(await actor_of(tx, person, NOW.year), NOW.year)


async def _person_id(h: Harness, user_id: int) -> int:
    found = await h.scalar("SELECT person_id FROM identities WHERE platform_id = ?", str(user_id))
    assert isinstance(found, int)
    return found


pytestmark = pytest.mark.both_backends


@pytest.fixture
async def rig(tmp_path: Path, database: str) -> AsyncIterator[Rig]:
    h = await Harness.create(tmp_path, FakeClock(NOW), database=database)
    await h.person(1, "ba_dinh")
    await h.person(2, "tay_ho")
    await h.collect()
    async with (
        FakeTelegramAPI() as tg,
        FakeZaloAPI() as zalo,
        ZaloBotAPI(zalo.token, base_url=zalo.base_url) as api,
    ):
        telegram = TelegramChannel(
            token=tg.token,
            api_base_url=tg.base_url,
            file_base_url=tg.base_file_url,
            clock=h.clock,
            commands={},
        )
        await telegram.start()
        zalo_channel = ZaloChannel(api, h.db, h.clock)
        try:
            yield Rig(
                h,
                tg,
                zalo,
                telegram,
                zalo_channel,
                BlobStore(tmp_path / "evidence"),
                await _person_id(h, 1),
                await _person_id(h, 2),
            )
        finally:
            await zalo_channel.stop()
            await telegram.stop()
            await h.close()
        assert not tg.errors and not zalo.errors


async def test_a_telegram_photo_is_kept_and_served_after_telegram_forgets_it(rig: Rig) -> None:
    data = jpeg("telegram-1")
    path = rig.tg.add_file("AgACphoto1", data)
    report = await rig.report(Photo("telegram", "AgACphoto1", "uniq1", len(data)))

    assert await rig.fetcher().run_due() == 1

    assert len(rig.tg.calls_of("getFile")) == 1 and rig.tg.file_requests[path] == 1
    rig.tg.forget_file(path)  # the platform's URL goes away
    [photo] = await rig.photos(report)
    assert photo.state is PhotoState.STORED and photo.sha256 == sha256(data)
    assert (photo.content_type, photo.width, photo.height, photo.size) == (
        "image/jpeg",
        640,
        480,
        len(data),
    )
    assert evidence.original(rig.store, photo) == data  # from the store, not the platform
    thumb = evidence.thumbnail(rig.store, photo)
    assert thumb is not None and max(Image.open(io.BytesIO(thumb)).size) == 320
    assert await rig.fetcher().run_due() == 0  # stored: never fetched again
    assert not await rig.h.collect()  # nothing to tell the officer


async def test_a_zalo_image_url_is_kept_and_served_after_the_url_expires(rig: Rig) -> None:
    data = jpeg("zalo-1")
    url = rig.zalo.host_image("abc.jpg", data)
    report = await rig.report(Photo("zalo", url, "m1", 0))

    await rig.fetcher().run_due()
    rig.zalo.forget_file(urlsplit(url).path)

    [photo] = await rig.photos(report)
    assert photo.state is PhotoState.STORED
    assert evidence.original(rig.store, photo) == data


async def test_a_platform_briefly_down_is_retried_until_the_photo_comes(rig: Rig) -> None:
    data = jpeg("retry")
    path = rig.tg.add_file("AgACretry", data)
    report = await rig.report(Photo("telegram", "AgACretry"))
    fetcher = rig.fetcher(attempts=4)
    rig.tg.fail_file_next(502, count=2)

    assert await fetcher.run_due() == 1  # attempt 1: 502
    assert await fetcher.run_due() == 0  # not due again before its backoff
    [photo] = await rig.photos(report)
    assert photo.state is PhotoState.PENDING and "502" in (photo.error or "")
    rig.h.clock.advance(seconds=10)
    assert await fetcher.run_due() == 1  # attempt 2: 502 again
    rig.h.clock.advance(seconds=20)  # the backoff doubled
    assert await fetcher.run_due() == 1  # attempt 3: the file comes

    assert rig.tg.file_requests[path] == 3
    [photo] = await rig.photos(report)
    assert photo.state is PhotoState.STORED and evidence.original(rig.store, photo) == data
    assert not await rig.h.collect()
    attempts = await rig.h.scalar("SELECT attempts FROM report_photos WHERE report_id = ?", report)
    assert attempts == 3


async def test_a_photo_that_never_comes_is_marked_and_the_officer_told(rig: Rig) -> None:
    url = rig.zalo.host_image("down.jpg")
    report = await rig.report(Photo("zalo", url))
    fetcher = rig.fetcher(attempts=3)
    rig.zalo.fail_file_next(503, count=10)

    for _ in range(3):
        await fetcher.run_due()
        rig.h.clock.advance(hours=1)

    assert rig.zalo.file_requests[urlsplit(url).path] == 3  # exactly max_attempts tries
    [photo] = await rig.photos(report)
    assert photo.state is PhotoState.FAILED and "503" in (photo.error or "")
    [told] = await rig.h.collect()
    assert told.chat_id == "1"
    assert f"không tải được ảnh thứ 1 của báo cáo #{report}" in told.text
    assert f"/edit {report}" in told.text
    assert await fetcher.run_due() == 0  # marked, not retried forever


async def test_a_file_the_platform_no_longer_has_is_marked_at_once(rig: Rig) -> None:
    url = rig.zalo.host_image("gone.jpg")
    rig.zalo.forget_file(urlsplit(url).path)  # expired before the bot came to it
    unknown = await rig.report(Photo("telegram", "AgACnever-was"))
    gone = await rig.report(Photo("zalo", url), person=rig.other)

    await rig.fetcher(attempts=8).run_due()

    assert [p.state for p in await rig.photos(unknown)] == [PhotoState.FAILED]
    assert [p.state for p in await rig.photos(gone)] == [PhotoState.FAILED]
    told = await rig.h.collect()
    assert sorted(t.chat_id for t in told) == ["1", "2"]


async def test_an_old_photo_lost_before_an_upgrade_is_marked_quietly(rig: Rig) -> None:
    """Photos saved before the store existed are fetched too; one whose URL expired long ago
    is marked, but its officer is not asked to /edit a report they no longer can."""
    url = rig.zalo.host_image("old.jpg")
    rig.zalo.forget_file(urlsplit(url).path)
    report = await rig.report(Photo("zalo", url))
    rig.h.clock.advance(days=30)

    await rig.fetcher().run_due()

    assert [p.state for p in await rig.photos(report)] == [PhotoState.FAILED]
    assert not await rig.h.collect()


async def test_a_photo_larger_than_the_limit_is_refused_politely(rig: Rig) -> None:
    big = jpeg("big", (1600, 1200))
    rig.tg.add_file("AgACbig", big)
    url = rig.zalo.host_image("big.jpg", big)
    on_telegram = await rig.report(Photo("telegram", "AgACbig"), Photo("zalo", url))

    await rig.fetcher(max_bytes=len(big) - 1).run_due()

    assert not rig.tg.file_requests  # Telegram said its size: not even downloaded
    photos = await rig.photos(on_telegram)
    assert [p.state for p in photos] == [PhotoState.TOO_LARGE, PhotoState.TOO_LARGE]
    told = await rig.h.collect()
    assert len(told) == 2
    assert "Ảnh thứ 1 của báo cáo" in told[0].text and "Ảnh thứ 2" in told[1].text
    assert "lớn hơn" in told[0].text and "MB" in told[0].text
    assert not list(rig.store.folder.glob("*/*/*"))  # nothing kept


async def test_a_file_that_is_not_a_picture_is_refused_politely(rig: Rig) -> None:
    rig.tg.add_file("AgACpdf", b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n")
    url = rig.zalo.host_image("photo.jpg", b"<html>not a photo</html>")  # the name lies
    report = await rig.report(Photo("telegram", "AgACpdf"), Photo("zalo", url))

    await rig.fetcher().run_due()

    assert [p.state for p in await rig.photos(report)] == [PhotoState.NOT_IMAGE] * 2
    told = await rig.h.collect()
    assert [
        f"Tệp thứ {n} của báo cáo #{report} không phải là ảnh" in t.text
        for n, t in zip((1, 2), told, strict=True)
    ] == [True, True]


async def test_a_channel_without_files_marks_its_photos_quietly(rig: Rig) -> None:
    report = await rig.report(Photo("test", "console-photo-1"))
    await rig.fetcher().run_due()
    [photo] = await rig.photos(report)
    assert photo.state is PhotoState.FAILED
    assert not await rig.h.collect()


async def test_the_same_photo_on_another_report_is_flagged(rig: Rig) -> None:
    data = jpeg("trao-qua-tet")
    rig.tg.add_file("AgACfirst", data)
    rig.tg.add_file("AgACagain", data)  # sent again: another file id, the same bytes
    rig.tg.add_file("AgACcopy", recompressed(data))  # re-saved on a phone, sent to Zalo
    rig.tg.add_file("AgACother", jpeg("hop-ban-chap-hanh"))
    first = await rig.report(Photo("telegram", "AgACfirst"))
    again = await rig.report(Photo("telegram", "AgACagain"), person=rig.other)
    copy = await rig.report(Photo("telegram", "AgACcopy"), Photo("telegram", "AgACother"))

    await rig.fetcher().run_due()

    [one] = await rig.photos(first)
    assert {(d.likeness, d.report_id) for d in one.duplicates} == {
        (Likeness.SAME, again),
        (Likeness.SIMILAR, copy),
    }
    [two] = await rig.photos(again)
    assert two.sha256 == one.sha256 and [d.unit_code for d in two.duplicates] == [
        "ba_dinh",
        "ba_dinh",
    ]
    three, other = await rig.photos(copy)
    assert three.flagged and {d.report_id for d in three.duplicates} == {first, again}
    assert all(d.likeness is Likeness.SIMILAR and d.distance <= 3 for d in three.duplicates)
    assert not other.flagged  # a different picture
    assert len(list(rig.store.folder.glob("??/??/*"))) == 3  # the same bytes kept once


async def test_photos_are_shown_to_the_unit_and_its_cluster_leaders_only(rig: Rig) -> None:
    rig.tg.add_file("AgACseen", jpeg("seen"))
    report = await rig.report(Photo("telegram", "AgACseen"))
    await rig.fetcher().run_due()

    assert len(await rig.photos(report, await rig.caller(rig.officer))) == 1
    with pytest.raises(AccessDenied):
        await rig.photos(report, await rig.caller(rig.other))  # another cluster's officer
    head = await rig.h.person(3, "long_bien", Role.CLUSTER_HEAD)  # heads cum1 in 2026
    assert head is not None
    assert len(await rig.photos(report, await rig.caller(await _person_id(rig.h, 3)))) == 1


# ---- showing the photos: an album on Telegram, photos by URL on Zalo, lines elsewhere ----


async def _stored(rig: Rig, *seeds: str) -> tuple[list[bytes], tuple[str, ...]]:
    datas = [jpeg(seed) for seed in seeds]
    for seed, data in zip(seeds, datas, strict=True):
        rig.tg.add_file(f"AgAC{seed}", data)
    report = await rig.report(*(Photo("telegram", f"AgAC{seed}") for seed in seeds))
    await rig.fetcher().run_due()
    photos = await rig.photos(report)
    return datas, tuple(p.sha256 for p in photos if p.sha256)


def test_an_album_survives_the_outbox() -> None:
    reply = Reply("Thẻ duyệt", album=("a" * 64, "b" * 64))
    assert Reply.from_json(reply.to_json()) == reply
    assert Reply.from_json(Reply("cũ").to_json()).album == ()  # rows queued before albums


async def test_telegram_sends_the_photos_as_an_album_then_the_card_once(rig: Rig) -> None:
    datas, album = await _stored(rig, "a1", "a2", "a3")
    rig.tg.user(1001, "An")
    rig.telegram.evidence = rig.store
    card = Reply("Báo cáo #1 — chờ duyệt", album=album)
    rig.tg.fail_next("sendMessage", 502)

    with pytest.raises(DeliveryError) as failed:
        await rig.telegram.deliver("1001", card)
    assert not failed.value.permanent
    await rig.telegram.deliver("1001", card)  # the outbox's retry: the text only

    [group] = rig.tg.calls_of("sendMediaGroup")
    assert group.ok and len(group.result) == 3
    assert sorted(content for _, content in group.files.values()) == sorted(datas)
    assert [c.ok for c in rig.tg.calls_of("sendMessage")] == [False, True]

    rig.tg.calls.clear()
    await rig.telegram.deliver("1001", Reply("Một ảnh", album=album[:1]))
    [single] = rig.tg.calls_of("sendPhoto")
    assert single.files["photo"][1] == datas[0]


async def test_zalo_sends_each_photo_by_url_or_a_line_each(rig: Rig) -> None:
    datas, album = await _stored(rig, "z1", "z2")
    user = rig.zalo.user("u1", "An")
    user.text_update("/review")  # the chat exists for the strict fake
    media = MediaStore(clock=rig.h.clock)
    async with WebhookServer("127.0.0.1", 0, media=media) as server:
        channel = ZaloChannel(
            rig.zalo_channel.api,
            rig.h.db,
            rig.h.clock,
            media=media,
            public_base_url=server.url,
            evidence=rig.store,
        )
        await channel.deliver(user.id, Reply("Báo cáo #1 — chờ duyệt", album=album))
        photos = rig.zalo.calls_of("sendPhoto")
        assert len(photos) == 2
        async with httpx.AsyncClient() as client:  # what Zalo does with each URL
            got = [(await client.get(str(c.params["photo"]))).content for c in photos]
        assert got == datas
        assert rig.zalo.texts(user.id)[-1] == "Báo cáo #1 — chờ duyệt"

    without = ZaloChannel(rig.zalo_channel.api, rig.h.db, rig.h.clock, evidence=rig.store)
    await without.deliver(user.id, Reply("Thẻ", album=album))
    assert rig.zalo.texts(user.id)[-1] == (
        f"📷 1/2 · {album[0][:12]}\n📷 2/2 · {album[1][:12]}\n\nThẻ"
    )
    assert len(rig.zalo.calls_of("sendPhoto")) == 2  # no more photos


async def test_photos_command_lists_the_kept_photos_and_their_flags(rig: Rig) -> None:
    datas, album = await _stored(rig, "c1", "c2")
    rig.tg.add_file("AgACdup", datas[0])
    elsewhere = await rig.report(Photo("telegram", "AgACdup"), person=rig.other)
    await rig.fetcher().run_due()
    officer = rig.h.user(1, "Người 1")

    [shown] = await officer.send("/photos 1")

    assert shown.text.startswith("📷 Ảnh minh chứng của báo cáo #1 (2 ảnh):")
    assert "1. ✅ Đã lưu · 640×480" in shown.text and "2. ✅ Đã lưu" in shown.text
    assert f"⚠️ Trùng ảnh của báo cáo #{elsewhere} (đơn vị khác)" in shown.text
    assert "Tây Hồ" not in shown.text  # another cluster's unit is not named
    assert shown.reply.album == album
    [refused] = await rig.h.user(2, "Người 2").send("/photos 1")  # tay_ho: another cluster
    assert refused.text.startswith("Bạn không có quyền") and not refused.reply.album
    [none] = await officer.send(f"/photos {await rig.report()}")
    assert "không có ảnh minh chứng" in none.text
