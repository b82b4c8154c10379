"""The dashboard's authorization matrix over HTTP: every route and action × every role,
against the real server. Expected statuses are written out by hand, not computed from the
policy. Officers and chairs cannot get a session (no /web link, the Mini App refuses them);
their column is a session made directly in the database, as if their role had changed
after they signed in: every page must still refuse them.

Rows of a new page go here (web/__init__.py: how a page is added): the test fails on a
route without a row.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from storage import people as people_repo
from storage import web as web_repo
from tests.web_site import PEOPLE, Site, client, served, session_cookie, sign_in
from usecases import websignin
from web.app import COOKIE, sign
from web.pages import PAGES

# Columns: A anonymous, O officer, C chair, H head of cum1 (long_bien), D deputy of cum1
# (hoan_kiem), Y head of cum2 (tay_ho), M admin.
ROLES = "AOCHDYM"
WHO = {"O": "officer", "C": "chair", "H": "head", "D": "deputy", "Y": "other_head", "M": "admin"}

# (method, route path as declared, the URL asked) → status per role in ROLES order.
# {cum1} / {cum2}: a report of that cluster.
MATRIX: list[tuple[str, str, str, tuple[int, ...]]] = [
    ("GET", "/", "/app/", (401, 403, 403, 303, 303, 303, 303)),
    ("GET", "/standings", "/app/standings", (401, 403, 403, 200, 200, 200, 200)),
    (
        "GET",
        "/standings",
        "/app/standings?cluster=cum1&period=2026",
        (401, 403, 403, 200, 200, 403, 200),
    ),
    (
        "GET",
        "/standings",
        "/app/standings?cluster=cum2&period=2026-H1",
        (401, 403, 403, 403, 403, 200, 200),
    ),
    (
        "GET",
        "/standings/chart.png",
        "/app/standings/chart.png?cluster=cum1&period=2026",
        (401, 403, 403, 200, 200, 403, 200),
    ),
    (
        "GET",
        "/standings/workbook.xlsx",
        "/app/standings/workbook.xlsx?cluster=cum1&period=2026",
        (401, 403, 403, 200, 200, 403, 200),
    ),
    (
        "GET",
        "/standings/workbook.xlsx",
        "/app/standings/workbook.xlsx?cluster=cum2&period=2026",
        (401, 403, 403, 403, 403, 200, 200),
    ),
    ("GET", "/completeness", "/app/completeness", (401, 403, 403, 200, 200, 200, 200)),
    # finalising and deciding unlocks are the head's (a deputy's pages say so: 403)
    ("GET", "/finalize", "/app/finalize", (401, 403, 403, 200, 403, 200, 200)),
    (
        "GET",
        "/finalize",
        "/app/finalize?cluster=cum1&period=2026",
        (401, 403, 403, 200, 403, 403, 200),
    ),
    # not finalised: no document to file (400) for those who may export the cluster
    (
        "GET",
        "/standings/filed/{kind}",
        "/app/standings/filed/bien-ban?cluster=cum1&period=2026",
        (401, 403, 403, 400, 400, 403, 400),
    ),
    # Y finalises cum2's half-year first; the admin after them is told it is done (400)
    (
        "POST",
        "/finalize",
        "/app/finalize?cluster=cum2&period=2026-H1",
        (401, 403, 403, 403, 403, 303, 400),
    ),
    (
        "GET",
        "/standings/filed/{kind}",
        "/app/standings/filed/bang-tong-hop?cluster=cum2&period=2026-H1",
        (401, 403, 403, 403, 403, 200, 200),
    ),
    (
        "POST",
        "/finalize/reopen",
        "/app/finalize/reopen?cluster=cum2&period=2026-H1&reason=sai",
        (401, 403, 403, 403, 403, 403, 303),
    ),
    ("GET", "/unit", "/app/unit?unit=ba_dinh", (401, 403, 403, 200, 200, 403, 200)),
    ("GET", "/unit", "/app/unit?unit=tay_ho", (401, 403, 403, 403, 403, 200, 200)),
    ("GET", "/unit", "/app/unit?unit=nowhere", (401, 403, 403, 400, 400, 400, 400)),
    ("GET", "/unlocks", "/app/unlocks", (401, 403, 403, 200, 403, 200, 200)),
    # no such request: those who decide requests are told it is gone (400)
    (
        "POST",
        "/unlocks/{id}",
        "/app/unlocks/99999999?decision=grant",
        (401, 403, 403, 400, 403, 400, 400),
    ),
    ("GET", "/reports", "/app/reports", (401, 403, 403, 200, 200, 200, 200)),
    (
        "GET",
        "/reports",
        "/app/reports?unit=ba_dinh&period=2026",
        (401, 403, 403, 200, 200, 403, 200),
    ),
    (
        "GET",
        "/reports",
        "/app/reports?unit=tay_ho&period=2026",
        (401, 403, 403, 403, 403, 200, 200),
    ),
    ("GET", "/reports/units.json", "/app/reports/units.json", (401, 403, 403, 200, 200, 200, 200)),
    (
        "GET",
        "/reports",
        "/app/reports?unit=T%C3%A2y+H%E1%BB%93&period=2026",  # "Tây Hồ": cum2's, by name
        (401, 403, 403, 200, 200, 200, 200),
    ),
    ("GET", "/reports/{id}", "/app/reports/{cum1}", (401, 403, 403, 200, 200, 403, 200)),
    ("GET", "/reports/{id}", "/app/reports/{cum2}", (401, 403, 403, 403, 403, 200, 200)),
    ("GET", "/reports/{id}", "/app/reports/99999999", (401, 403, 403, 403, 403, 403, 403)),
    # nobody reviews in this configuration ([review] by = "nobody"): said so, 400
    (
        "POST",
        "/reports/{id}/review",
        "/app/reports/{cum1}/review?version=1&decision=accept",
        (401, 403, 403, 400, 400, 403, 400),
    ),
    # no photo stored here: those who may see the report get 404, the others 403 first
    (
        "GET",
        "/reports/{id}/photos/{n}",
        "/app/reports/{cum1}/photos/1",
        (401, 403, 403, 404, 404, 403, 404),
    ),
    (
        "POST",
        "/completeness/remind",
        "/app/completeness/remind?unit=ba_dinh",
        (401, 403, 403, 200, 200, 403, 200),
    ),
    (
        "POST",
        "/completeness/remind",
        "/app/completeness/remind?unit=tay_ho",
        (401, 403, 403, 403, 403, 200, 200),
    ),
    ("GET", "/targets", "/app/targets", (401, 403, 403, 200, 200, 200, 200)),
    ("GET", "/targets", "/app/targets?cluster=cum1", (401, 403, 403, 200, 200, 403, 200)),
    ("GET", "/targets", "/app/targets?cluster=cum2", (401, 403, 403, 403, 403, 200, 200)),
    ("GET", "/targets", "/app/targets?cluster=*", (401, 403, 403, 200, 200, 200, 200)),
    (
        "GET",
        "/targets/template.xlsx",
        "/app/targets/template.xlsx",
        (401, 403, 403, 403, 403, 403, 200),
    ),
    # no file sent: the admin is told so on the page (400); everyone else is refused first
    ("POST", "/targets/upload", "/app/targets/upload", (401, 403, 403, 403, 403, 403, 400)),
    (
        "POST",
        "/targets/edit",
        "/app/targets/edit?unit=ba_dinh&measure=new_unions&period=2026&value=25",
        (401, 403, 403, 403, 403, 403, 303),
    ),
    ("GET", "/people", "/app/people", (401, 403, 403, 200, 200, 200, 200)),
    ("GET", "/people", "/app/people?cluster=cum1", (401, 403, 403, 200, 200, 403, 200)),
    ("GET", "/people", "/app/people?cluster=cum2", (401, 403, 403, 403, 403, 200, 200)),
    ("GET", "/people", "/app/people?cluster=*", (401, 403, 403, 200, 200, 200, 200)),
    ("GET", "/overview", "/app/overview?period=2026-H1", (401, 403, 403, 403, 403, 403, 200)),
    (
        "POST",
        "/people/active",
        "/app/people/active?person=1&active=1",  # a sample reporter, reactivated
        (401, 403, 403, 403, 403, 403, 303),
    ),
    ("GET", "/invites", "/app/invites", (401, 403, 403, 403, 403, 403, 200)),
    (
        "POST",
        "/invites",
        "/app/invites?role=officer&unit=ba_dinh",
        (401, 403, 403, 403, 403, 403, 200),
    ),
    ("GET", "/overview", "/app/overview", (401, 403, 403, 403, 403, 403, 200)),
    ("POST", "/lang", "/app/lang", (401, 403, 403, 303, 303, 303, 303)),
    ("POST", "/logout", "/app/logout", (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/login", "/app/login?t=%3Cnot-a-token%3E", (400,) * 7),
    # a well-formed link shows its button whatever it is worth: a GET tells nothing
    ("GET", "/login", "/app/login?t=well-formed-but-never-issued", (200,) * 7),
    ("POST", "/login", "/app/login", (400,) * 7),
    ("GET", "/tg", "/app/tg", (200,) * 7),
    ("POST", "/tg", "/app/tg", (403,) * 7),
]


@dataclass
class World:
    site: Site
    cookies: dict[str, str]  # role letter → signed session cookie
    reports: dict[str, int]  # "cum1" / "cum2" → a report of that cluster


async def _made_session(site: Site, who: str) -> str:
    """A session written straight into the database (see the module docstring)."""
    uid = str(PEOPLE[who][0])
    token = secrets.token_urlsafe(32)
    async with site.h.db.transaction() as tx:
        person = await people_repo.by_identity(tx, site.h.channel, uid)
        assert person is not None
        now = site.h.clock.now()
        await web_repo.add_session(
            tx,
            websignin.token_hash(token),
            person.id,
            "link",
            now,
            now + site.deps.session_lifetime,
        )
        key = await websignin.signing_key(tx)
    return sign(key, token)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with served(tmp_path) as site:
        cookies: dict[str, str] = {}
        for letter in "HDYM":
            async with client() as browser:
                assert await sign_in(site, browser, await site.link(WHO[letter])) == 303
                cookies[letter] = session_cookie(browser)
        for letter in "OC":
            cookies[letter] = await _made_session(site, WHO[letter])
        await site.users["other_head"].send("tặng 5 suất quà nhân dịp tết ngày 1/3")
        await site.users["other_head"].press("Lưu")
        found = {
            "cum1": await site.h.scalar("SELECT MIN(id) FROM reports WHERE unit_code = 'ba_dinh'"),
            "cum2": await site.h.scalar("SELECT MIN(id) FROM reports WHERE unit_code = 'tay_ho'"),
        }
        yield World(site, cookies, {k: int(v) for k, v in found.items()})  # type: ignore[arg-type]


async def _csrf(browser: aiohttp.ClientSession, url: str) -> str:
    async with browser.get(f"{url}/app/standings") as page:
        found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    return found.group(1) if found else ""


async def _ask(w: World, role: str, method: str, url: str) -> int:
    url = url.format(**w.reports)
    async with client() as browser:
        if role != "A":
            browser.cookie_jar.update_cookies({COOKIE: w.cookies[role]})
        if method == "GET":
            async with browser.get(f"{w.site.url}{url}", allow_redirects=False) as answer:
                return answer.status
        path, _, query = url.partition("?")
        form = {"obligation": "monthly", "period": "2026-04", "lang": "en"}
        form.update(part.split("=") for part in query.split("&") if part)
        if role != "A":
            form["csrf"] = await _csrf(browser, w.site.url)
        async with browser.post(f"{w.site.url}{path}", data=form, allow_redirects=False) as answer:
            return answer.status


async def test_every_route_by_every_role(world: World) -> None:
    got = {}
    expected = {}
    for method, _, url, statuses in MATRIX:
        # a sign-out ends the session: each cell asks with its own copy, so sign-outs go last
        got[(method, url)] = tuple([await _ask(world, role, method, url) for role in ROLES])
        expected[(method, url)] = statuses
    assert got == expected


def test_every_route_has_a_row() -> None:
    from web.app import _SIGN_IN

    declared = {(r.method, r.path) for page in PAGES for r in page.routes}
    declared |= {(r.method, r.path) for r in _SIGN_IN}
    assert declared == {(method, path) for method, path, _, _ in MATRIX}
