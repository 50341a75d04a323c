"""Near-duplicate detection for feedback, so repeats link to one issue instead of piling up.

People report the same problem in slightly different words: a different mention, a different number
of minutes, a typo'd punctuation, one sentence more. Comparing raw strings misses all of those, and a
full semantic model is far more than this needs, so the comparison is over normalized word k-grams:

1. `normalize` lowercases, strips Slack markup (user and channel mentions are dropped, a link keeps
   its label), bare URLs, any token containing a digit, punctuation and a small stop-word list, and
   applies a tiny suffix stemmer (crashes/crashed/crashing -> crash). Negations ("not", "never",
   "no") are deliberately *not* stop words: "restart works" and "restart doesnt work" must differ.
2. `shingles` turns the words into word k-grams (k=3 by default); a text shorter than k words falls
   back to single words.
3. `similarity` is the Jaccard index of the two shingle sets, raised by a containment rule: when the
   shorter text has at least `MIN_CONTAINED_WORDS` words, `CONTAINMENT_WEIGHT` times the share of its
   shingles found in the longer one also counts, so a short complaint inside a longer one matches.
   Both texts use the same k: if either is shorter than k words, both use single words.
4. `find_duplicate` returns the key of the best candidate whose similarity reaches the threshold.

Empty texts (or texts that normalize to nothing, like a bare mention) never match anything.
Everything here is pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

__all__ = [
    "CONTAINMENT_WEIGHT",
    "MIN_CONTAINED_WORDS",
    "STOP_WORDS",
    "find_duplicate",
    "normalize",
    "shingles",
    "similarity",
    "strip_slack_markup",
]

K = TypeVar("K")

#: How much a fully contained smaller text counts (0.9: enough for the default threshold, never 1.0).
CONTAINMENT_WEIGHT = 0.9
#: The containment rule needs at least this many (normalized) words in the shorter text: two or three
#: shared words ("web crash", "web not start") are too little evidence that two reports are the same.
MIN_CONTAINED_WORDS = 4

_STOP_WORDS_TEXT = """
    a an the and or but if so to of in on at by for from with as into onto about
    is are was were be been being am it its this that these those there here
    i me my we us our you your he she they them their
    do does did has have had will would can could should shall may might must
    just also too very really please pls plz hi hey hello thanks thx
"""
#: Function words that carry no topic. Kept small on purpose, and without negations.
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_USER_MENTION = re.compile(r"<[@!][^>]*>")  # <@U123>, <@U123|name>, <!here>, <!subteam^S1|@team>
_CHANNEL = re.compile(r"<#[^>]*>")  # <#C123|ops>
_LABELED_LINK = re.compile(r"<(?:https?|mailto):[^>|]*\|([^>]*)>")  # <https://x|label> -> label
_BARE_LINK = re.compile(r"<(?:https?|mailto):[^>]*>")  # <https://x>
_URL = re.compile(r"\b(?:https?://|www\.)\S+")
_APOSTROPHE = re.compile(r"['\u2019`]")
_NON_WORD = re.compile(r"[^\w\s]+|_")


def strip_slack_markup(text: str) -> str:
    """Text with Slack's markup removed: mentions and channels dropped, links replaced by their label."""
    text = _USER_MENTION.sub(" ", text)
    text = _CHANNEL.sub(" ", text)
    text = _LABELED_LINK.sub(r" \1 ", text)
    text = _BARE_LINK.sub(" ", text)
    return _URL.sub(" ", text)


def _stem(word: str) -> str:
    """A deliberately tiny stemmer: plural -s/-es, -ed and -ing, only on words long enough to keep a root."""
    for suffix, min_root in (("ing", 4), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_root and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def normalize(text: str) -> str:
    """Lowercased words of `text` without markup, URLs, numbers, punctuation or stop words, space-joined."""
    text = strip_slack_markup(text).lower()
    text = _APOSTROPHE.sub("", text)  # doesn't -> doesnt, `code` -> code
    text = _NON_WORD.sub(" ", text)
    words = (w for w in text.split() if not any(c.isdigit() for c in w) and w not in STOP_WORDS)
    return " ".join(_stem(w) for w in words)


def _grams(words: Sequence[str], k: int) -> frozenset[str]:
    if len(words) < k:
        return frozenset(words)
    return frozenset(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))


def shingles(text: str, k: int = 3) -> frozenset[str]:
    """Word k-grams of the normalized text; single words when it has fewer than k words."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return _grams(normalize(text).split(), k)


def similarity(a: str, b: str, k: int = 3) -> float:
    """How alike two texts are, in [0, 1]: max(Jaccard, CONTAINMENT_WEIGHT x containment)."""
    wa, wb = normalize(a).split(), normalize(b).split()
    if not wa or not wb:
        return 0.0
    size = k if min(len(wa), len(wb)) >= k else 1
    sa, sb = _grams(wa, size), _grams(wb, size)
    shared = len(sa & sb)
    jaccard = shared / len(sa | sb)
    if min(len(wa), len(wb)) < MIN_CONTAINED_WORDS:
        return jaccard
    return max(jaccard, CONTAINMENT_WEIGHT * shared / min(len(sa), len(sb)))


def find_duplicate(text: str, candidates: Sequence[tuple[K, str]], threshold: float = 0.6) -> K | None:
    """Key of the candidate most similar to `text` if that similarity reaches `threshold`, else None.

    Ties go to the earliest candidate, so the oldest issue keeps collecting its duplicates.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    best_key: K | None = None
    best = -1.0
    for key, other in candidates:
        score = similarity(text, other)
        if score > best:
            best_key, best = key, score
    return best_key if best >= threshold else None
