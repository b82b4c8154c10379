"""The peer of the chat benchmarks: a bare python-telegram-bot echo bot.

It runs with thidua's own PTB settings, passed by the driver from the config
thidua runs with (concurrent updates, connection pool size, long-poll
timeout) and thidua's HTTP transport under PTB (aiohttp,
bot/channels/telegram_http.py; "httpx", PTB's default, on request), and does
the same Telegram work per update as a report conversation: a reply with an
inline button to every text; for every button press, the callback query
answered in the background while the reply is sent (as thidua's channel
does), no rate limiter and no storage. The floor for any
bot on the same PTB stack and fake Bot API.

    python bench/echo_bot.py TOKEN BASE_URL CONCURRENT_UPDATES POOL_SIZE POLL_TIMEOUT [TRANSPORT]
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

BUTTON = InlineKeyboardMarkup([[InlineKeyboardButton("tap", callback_data="tap")]])
_side_tasks: set[asyncio.Task[Any]] = set()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_chat is not None:
        text = f"echo: {update.effective_message.text}"
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=BUTTON)


async def _answer(query: Any) -> None:
    with contextlib.suppress(TelegramError):
        await query.answer()


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None and update.effective_chat is not None:
        task = asyncio.create_task(_answer(query))  # the spinner stops while we answer
        _side_tasks.add(task)
        task.add_done_callback(_side_tasks.discard)
        await context.bot.send_message(
            update.effective_chat.id, f"echo: pressed {query.data}", reply_markup=BUTTON
        )


def main() -> None:
    token, base_url = sys.argv[1], sys.argv[2]
    concurrency, pool, poll_timeout = (int(x) for x in sys.argv[3:6])
    transport = sys.argv[6] if len(sys.argv) > 6 else "aiohttp"
    builder = Application.builder().token(token).base_url(base_url)
    builder = builder.concurrent_updates(concurrency)
    if transport == "aiohttp":  # as thidua's channel builds it
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from bot.channels.telegram_http import AiohttpRequest

        builder = builder.request(AiohttpRequest(pool)).get_updates_request(AiohttpRequest(1))
    else:
        builder = builder.connection_pool_size(pool)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.run_polling(poll_interval=0, timeout=poll_timeout, drop_pending_updates=False)


if __name__ == "__main__":
    main()
