"""A fake Slack on loopback for tests: the Web API, response URLs and Socket Mode in one aiohttp app.

Why a server and not mocks: svcbot reaches Slack through slack_sdk and slack-bolt, and the bugs worth
catching live in what those libraries really put on the wire (form or JSON bodies, the bearer token, the
Retry-After wait, the Socket Mode ack). A real HTTP and WebSocket server on 127.0.0.1 lets tests drive the
real clients unchanged, pointed at `fake.url` (`AsyncWebClient(base_url=...)`, `SLACK_API_URL`), the way
bolt-python's own tests do with `tests/mock_web_api_server/`, and record every request they sent.

The server runs its own event loop in its own thread, so it answers whether the test is sync or async.
Every wait has a deadline and raises TimeoutError naming what it saw. `wait_*` block the calling thread;
their `*_async` twins run the same wait in a worker thread so an async test's loop, which runs the client
under test, keeps turning meanwhile.

What slack_sdk 3.47 sends (read from its source, checked here by test_fake_slack.py): methods that carry
blocks or views (chat.postMessage, chat.update, chat.postEphemeral, views.open/update/push) go as a JSON
body; the rest go form-encoded (POST) or as a query string (GET: users.info, usergroups.users.list,
conversations.info, chat.getPermalink); the token always goes as `Authorization: Bearer ...`, and
apps.connections.open sends the app-level token (xapp-) instead of the bot token. Recorded `params` merge
query string and body, and JSON-valued form fields (blocks, attachments, view, metadata) are decoded, so a
test reads `call.params["blocks"]` as a list either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import WSCloseCode, WSMsgType, web

__all__ = [
    "APP_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Call",
    "FakeSlack",
    "interaction_body",
    "sign",
    "slash_command_body",
    "slash_command_payload",
]

BOT_TOKEN = "xoxb-1111-2222-fakebottoken"
APP_TOKEN = "xapp-1-A0SVCBOT-3333-fakeapptoken"
SIGNING_SECRET = "fake-signing-secret"
TEAM_ID = "T0TEAM"
APP_ID = "A0SVCBOT"
BOT_ID = "B0SVCBOT"
BOT_USER_ID = "U0SVCBOT"

RESPONSE_URL_USES = 5  # Slack accepts a response_url five times (within 30 minutes)
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")

T = TypeVar("T")
Params = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request the fake received, as the client sent it, and what the fake answered.

    `method` is the Web API method ("chat.postMessage") or "response_url"; `params` merges the query string
    and the body; `headers` has lower-cased names; `at` is time.monotonic() on arrival, so tests can measure
    gaps such as a Retry-After wait.
    """

    method: str
    params: Params
    headers: dict[str, str]
    at: float
    status: int = 200
    response: Params = field(default_factory=dict)
    path: str = ""

    @property
    def ok(self) -> bool:
        """Whether the fake answered this call with success (HTTP 200 and "ok": true)."""
        return self.status == 200 and self.response.get("ok") is True


@dataclass(frozen=True)
class _Fault:
    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)
    channel: str | None = None  # only calls to this channel meet the fault (None: any call)

    def meets(self, params: Params) -> bool:
        return self.channel is None or params.get("channel") == self.channel


class _SlackError(Exception):
    """A Web API error answer ("ok": false) raised by a method handler."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _require(params: Params, name: str, error: str = "invalid_arguments") -> str:
    value = params.get(name)
    if value in (None, ""):
        raise _SlackError(error)
    return str(value)


def _decode_json_fields(params: Params) -> Params:
    """Form-encoded requests carry blocks/view/... as JSON strings; decode them so tests see one shape."""
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
    return params


def _nothing(params: Params) -> Params:
    """Any method the fake has no model of answers a bare {"ok": true} (and is recorded)."""
    return {}


def _blocking_hint() -> str:
    """A blocking wait on an event loop's thread stalls the client it waits for: say so when it times out."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return ""
    return " (this wait blocked a running event loop; in async tests use the *_async variant)"


async def _read_params(request: web.Request) -> Params:
    params: Params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()  # urlencoded or multipart; anything else reads as empty
            params.update(
                {k: v if isinstance(v, str) else getattr(v, "filename", "") for k, v in form.items()}
            )
    return _decode_json_fields(params)


class FakeSlack:
    """Slack's Web API, response URLs and Socket Mode on 127.0.0.1, recording every call.

    Use as a context manager (or `start()`/`stop()`); point clients at `url`. Program trouble with `fail`
    and `rate_limit` (optionally for one channel only), `heal` and `down`/`up`; inspect with `calls`,
    `wait_for` and `messages`; drive Socket Mode with `socket_send`, `wait_socket_ack` and
    `socket_disconnect`.
    """

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._groups: dict[str, list[str]] = {}
        self._users: dict[str, Params] = {}
        self._messages: dict[str, Params] = {}  # ts -> current message, with its channel
        self._views: dict[str, Params] = {}
        self._response_urls: dict[str, int] = {}  # id -> times used
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_total = 0
        self._acks: dict[str, Params] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self._down: str | None = None  # None, "503" or "refuse"
        self._seq = itertools.count(1)
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._handlers: dict[str, Callable[[Params], Params]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "views.open": self._open_view,
            "views.push": self._open_view,
            "views.update": self._update_view,
            "usergroups.users.list": self._group_users,
            "users.info": self._user_info,
            "conversations.info": self._conversation_info,
            "apps.connections.open": self._connections_open,
        }

    # ----------------------------------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Serve on a random loopback port from a thread of its own; returns when it is listening."""
        self._ready.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._serve, name="fake-slack", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0):
            raise RuntimeError("fake Slack did not start within 10 s")
        if self._start_error is not None:
            raise RuntimeError("fake Slack failed to start") from self._start_error
        return self

    def stop(self) -> None:
        """Close every WebSocket and connection, stop the server thread and wait for it."""
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10.0)
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The Web API base URL, as slack_sdk's `base_url` wants it (it appends the method name)."""
        return f"http://127.0.0.1:{self._port}/api/"

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:  # reported by start(), which is waiting for us
            self._start_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close())
            loop.close()

    async def _open(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await self._listen()
        self._port = int(self._runner.addresses[0][1])

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await self._site.start()

    async def _close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        await self._drop_sockets(None)
        if self._runner is not None:
            await self._runner.cleanup()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        """Run a coroutine on the server's loop from the test's thread and wait for its result."""
        assert self._loop is not None, "FakeSlack is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # ------------------------------------------------------------------------------------ configuration

    def set_group(self, group_id: str, user_ids: list[str]) -> None:
        """Members that `usergroups.users.list` reports for a user group (unknown groups: no_such_subteam)."""
        with self._cond:
            self._groups[group_id] = list(user_ids)

    def set_user(self, user_id: str, *, name: str, real_name: str = "", display_name: str = "") -> None:
        """What `users.info` says about a user; unset U.../W... IDs get a name derived from the ID."""
        with self._cond:
            self._users[user_id] = self._user(user_id, name, real_name or name, display_name or name)

    def fail(
        self,
        method: str,
        times: int = 1,
        *,
        status: int | None = None,
        error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Make the next `times` calls to `method` fail: HTTP `status` (default 500 when no error is given)
        and/or an `{"ok": false, "error": error}` answer (HTTP 200 unless `status` is given too). With
        `channel`, only calls to that channel fail (the others pass untouched)."""
        code = status if status is not None else (200 if error else 500)
        fault = _Fault(code, error or ("internal_error" if code >= 500 else "fatal_error"), channel=channel)
        with self._cond:
            self._faults[method].extend([fault] * times)

    def rate_limit(
        self, method: str, times: int = 1, retry_after: int = 1, *, channel: str | None = None
    ) -> None:
        """Answer the next `times` calls to `method` like Slack's rate limiter: HTTP 429, Retry-After.
        With `channel`, only calls to that channel (Slack limits chat.postMessage per channel)."""
        fault = _Fault(429, "ratelimited", {"Retry-After": str(retry_after)}, channel)
        with self._cond:
            self._faults[method].extend([fault] * times)

    def heal(self, method: str | None = None) -> None:
        """Drop the faults still programmed (for `method`, or every method): calls succeed again."""
        with self._cond:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def down(self, *, refuse: bool = False) -> None:
        """Take Slack down: drop WebSocket clients and answer 503 to everything, or with `refuse`, close
        the listening socket and open connections so clients get connection errors."""
        with self._cond:
            self._down = "refuse" if refuse else "503"
        self._run(self._go_down(refuse))

    def up(self) -> None:
        """Bring Slack back on the same port."""
        with self._cond:
            refused, self._down = self._down == "refuse", None
        if refused:
            self._run(self._listen())

    async def _go_down(self, refuse: bool) -> None:
        await self._drop_sockets(None)
        if refuse and self._site is not None and self._runner is not None:
            await self._site.stop()
            for conn in list(self._runner.server.connections if self._runner.server else []):
                conn.force_close()

    def response_url(self) -> str:
        """A fresh response_url, like the one Slack puts in slash commands and interactions."""
        rid = f"{next(self._seq)}-{uuid.uuid4().hex[:12]}"
        with self._cond:
            self._response_urls[rid] = 0
        return f"http://127.0.0.1:{self._port}/response/{rid}"

    # ---------------------------------------------------------------------------------------- inspection

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received so far, oldest first; only those to `method` when given."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls and socket acks (configuration, messages and faults stay)."""
        with self._cond:
            self._calls.clear()
            self._acks.clear()

    def messages(self, channel: str | None = None) -> list[Params]:
        """Messages posted so far in their current state (after chat.update), oldest first."""
        with self._cond:
            return [dict(m) for m in self._messages.values() if channel is None or m["channel"] == channel]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until at least `count` calls to `method` (matching `where`) arrived; return all of them."""

        def matching() -> list[Call] | None:
            found = [c for c in self._calls if c.method == method and (where is None or where(c))]
            return found if len(found) >= count else None

        def seen() -> str:
            return f"{count} {method} call(s); got: {[(c.method, c.status) for c in self._calls]}"

        return self._wait(matching, timeout, seen)

    async def wait_for_async(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """`wait_for` for async tests: the wait runs in a thread so the test's event loop keeps going."""
        return await asyncio.to_thread(self.wait_for, method, count, timeout, where)

    def _wait(self, ready: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:
        with self._cond:
            result = self._cond.wait_for(ready, timeout)
            if result is None:
                raise TimeoutError(f"fake Slack: no {what()} within {timeout} s{_blocking_hint()}")
            return result

    # ---------------------------------------------------------------------------------------- Socket Mode

    def wait_socket_connected(self, timeout: float = 5.0, *, total: int = 1) -> int:
        """Block until a Socket Mode client is connected and `total` connections were ever opened (use
        total=2 after `socket_disconnect` to see a reconnection); return the number opened."""

        def connected() -> int | None:
            return self._socket_total if self._sockets and self._socket_total >= total else None

        return self._wait(connected, timeout, lambda: f"Socket Mode connection #{total}")

    async def wait_socket_connected_async(self, timeout: float = 5.0, *, total: int = 1) -> int:
        """`wait_socket_connected` for async tests."""
        return await asyncio.to_thread(self.wait_socket_connected, timeout, total=total)

    def socket_send(
        self,
        envelope_type: str,
        payload: Params,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope ("slash_commands", "interactive", "events_api") to the newest connected client,
        as Slack sends each envelope to one connection; return its envelope_id. Waits for a client."""
        self.wait_socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        envelope: Params = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": (
                envelope_type != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        with self._cond:
            ws = self._sockets[-1]
        self._run(ws.send_str(json.dumps(envelope)), timeout)
        return envelope_id

    async def socket_send_async(
        self,
        envelope_type: str,
        payload: Params,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,
    ) -> str:
        """`socket_send` for async tests."""
        return await asyncio.to_thread(
            self.socket_send,
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            timeout=timeout,
        )

    def wait_socket_ack(self, envelope_id: str, timeout: float = 5.0) -> Params:
        """Block until the client acknowledged `envelope_id`; return its ack ({"envelope_id", "payload"?})."""
        return self._wait(lambda: self._acks.get(envelope_id), timeout, lambda: f"ack for {envelope_id}")

    async def wait_socket_ack_async(self, envelope_id: str, timeout: float = 5.0) -> Params:
        """`wait_socket_ack` for async tests."""
        return await asyncio.to_thread(self.wait_socket_ack, envelope_id, timeout)

    def socket_disconnect(self, reason: str | None = "refresh_requested", *, grace: float = 10.0) -> int:
        """Drop every Socket Mode client; return how many there were.

        With a `reason`, do what Slack does: send {"type": "disconnect", "reason": ...} and close only
        after `grace` seconds, leaving the client time to open a new connection and close the old one
        itself (closing at once too makes slack_sdk reconnect twice, once per signal). With `reason=None`,
        close at once, like a dropped network connection.
        """
        return self._run(self._drop_sockets(reason, grace))

    async def _drop_sockets(self, reason: str | None, grace: float = 0.0) -> int:
        with self._cond:
            sockets = list(self._sockets)
        for ws in sockets:
            if reason is None:
                await ws.close(code=WSCloseCode.GOING_AWAY)
                continue
            with contextlib.suppress(ConnectionError):
                await ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
            task = asyncio.create_task(self._close_after(ws, grace))
            self._timers.add(task)
            task.add_done_callback(self._timers.discard)
        return len(sockets)

    @staticmethod
    async def _close_after(ws: web.WebSocketResponse, grace: float) -> None:
        await asyncio.sleep(grace)  # Slack's grace period after a disconnect warning, not synchronisation
        await ws.close(code=WSCloseCode.GOING_AWAY)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if self._down is not None or request.query.get("ticket") not in self._tickets:
            return web.Response(status=503 if self._down else 401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._cond:
            opened = len(self._sockets) + 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": opened,
                "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        with self._cond:
            self._sockets.append(ws)
            self._socket_total += 1
            self._cond.notify_all()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_socket_text(message.data)
        finally:
            with self._cond:
                self._sockets.remove(ws)
                self._cond.notify_all()
        return ws

    def _on_socket_text(self, text: str) -> None:
        with contextlib.suppress(ValueError):
            message = json.loads(text)
            if isinstance(message, dict) and "envelope_id" in message:
                with self._cond:
                    self._acks[str(message["envelope_id"])] = message
                    self._cond.notify_all()

    # ------------------------------------------------------------------------------------------ HTTP side

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _read_params(request)
        status, body, headers = self._answer(method, params, request.headers.get("Authorization", ""))
        self._record(method, params, request, status, body)
        return web.json_response(body, status=status, headers=headers)

    async def _response(self, request: web.Request) -> web.StreamResponse:
        params = await _read_params(request)
        status, body, headers = self._answer("response_url", params, None, request.match_info["rid"])
        self._record("response_url", params, request, status, body)
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, params: Params, authorization: str | None, rid: str = ""
    ) -> tuple[int, Params, dict[str, str]]:
        with self._cond:
            if self._down is not None:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
            if authorization is not None and (token_error := self._token_error(method, authorization)):
                return 200, {"ok": False, "error": token_error}, {}
            faults = self._faults[method]
            fault = next((f for f in faults if f.meets(params)), None)
            if fault is not None:
                faults.remove(fault)  # the first one that applies: faults keep their order
                return fault.status, {"ok": False, "error": fault.error}, fault.headers
            try:
                if method == "response_url":
                    return 200, self._use_response_url(rid), {}
                return 200, {"ok": True, **self._handlers.get(method, _nothing)(params)}, {}
            except _SlackError as exc:
                return (404 if method == "response_url" else 200), {"ok": False, "error": exc.error}, {}

    def _token_error(self, method: str, authorization: str) -> str | None:
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        expected = self.app_token if method.startswith("apps.connections.") else self.bot_token
        if token == expected:
            return None
        if not token:
            return "not_authed"
        return "not_allowed_token_type" if token in (self.app_token, self.bot_token) else "invalid_auth"

    def _record(self, method: str, params: Params, request: web.Request, status: int, body: Params) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = Call(method, params, headers, time.monotonic(), status, body, request.path)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _use_response_url(self, rid: str) -> Params:
        uses = self._response_urls.get(rid)
        if uses is None:
            raise _SlackError("no_service")
        if uses >= RESPONSE_URL_USES:
            raise _SlackError("used_url")
        self._response_urls[rid] = uses + 1
        return {"ok": True}

    # ------------------------------------------------------------------------------ Web API method answers
    # Each runs under self._cond, gets the merged params, returns the answer without "ok": true, or raises
    # _SlackError with the error Slack gives for the same mistake.

    def _next_ts(self) -> str:
        n = next(self._seq)
        return f"{1700000000 + n // 10000}.{n % 10000 * 100:06d}"

    def _auth_test(self, params: Params) -> Params:
        return {
            "url": "https://svcbot-test.slack.com/",
            "team": "svcbot test",
            "user": "svcbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: Params) -> Params:
        channel = _require(params, "channel", "channel_not_found")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise _SlackError("no_text")
        ts = self._next_ts()
        message: Params = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "text": params.get("text", ""),
            "ts": ts,
        }
        message.update(
            {k: params[k] for k in ("blocks", "attachments", "thread_ts", "metadata") if k in params}
        )
        self._messages[ts] = {**message, "channel": channel}
        return {"channel": channel, "ts": ts, "message": message}

    def _update_message(self, params: Params) -> Params:
        channel = _require(params, "channel", "channel_not_found")
        ts = _require(params, "ts", "message_not_found")
        stored = self._messages.get(ts)
        if stored is None or stored["channel"] != channel:
            raise _SlackError("message_not_found")
        stored.update({k: params[k] for k in ("text", "blocks", "attachments", "metadata") if k in params})
        message = {k: v for k, v in stored.items() if k != "channel"}
        return {"channel": channel, "ts": ts, "text": stored.get("text", ""), "message": message}

    def _post_ephemeral(self, params: Params) -> Params:
        _require(params, "channel", "channel_not_found")
        _require(params, "user", "user_not_in_channel")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise _SlackError("no_text")
        return {"message_ts": self._next_ts()}

    def _permalink(self, params: Params) -> Params:
        channel = _require(params, "channel", "channel_not_found")
        ts = _require(params, "message_ts", "message_not_found")
        link = f"https://svcbot-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _full_view(self, view_id: str, view: Params) -> Params:
        defaults: Params = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:16],
            "root_view_id": view_id,
            "previous_view_id": None,
        }
        return {**defaults, **view, "id": view_id}

    def _open_view(self, params: Params) -> Params:
        _require(params, "trigger_id")
        view = params.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise _SlackError("invalid_arguments")
        view_id = f"V{next(self._seq):010d}"
        self._views[view_id] = self._full_view(view_id, view)
        return {"view": self._views[view_id]}

    def _update_view(self, params: Params) -> Params:
        view = params.get("view")
        if not isinstance(view, dict):
            raise _SlackError("invalid_arguments")
        wanted = params.get("view_id") or next(
            (vid for vid, v in self._views.items() if v["external_id"] == params.get("external_id", "")), None
        )
        if not wanted or wanted not in self._views:
            raise _SlackError("not_found")
        self._views[wanted] = self._full_view(wanted, view)
        return {"view": self._views[wanted]}

    def _group_users(self, params: Params) -> Params:
        group = _require(params, "usergroup", "no_such_subteam")
        if group not in self._groups:
            raise _SlackError("no_such_subteam")
        return {"users": list(self._groups[group])}

    def _user(self, user_id: str, name: str, real_name: str, display_name: str) -> Params:
        profile = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
        }
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "tz": "Etc/UTC",
            "profile": profile,
        }

    def _user_info(self, params: Params) -> Params:
        user_id = _require(params, "user", "user_not_found")
        if user_id in self._users:
            return {"user": self._users[user_id]}
        if not user_id.startswith(("U", "W")):
            raise _SlackError("user_not_found")
        name = user_id.lower()
        return {"user": self._user(user_id, name, name.capitalize(), name)}

    def _conversation_info(self, params: Params) -> Params:
        channel = _require(params, "channel", "channel_not_found")
        return {
            "channel": {
                "id": channel,
                "name": channel.lower(),
                "is_channel": channel.startswith("C"),
                "is_group": False,
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": True,
                "created": 1700000000,
            }
        }

    def _connections_open(self, params: Params) -> Params:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self._port}/link/?ticket={ticket}&app_id={APP_ID}"}


# ------------------------------------------------------------------------------------- what Slack sends us


def sign(secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack signs a request with: v0 = HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command_payload(
    command: str = "/svc",
    text: str = "status",
    user_id: str = "U0ADMIN",
    channel_id: str = "C0OPS",
    *,
    response_url: str,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command as Slack sends them: the Socket Mode payload, or the HTTP form.

    `response_url` has no default on purpose: take one from `FakeSlack.response_url()`, so a reply can
    never leave the machine.
    """
    return {
        "token": "fake-verification-token",  # the deprecated verification token; Bolt checks signatures
        "team_id": team_id,
        "team_domain": "svcbot-test",
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{time.time_ns() // 1000}.{uuid.uuid4().int % 10**9}.{uuid.uuid4().hex}",
    }


def slash_command_body(
    command: str = "/svc",
    text: str = "status",
    user_id: str = "U0ADMIN",
    channel_id: str = "C0OPS",
    *,
    response_url: str,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> str:
    """A slash command's HTTP body, form-encoded as Slack POSTs it to the request URL; sign it with `sign`."""
    return urlencode(
        slash_command_payload(
            command,
            text,
            user_id,
            channel_id,
            response_url=response_url,
            trigger_id=trigger_id,
            team_id=team_id,
            user_name=user_name,
            channel_name=channel_name,
        )
    )


def interaction_body(payload: Params) -> str:
    """An interaction's HTTP body (block_actions, view_submission, ...): form-encoded `payload=<json>`."""
    return urlencode({"payload": json.dumps(payload)})
