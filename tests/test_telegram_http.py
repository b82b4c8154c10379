"""The aiohttp transport under python-telegram-bot (bot/channels/telegram_http.py): PTB's
own errors, and never the bot token in one. Everything else it does (form fields, file
uploads, downloads, long polls) runs in every Telegram test through the fake Bot API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram_http import AiohttpRequest

TOKEN = "123456:SECRET-token"


@pytest.fixture
async def request_() -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(2)
    await request.initialize()
    yield request
    await request.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_is_a_network_error_without_the_token(
    request_: AiohttpRequest,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot{TOKEN}/getMe"
    with pytest.raises(NetworkError) as caught:
        await request_.do_request(url, "POST")
    assert "SECRET" not in str(caught.value)
    assert caught.value.__suppress_context__  # the aiohttp error (its URL) is not shown


async def test_an_answer_that_never_comes_is_timed_out(request_: AiohttpRequest) -> None:
    never = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/{tail:.*}", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(TimedOut):
            await request_.do_request(
                f"http://127.0.0.1:{port}/bot{TOKEN}/getUpdates",
                "POST",
                read_timeout=0.05,
                write_timeout=0.0,
            )
    finally:
        never.set()
        await runner.cleanup()
