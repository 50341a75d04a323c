"""/metrics reports each service's last health check: how long it took and its Nagios-coded result.

A real `svcbot run` with real services and checks (http, tcp, a Nagios plugin), scraped over HTTP.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from tests.conftest import free_port, program, wait_until
from tests.fake_slack import FakeSlack
from tests.test_slack_http import running_bot

Samples = dict[tuple[str, str], float]


def scrape(port: int) -> Samples:
    """The per-service health-check samples of one scrape, keyed by (metric, service)."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, s.labels["service"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("svcbot_health_check_")
        for s in family.samples
    }


def result_of(port: int, service: str) -> float | None:
    return scrape(port).get(("svcbot_health_check_result", service))


def test_health_check_duration_and_result_are_scraped(tmp_path: Path) -> None:
    """A passing check reads 0, a WARNING plugin 1, a refused tcp check and a failing http check 2,
    each with the last check's duration; a service without a check has neither series."""
    web_port, fail = free_port(), tmp_path / "fail"
    status = tmp_path / "plugin-status"
    status.write_text("1")
    fast = {"interval": "200ms", "timeout": "2s", "failures": 1, "on_unhealthy": "alert"}
    services = {
        "web": {
            "command": program("listen", web_port, fail),
            "health": {"http": f"http://127.0.0.1:{web_port}/", **fast},
        },
        "plugin": {
            "command": program("hang"),
            "health": {"command": program("nagios_check", status), **fast},
        },
        "db": {"command": program("hang"), "health": {"tcp": f"127.0.0.1:{free_port()}", **fast}},
        "plain": {"command": program("hang")},
    }
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, tokens={}) as bot:
        expected = {"web": 0.0, "plugin": 1.0, "db": 2.0}
        wait_until(
            lambda: all(result_of(bot.port, name) == code for name, code in expected.items()),
            20,
            "the first health checks in /metrics",
        )
        samples = scrape(bot.port)
        for name in expected:
            assert 0.0 < samples[("svcbot_health_check_duration_seconds", name)] < 2.0
        assert not [key for key in samples if key[1] == "plain"]

        fail.touch()  # the http check now gets a 503
        wait_until(lambda: result_of(bot.port, "web") == 2.0, 20, "web's failing check in /metrics")
        assert scrape(bot.port)[("svcbot_health_check_duration_seconds", "web")] > 0.0
