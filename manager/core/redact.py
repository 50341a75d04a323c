"""Secret redaction, applied before anything a service emitted is stored, logged or shown.

Crash reports carry a service's environment, argv and stderr tail into the database, into Slack and
onto terminals; any of them may hold a token. Everything here is pure and deterministic, and
`redact_text` is idempotent (redacting twice changes nothing), so a caller may redact defensively at
every boundary and fingerprints computed on redacted text stay stable.

What is hidden keeps its label, so the report stays readable: `token=[REDACTED]`,
`postgres://app:[REDACTED]@db:5432/app`, `Authorization: Bearer [REDACTED]`, `xoxb-[REDACTED]`.

Secret names
------------
`is_secret_name` splits a name into words on `_`, `-`, `.`, whitespace and camelCase boundaries and
matches whole words (token, secret, password, passwd, pwd, key, credential, creds, auth, oauth,
authorization, dsn, cookie, session, sessionid, jwt, and their plurals), so API_KEY, x-api-key and apiKey
are secret but MONKEY, KEYBOARD_LAYOUT, TOKENIZERS_PARALLELISM and AUTHOR are not. Words that never
occur innocently inside other words (password, passwd, passphrase, secret, credential, apikey,
privatekey, authorization) also match as substrings (PGPASSWORD, clientsecret), and a word ending in
token or pwd is secret (accesstoken, csrftoken). `PWD` and `OLDPWD` alone are the shell's working
directories, not passwords.

Secrets in text
---------------
`redact_text` recognises, in this order: PEM private key blocks (also with the BEGIN line cut off),
Slack webhook URLs, Slack tokens (`xox[abprsoe]-`, `xapp-`), GitHub tokens (`gh[pousr]_`,
`github_pat_`), AWS access key ids (`AKIA`, `ASIA`), JWTs, the password in `scheme://user:password@host`,
a token used as the user name (`https://<key>@o1.ingest.sentry.io/1`, Sentry's DSN), the value after a
secret-named key (`password=x`, `secret: x`, `"token": "x"`, `'api_key': 'x'`, `X-Api-Key: x`,
`Authorization: Basic x`, `?access_token=x&`) and `Bearer x`. Exception names are not keys
(`KeyError: 'session_id'` stays), and prose without a value stays (`password policy updated`).

Over-redaction is the safe direction: `SESSION_TIMEOUT=30` loses its value and the prose
`error: password: too short` loses "too", which is acceptable.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "REDACTED",
    "is_secret_name",
    "redact_argv",
    "redact_env",
    "redact_event_data",
    "redact_lines",
    "redact_text",
]

REDACTED = "[REDACTED]"

_WORD_SPLIT = re.compile(r"[\s_\-.]+|(?<=[a-z0-9])(?=[A-Z])")
_SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "key",
        "credential",
        "creds",
        "auth",
        "oauth",
        "authorization",
        "dsn",
        "cookie",
        "session",
        "sessionid",
        "jwt",
    }
)
_SECRET_SUBSTRINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "apikey",
    "privatekey",
    "authorization",
)
_SECRET_SUFFIXES = ("token", "tokens", "pwd")  # accesstoken, csrftoken, dbpwd; not tokenizer
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
# Exception class names are labels, not keys: "KeyError: 'user'" must survive.
_EXCEPTION_NAME = re.compile(r"(?:Error|Exception|Warning|Exit|Interrupt)$")


def is_secret_name(name: str) -> bool:
    """Whether an environment variable, config key, header or flag name looks like it holds a secret."""
    if name in _NOT_SECRET:
        return False
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_SUBSTRINGS):
        return True
    for part in _WORD_SPLIT.split(name):
        word = part.lower()
        if word in _SECRET_WORDS or word.removesuffix("s") in _SECRET_WORDS:
            return True
        if word.endswith(_SECRET_SUFFIXES):
            return True
    return False


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` with secret-named values replaced and secrets inside the others redacted.

    `DATABASE_URL` is not a secret name, but its value's password is hidden by `redact_text`. An empty
    secret stays empty: "DB_PASSWORD is set but blank" hides nothing and often explains the crash.
    """
    return {
        name: REDACTED if value and is_secret_name(name) else redact_text(value)
        for name, value in env.items()
    }


def redact_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """A command line with secrets hidden: `--password=x`, `--password x`, and tokens in any argument."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        out.append(_redact_arg(arg))
        if arg.startswith("-") and "=" not in arg and is_secret_name(arg.lstrip("-")):
            hide_next = True
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _redact_arg(arg: str) -> str:
    """`redact_text` of one argument, remembered: a service's argv is logged again at every start."""
    return redact_text(arg)


def redact_lines(lines: Iterable[str]) -> tuple[str, ...]:
    """`redact_text` over lines taken together, so a private key spread over lines is caught.

    A PEM block's body collapses to one `[REDACTED]` line, so the result may be shorter than the input.
    """
    joined = "\n".join(lines)
    if not joined:
        return ()
    return tuple(redact_text(joined).split("\n"))


def redact_text(text: str) -> str:
    """`text` with every recognised secret replaced by `[REDACTED]`; idempotent."""
    for rule in _RULES:
        text = rule(text)
    return text


# --- the rules, applied in order --------------------------------------------------------------------

_NOT_DONE = r"(?!\[REDACTED\])"

_PEM = re.compile(
    r"(?P<begin>-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY-----)"
    r"(?P<body>.*?)"
    r"(?P<end>-----END (?P=kind)PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_PEM_END_LINE = re.compile(r"[ \t]*-----END [A-Z0-9 ]*PRIVATE KEY-----")
_BASE64_LINE = re.compile(r"[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*")


def _pem(match: re.Match[str]) -> str:
    body = match["body"]
    if not body.strip():
        return match[0]
    if "\n" not in body:
        return f"{match['begin']}{REDACTED}{match['end']}"
    return f"{match['begin']}\n{REDACTED}" + (f"\n{match['end']}" if match["end"] else "")


_SLACK = re.compile(r"\b(xox[abprsoe]|xapp)-(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{10,}")
_SLACK_WEBHOOK = re.compile(
    r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/)" + _NOT_DONE + r"[\w/-]+"
)
_GITHUB = re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{36,}\b|\b(github_pat_)[A-Za-z0-9_]{22,}")
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(
    r"\b(?P<prefix>[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\[\]\"']*:)" + _NOT_DONE + r"[^\s/?#\"']+(?=@)"
)
# Sentry DSNs and token-as-username URLs: https://<32 hex>@o1.ingest.sentry.io/2
_URL_TOKEN_USER = re.compile(r"\b(?P<prefix>[A-Za-z][A-Za-z0-9+.-]{0,30}://)[A-Za-z0-9_-]{20,}(?=@)")
_KEY_VALUE = re.compile(
    # the key is a whole run of name characters (possessive: no backtracking into it) holding a secret word
    r"(?<![\w.-])(?P<q>[\"']?)"
    r"(?P<key>(?=[\w.-]*?(?:pass|pwd|secret|token|key|credential|creds|auth|dsn|cookie|session|jwt))[\w.-]++)"
    r"(?P=q)"
    r"(?P<sep>[ \t]*(?:=(?!=)|:(?!:))[ \t]*)"
    r"(?P<scheme>(?:(?:Bearer|Basic|Digest|Token|Bot|ApiKey|Negotiate)[ \t]+)?+)"
    r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|" + _NOT_DONE + r"[^\s,;&\"'<>]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|bearer)[ \t]+" + _NOT_DONE + r"[A-Za-z0-9\-._~+/]{8,}=*")


def _hides(match: re.Match[str]) -> bool:
    key, value = match["key"], match["value"]
    return is_secret_name(key) and not _EXCEPTION_NAME.search(key) and value not in ('""', "''")


def _redact_key_values(text: str) -> str:
    """Hide the values of secret-named keys: `password=x`, `"token": "x"`, `Authorization: Bearer x`.

    A key that only looks secret (`tokenizer: x`, `KeyError: 'x'`) is left alone, and the search goes on
    from its value, so `monkey=token=x` still hides x.
    """
    parts: list[str] = []
    pos = 0
    while (match := _KEY_VALUE.search(text, pos)) is not None:
        if not _hides(match):
            parts.append(text[pos : match.start("value")])
            pos = match.start("value")
            continue
        value = match["value"]
        hidden = f"{value[0]}{REDACTED}{value[0]}" if value[0] in "\"'" else REDACTED
        parts.append(text[pos : match.start("value")] + hidden)
        pos = match.end()
    parts.append(text[pos:])
    return "".join(parts)


def _redact_orphan_pem_body(text: str) -> str:
    """The body of a key whose BEGIN line fell off the top of a stderr tail: base64 lines before END."""
    if "PRIVATE KEY-----" not in text:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if _PEM_END_LINE.match(line) and out and _BASE64_LINE.fullmatch(out[-1]):
            while out and _BASE64_LINE.fullmatch(out[-1]):
                out.pop()
            out.append(REDACTED)
        out.append(line)
    return "\n".join(out)


def _github(match: re.Match[str]) -> str:
    return (match[1] or match[2]) + REDACTED


def _sub(pattern: re.Pattern[str], replacement: str | Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda text: pattern.sub(replacement, text)


_RULES: tuple[Callable[[str], str], ...] = (
    _sub(_PEM, _pem),
    _redact_orphan_pem_body,
    _sub(_SLACK_WEBHOOK, r"\1" + REDACTED),
    _sub(_SLACK, r"\1-" + REDACTED),
    _sub(_GITHUB, _github),
    _sub(_AWS_KEY_ID, r"\1" + REDACTED),
    _sub(_JWT, REDACTED),
    _sub(_URL_PASSWORD, r"\g<prefix>" + REDACTED),
    _sub(_URL_TOKEN_USER, r"\g<prefix>" + REDACTED),
    _redact_key_values,
    _sub(_BEARER, r"\1 " + REDACTED),
)


# The fields of an event's dict that carry text from services or people; the others are names,
# numbers and states svcbot made itself. Redacting only these keeps logging an event cheap (it is
# on the start path of every service).
_EVENT_TEXT_FIELDS = frozenset({"stderr_tail", "output", "check", "message", "traceback", "last_exit", "cwd"})


def redact_event_data(data: dict[str, Any], without: Iterable[str] = ()) -> dict[str, Any]:
    """An event's `to_dict()` with secrets hidden and the fields in `without` left out: what may
    be logged, stored or shown."""
    skip = set(without)
    out = {key: value for key, value in data.items() if key not in skip}
    for key, value in out.items():
        if key == "argv":
            out[key] = list(redact_argv(value))
        elif key in _EVENT_TEXT_FIELDS:
            out[key] = _redact_value(value)
    return out


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return list(redact_lines(value))
        return [_redact_value(v) for v in value]
    return value
