"""The fake Slack speaks the real protocol: slack_sdk's own clients work against it unchanged.

These tests pin the fake to the real client libraries, so a test that passes against the fake says
something about svcbot against Slack: the Web API client, its retry handlers, the Socket Mode client and the
signature verifier, all from slack_sdk itself.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fake_slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, sign, slash_command_payload


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk sends even loopback traffic through HTTP(S)_PROXY when set; the fake must be reached."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def web_client(fake: FakeSlack, token: str = BOT_TOKEN, **kwargs: object) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def socket_client(fake: FakeSlack) -> AsyncIterator[SocketModeClient]:
    """A real Socket Mode client that acks every envelope with a payload echoing the command text."""
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web_client(fake))

    async def ack(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        reply = {"text": f"got {request.payload.get('text')}"}
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload=reply))

    client.socket_mode_request_listeners.append(ack)
    await client.connect()  # type: ignore[no-untyped-call]  # slack_sdk leaves these unannotated
    yield client
    await client.close()  # type: ignore[no-untyped-call]


async def test_post_message_gets_increasing_ts_and_is_recorded_as_sent(fake: FakeSlack) -> None:
    """chat.postMessage answers a unique, increasing ts; the call is recorded with its JSON body and token."""
    client = web_client(fake)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*web* restarted"}}]
    first = await client.chat_postMessage(channel="C0OPS", text="web restarted", blocks=blocks)
    second = await client.chat_postMessage(channel="C0OPS", text="again", thread_ts=first["ts"])
    await client.users_info(user="U0ADMIN")

    assert first["channel"] == "C0OPS" and float(second["ts"]) > float(first["ts"])
    [call, _] = fake.calls("chat.postMessage")
    assert call.params["blocks"] == blocks and call.response["ts"] == first["ts"]
    assert call.headers["content-type"].startswith("application/json")
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    [info] = fake.calls("users.info")
    assert info.params == {"user": "U0ADMIN"} and info.response["user"]["id"] == "U0ADMIN"
    assert fake.messages("C0OPS")[1]["thread_ts"] == first["ts"]


async def test_rate_limit_is_a_429_with_retry_after(fake: FakeSlack) -> None:
    """Without a retry handler slack_sdk raises SlackApiError carrying the 429 and its Retry-After."""
    fake.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        await web_client(fake).chat_postMessage(channel="C0OPS", text="hi")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


async def test_rate_limit_retry_handler_waits_retry_after_then_succeeds(fake: FakeSlack) -> None:
    """slack_sdk's AsyncRateLimitErrorRetryHandler honours Retry-After and the retry goes through."""
    fake.rate_limit("chat.postMessage", retry_after=1)
    client = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    response = await client.chat_postMessage(channel="C0OPS", text="hi")
    assert response["ok"] is True
    limited, delivered = fake.calls("chat.postMessage")
    assert (limited.status, delivered.status) == (429, 200)
    assert delivered.at - limited.at >= 1.0


async def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    """A bot token other than the configured one is refused with invalid_auth and still recorded."""
    with pytest.raises(SlackApiError) as raised:
        await web_client(fake, token="xoxb-not-the-right-one").auth_test()
    assert raised.value.response["error"] == "invalid_auth"
    assert [c.status for c in fake.calls("auth.test")] == [200]


async def test_faults_outages_and_response_urls(fake: FakeSlack) -> None:
    """fail() and down() answer like a broken Slack; response_url posts are recorded with their JSON body."""
    client = web_client(fake, retry_handlers=[])
    fake.fail("chat.update", error="message_not_found")
    fake.fail("auth.test", status=500)
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="C0OPS", ts="1700000000.000100", text="x")
    with pytest.raises(SlackApiError):
        await client.auth_test()
    fake.down()
    with pytest.raises(SlackApiError):
        await client.auth_test()
    fake.up()
    assert (await client.auth_test())["user_id"] == fake.bot_user_id
    assert [c.status for c in fake.calls("auth.test")] == [500, 503, 200]

    url = fake.response_url()
    sent = await AsyncWebhookClient(url).send_dict({"response_type": "ephemeral", "text": "web is running"})
    assert sent.status_code == 200
    [reply] = await fake.wait_for_async("response_url")
    assert reply.params == {"response_type": "ephemeral", "text": "web is running"}


async def test_socket_mode_client_connects_receives_and_acks(fake: FakeSlack, socket_client: object) -> None:
    """The real SocketModeClient opens a connection with the app token, gets an envelope and acks it."""
    await fake.wait_socket_connected_async()
    payload = slash_command_payload(text="status", response_url=fake.response_url())
    envelope_id = await fake.socket_send_async("slash_commands", payload)
    ack = await fake.wait_socket_ack_async(envelope_id)
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "got status"}}
    [opened] = fake.calls("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"


async def test_socket_disconnect_makes_the_client_reconnect(fake: FakeSlack, socket_client: object) -> None:
    """After Slack's "disconnect" message the client reconnects through apps.connections.open and acks."""
    await fake.wait_socket_connected_async()
    assert fake.socket_disconnect() == 1
    assert await fake.wait_socket_connected_async(total=2) == 2
    envelope_id = await fake.socket_send_async("events_api", {"type": "event_callback", "event": {}})
    assert (await fake.wait_socket_ack_async(envelope_id))["envelope_id"] == envelope_id
    assert len(fake.calls("apps.connections.open")) == 2


def test_sign_matches_slack_sdk_verifier_and_slacks_documented_example() -> None:
    """sign() computes Slack's v0 signature: slack_sdk accepts it, and it reproduces Slack's own example."""
    body = "token=t&team_id=T0TEAM&command=%2Fsvc&text=status"
    headers = sign(SIGNING_SECRET, body)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert verifier.is_valid_request(body.encode(), headers)
    assert not verifier.is_valid_request(body + "&text=restart", headers)
    assert not verifier.is_valid_request(body, sign(SIGNING_SECRET, body, int(time.time()) - 600))

    documented = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert sign("8f742231b10e8888abcd99yyyzzz85a5", documented, 1531420618) == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
