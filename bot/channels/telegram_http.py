"""python-telegram-bot's Bot API requests over aiohttp instead of its default httpx.

The same calls, bodies and timeouts as PTB's `HTTPXRequest` (form fields, multipart when a
file goes up), for a quarter of the CPU: a call cost 2.2-3.2 ms of CPU through httpx and
0.4-0.8 ms through aiohttp on the 2-core bench machine (issue 10), and the HTTP calls were
most of what the bot spent per update. Errors are PTB's own (`TimedOut`, `NetworkError`),
so everything above the request sees no difference. No message carries the bot token:
the URL's `/bot<token>` is cut out of every error.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_TOKEN = re.compile(r"/(?:file/)?bot[^/\s]+")


def _redacted(text: str) -> str:
    return _TOKEN.sub("/bot…", text)


class AiohttpRequest(BaseRequest):
    """One aiohttp session with at most `connection_pool_size` connections (HTTP/1.1,
    kept alive), PTB's default timeouts."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write if files else self._write
        body: Any = fields
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        # aiohttp has no write timeout: the body's sending counts against the read one.
        sock_read = None if read is None else read + (write_timeout or 0.0)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=sock_read,
        )
        try:
            async with session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from None
        except aiohttp.ClientError as exc:
            message = _redacted(f"aiohttp.{type(exc).__name__}: {exc}")
            raise NetworkError(message) from None
