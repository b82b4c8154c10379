"""The dashboard: server-rendered pages under ``/app`` for federation staff and cluster heads.

A presentation layer beside ``handlers/``: it turns HTTP requests into calls of the same
use cases, asked with a `usecases.access.Caller` built from the signed-in person, so the
chat, the command line and these pages share one access policy (`domain.access`). It
imports runtime, usecases, documents and domain, never storage (tests/test_layout.py).

Pieces:

* `web.app` — the aiohttp sub-application mounted on the bot's one HTTP server
  (`bot.webhook.WebhookServer`): the session cookie, CSRF check, security headers, error
  pages (403 / 400 / 404, polite, nothing leaked), static assets, the sign-in routes
  (``/app/login`` by a one-time link from ``/web`` in the chat, ``/app/tg`` for the
  Telegram Mini App, ``/app/logout``).
* `web.context.WebCtx` — what a page handler gets: the person's `Caller` (``await
  w.caller(tx)`` inside ``async with w.tx() as tx``), ``w.t(key)`` in their language,
  ``w.render(template, **values)``, parameter parsers that answer 400 on bad input.
* `web.pages` — one module per page, each exporting ``PAGE``.

How a new page is added:

1. Write ``web/pages/<name>.py`` with handlers ``async def show(w: WebCtx) ->
   web.StreamResponse`` and a ``PAGE = Page("<name>", routes=(Route("GET", "/<name>",
   show, Action.X),), nav=Nav("web.nav_<name>", "/<name>", Action.X))``. `Route.action`
   is the policy's first gate (any of the person's roles could ever do X: else 403);
   inside, call a use case with ``await w.caller(tx)``: it asks the policy for the
   concrete target (a cluster, a report) and raises AccessDenied → 403.
2. Add it to ``PAGES`` in ``web/pages/__init__.py`` (the order is the navigation's).
3. Templates go in ``web/templates/<name>.html`` extending ``base.html``; every word via
   ``t("web.…")`` in BOTH catalogs (tests/test_catalog.py reads the templates too);
   every POST form includes ``{{ csrf_field() }}`` (a POST without it answers 403).
   No inline script or style (the Content-Security-Policy refuses them): JavaScript
   goes in ``web/static/*.js``, listed in ``web.app.STATIC``.
4. Add its routes to the HTTP authorization matrix (tests/test_web_matrix.py): every
   route × every role, expected outcomes written out by hand.
"""
