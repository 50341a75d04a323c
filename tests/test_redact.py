"""Secret redaction: each pattern, what must survive, and idempotence."""

from __future__ import annotations

import time

import pytest

from manager.core.redact import REDACTED, is_secret_name, redact_argv, redact_env, redact_lines, redact_text

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
SENTRY_KEY = "0123456789abcdef0123456789abcdef"
PEM = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB",
    "aQ2xTMr7FbPn8ndC0Wm4vhbX3y7ByJ9VZ5Qb3EaCU0mhVi0FPeCkXR6KBLc0AXgA",
    "-----END RSA PRIVATE KEY-----",
]

REDACTIONS = [
    # key = value, in the forms logs, env dumps, JSON, YAML, reprs and URLs use
    ("token=abc123 user=bob", "token=[REDACTED] user=bob"),
    ("PGPASSWORD=hunter2 psql -h db", "PGPASSWORD=[REDACTED] psql -h db"),
    ("secret: s3cr3t", "secret: [REDACTED]"),
    ("api_key=sk_live_51Habc", "api_key=[REDACTED]"),
    ('{"password": "hunter2", "user": "bob"}', '{"password": "[REDACTED]", "user": "bob"}'),
    ('{"token": "a\\"b", "n": 1}', '{"token": "[REDACTED]", "n": 1}'),
    ("{'api_key': 'sk_live_abc', 'retries': 3}", "{'api_key': '[REDACTED]', 'retries': 3}"),
    ("Client(client_secret='xyz', timeout=5)", "Client(client_secret='[REDACTED]', timeout=5)"),
    ("X-Api-Key: 9f8e7d6c5b4a", "X-Api-Key: [REDACTED]"),
    ("--password=hunter2", "--password=[REDACTED]"),
    ("GET /cb?code=1&access_token=abc123&state=z", "GET /cb?code=1&access_token=[REDACTED]&state=z"),
    ("Cookie: sessionid=abc123; theme=dark", "Cookie: [REDACTED]; theme=dark"),
    ("monkey=token=abc", "monkey=token=[REDACTED]"),
    # Authorization headers and bearer tokens keep their scheme
    ("Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer [REDACTED]"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"),
    ("curl -H 'Authorization: Token 9f8e7d6c'", "curl -H 'Authorization: Token [REDACTED]'"),
    ("sent Bearer abcdef123456 upstream", "sent Bearer [REDACTED] upstream"),
    # URLs with credentials keep everything but the password
    ("postgres://app:s3cr%40t@db.internal:5432/app", "postgres://app:[REDACTED]@db.internal:5432/app"),
    ("redis://:hunter2@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
    ("amqp://svc:p@ss@mq/vhost", "amqp://svc:[REDACTED]@mq/vhost"),
    # Sentry DSNs: the key is the username
    (f"dsn is https://{SENTRY_KEY}@o1.ingest.sentry.io/2", "dsn is https://[REDACTED]@o1.ingest.sentry.io/2"),
    (f"SENTRY_DSN=https://{SENTRY_KEY}@o1.ingest.sentry.io/2", "SENTRY_DSN=[REDACTED]"),
    # typed tokens keep their recognisable prefix
    ("bot xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx ok", "bot xoxb-[REDACTED] ok"),
    ("user xoxp-1234567890-1234567890-1234567890123-abcdef", "user xoxp-[REDACTED]"),
    ("app xapp-1-A0123456789-1234567890123-abcdef0123456789", "app xapp-[REDACTED]"),
    ("AKIAIOSFODNN7EXAMPLE leaked", "AKIA[REDACTED] leaked"),
    ("ASIAY34FZKBOKMUTVV7A", "ASIA[REDACTED]"),
    ("push with ghp_" + "a1B2" * 9 + " failed", "push with ghp_[REDACTED] failed"),
    ("gho_" + "Z" * 40, "gho_[REDACTED]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_[REDACTED]"),
    (f"jwt {JWT} rejected", "jwt [REDACTED] rejected"),
    (
        "POST https://hooks.slack.com/services/T000/B000/XXXXXXXX failed",
        "POST https://hooks.slack.com/services/[REDACTED] failed",
    ),
    # private keys, whole or with the BEGIN line cut off
    ("\n".join(PEM), f"{PEM[0]}\n[REDACTED]\n{PEM[-1]}"),
    ('{"private_key": "' + "\\n".join(PEM) + '\\n"}', '{"private_key": "[REDACTED]"}'),
    ("pem " + "\\n".join(PEM), f"pem {PEM[0]}[REDACTED]{PEM[-1]}"),
    ("\n".join(PEM[:2]), f"{PEM[0]}\n[REDACTED]"),
    ("\n".join(PEM[1:]), f"[REDACTED]\n{PEM[-1]}"),
]

UNTOUCHED = [
    "monkey",
    "keyboard",
    "keyboard layout set to us",
    "keyboard: us",
    "monkey: 3",
    "tokenizer module loaded",
    "tokenizer: bert-base",
    "password policy updated",
    "rotate your token before Friday",
    "KeyError: 'session_id'",
    "TokenError: expired",
    "AuthenticationError: invalid credentials for user bob",
    "Session::start failed",
    "if token == other:",
    "password=",
    'password=""',
    "author: Jane",
    "https://user@github.com/org/repo.git",
    "postgres://db.internal:5432/app",
    "Basic authentication required",
    "the bearer of bad news",
    "xoxo-gossip",
    "ghp_short",
    'File "/srv/app/auth/session.py", line 12, in get_token',
    'psycopg2.OperationalError: FATAL: password authentication failed for user "app"',
]


@pytest.mark.parametrize(("text", "expected"), REDACTIONS)
def test_redact_text_hides_each_secret_pattern(text: str, expected: str) -> None:
    """Every recognised secret becomes [REDACTED], and its label or prefix stays readable."""
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", UNTOUCHED)
def test_redact_text_leaves_prose_and_look_alikes_alone(text: str) -> None:
    """Words that merely contain or mention a secret word, without a value, are not redacted."""
    assert redact_text(text) == text


@pytest.mark.parametrize("text", [t for t, _ in REDACTIONS] + UNTOUCHED)
def test_redact_text_is_idempotent(text: str) -> None:
    """Redacting redacted text changes nothing."""
    once = redact_text(text)
    assert redact_text(once) == once


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("SLACK_BOT_TOKEN", True),
        ("SLACK_SIGNING_SECRET", True),
        ("SVCBOT_ALERTMANAGER_TOKEN", True),
        ("DB_PASSWORD", True),
        ("PGPASSWORD", True),
        ("SMTP_PASSWD", True),
        ("DB_PWD", True),
        ("MYSQL_PWD", True),
        ("API_KEY", True),
        ("PRIVATE_KEY", True),
        ("SLACK_SIGNING_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("aws.secret_key", True),
        ("x-api-key", True),
        ("apiKey", True),
        ("apikey", True),
        ("accessToken", True),
        ("csrftoken", True),
        ("clientSecret", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", True),
        ("BASIC_AUTH", True),
        ("OAUTH_CLIENT", True),
        ("Authorization", True),
        ("HTTPAuthorization", True),
        ("SENTRY_DSN", True),
        ("SESSION_COOKIE", True),
        ("Set-Cookie", True),
        ("sessionid", True),
        ("GPG_PASSPHRASE", True),
        ("KEYBOARD_LAYOUT", False),
        ("MONKEY", False),
        ("DONKEY_COUNT", False),
        ("KEYCLOAK_URL", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("AUTHOR", False),
        ("AUTHORITY", False),
        ("PWD", False),
        ("OLDPWD", False),
        ("PATH", False),
        ("HOME", False),
        ("DATABASE_URL", False),
        ("PYTHONUNBUFFERED", False),
        ("SVCBOT_RUN_ID", False),
    ],
)
def test_is_secret_name(name: str, secret: bool) -> None:
    """Secret words match whole name segments (or as unambiguous substrings), never inside other words."""
    assert is_secret_name(name) is secret


def test_redact_env_hides_secret_names_and_secrets_in_other_values() -> None:
    """Secret-named values are replaced (empty ones stay empty); other values lose only embedded secrets."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PWD": "/srv/app",
        "SLACK_BOT_TOKEN": "xoxb-1234567890-1234567890123-AbCdEf",
        "DB_PASSWORD": "",
        "API_KEY": "k-123",
        "DATABASE_URL": "postgres://app:hunter2@db:5432/app",
        "KEYBOARD_LAYOUT": "us",
    }
    assert redact_env(env) == {
        "PATH": "/usr/bin:/bin",
        "PWD": "/srv/app",
        "SLACK_BOT_TOKEN": REDACTED,
        "DB_PASSWORD": "",
        "API_KEY": REDACTED,
        "DATABASE_URL": "postgres://app:[REDACTED]@db:5432/app",
        "KEYBOARD_LAYOUT": "us",
    }


def test_redact_lines_catches_a_private_key_spread_over_lines() -> None:
    """A PEM block split across stderr lines collapses to one [REDACTED] line between its markers."""
    lines = ["loading key", *PEM, "token=abc", ""]
    assert redact_lines(lines) == ("loading key", PEM[0], REDACTED, PEM[-1], "token=[REDACTED]", "")
    assert redact_lines(redact_lines(lines)) == redact_lines(lines)
    assert redact_lines([]) == ()


def test_redact_argv_hides_flag_values_in_both_forms() -> None:
    """`--password x` hides the next argument, `--token=x` its value; other arguments pass through."""
    argv = ["worker", "--password", "hunter2", "--api-token=abc", "--port", "8080", "-v"]
    assert redact_argv(argv) == (
        "worker",
        "--password",
        REDACTED,
        "--api-token=[REDACTED]",
        "--port",
        "8080",
        "-v",
    )


@pytest.mark.parametrize(
    "text",
    ["a." * 32768, "token" * 13107, "http://" + "a" * 65536, "token=" * 10922, "A" * 64 + "\n" * 1000],
    ids=["dots", "secret-words", "long-url", "repeated-keys", "base64-lines"],
)
def test_redact_text_stays_fast_on_pathological_input(text: str) -> None:
    """No catastrophic backtracking: 64 KiB of adversarial text is redacted well under a second."""
    started = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - started < 1.0
