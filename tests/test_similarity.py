"""Near-duplicate detection: normalization, shingles, similarity and the best-match lookup."""

from __future__ import annotations

import pytest

from manager.triage.similarity import (
    CONTAINMENT_WEIGHT,
    MIN_CONTAINED_WORDS,
    find_duplicate,
    normalize,
    shingles,
    similarity,
    strip_slack_markup,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U024BE7LH> hi", "hi"),
        ("ping <@U024BE7LH|alice> now", "ping now"),
        ("see <#C0OPS|ops>", "see"),
        ("read <https://wiki.example.com/x|the runbook>", "read the runbook"),
        ("read <https://wiki.example.com/x>", "read"),
        ("<!here> deploy done", "deploy done"),
        ("docs at https://example.com/a?b=1 today", "docs at today"),
        ("run `svcbot logs web`", "run `svcbot logs web`"),
    ],
)
def test_strip_slack_markup(text, expected):
    """Mentions and channels are dropped, links keep only their label, bare URLs go."""
    assert " ".join(strip_slack_markup(text).split()) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Restart button is BROKEN!!!", "restart button broken"),
        ("<@U123> web crashed after 3 restarts (pid 4242)", "web crash after restart pid"),
        ("web doesn't start: see `svcbot logs web`", "web doesnt start see svcbot log web"),
        ("it is not working", "not work"),
        ("v2.3.1 fails at 14:05", "fail"),
        ("", ""),
        ("<@U123> <#C1|ops>", ""),
    ],
)
def test_normalize(text, expected):
    """normalize lowercases and drops markup, numbers, punctuation and stop words, keeping negations."""
    assert normalize(text) == expected


def test_shingles_are_word_trigrams():
    """A text of n words has the n-2 consecutive word trigrams as shingles."""
    assert shingles("web crashes on every reload of the config") == frozenset(
        {"web crash every", "crash every reload", "every reload config"}
    )


def test_shingles_fall_back_to_words_for_short_texts():
    """A text shorter than k words yields its single words; empty text yields nothing."""
    assert shingles("web crashes") == frozenset({"web", "crash"})
    assert shingles("web crashes", k=1) == frozenset({"web", "crash"})
    assert shingles("") == frozenset()
    assert shingles("<@U123> the") == frozenset()


def test_shingles_reject_nonpositive_k():
    """k below 1 is a programming error."""
    with pytest.raises(ValueError, match="k must be at least 1"):
        shingles("a b c", k=0)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "<@U024BE7LH> the payments worker crashes every 5 minutes since the 2.3 deploy",
            "<@U0OPS> payments worker crashes every 10 minutes since the 2.4 deploy!!",
        ),
        (
            "svcbot logs -n 50 prints only 10 lines",
            "svcbot logs -n 200 prints only 20 lines",
        ),
        (
            "Alerts for <#C0PAY|payments> fired twice, dedup is broken",
            "alerts for <#C0BILL|billing> fired twice. dedup is broken.",
        ),
        (
            "the restart button in slack does nothing",
            "The restart button in Slack does nothing when I click it, tried 3 times",
        ),
    ],
)
def test_rephrasings_with_different_numbers_and_mentions_match(a, b):
    """The same report with other numbers, mentions, channels or an extra clause is a duplicate."""
    assert similarity(a, b) >= 0.6
    assert similarity(b, a) == similarity(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the payments worker crashes every 5 minutes", "please add a dark mode to the dashboard"),
        ("the restart button in slack does nothing", "the stop button in slack works great, thanks"),
        ("svcbot logs prints only 10 lines", "svcbot status prints the wrong uptime"),
        ("digest went out on tuesday instead of monday", "alerts go to the wrong channel"),
        ("web does start after reload", "web does not start after reload"),
    ],
)
def test_different_topics_do_not_match(a, b):
    """Reports about different things stay below the default threshold."""
    assert similarity(a, b) < 0.6


def test_short_complaint_contained_in_a_longer_one_counts():
    """A short complaint found whole inside a longer one scores CONTAINMENT_WEIGHT despite low Jaccard."""
    short = "health check fails with a timeout"
    long = (
        "after the deploy the health check fails with a timeout even though curl works fine "
        "and the service logs show nothing unusual"
    )
    sa, sb = shingles(short), shingles(long)
    jaccard = len(sa & sb) / len(sa | sb)
    assert jaccard < 0.3
    assert similarity(short, long) == pytest.approx(CONTAINMENT_WEIGHT)


def test_two_shared_words_are_not_enough_for_containment():
    """Containment needs MIN_CONTAINED_WORDS words in the shorter text: 'web not start' is too little."""
    assert MIN_CONTAINED_WORDS == 4
    assert similarity("web crash", "web crash loop since the reload of the database config") < 0.6
    assert similarity("web does not start", "web does not start after a reload of the database config") < 0.6


def test_identical_texts_score_one():
    """A text is fully similar to itself, short or long."""
    assert similarity("restart is broken", "restart is broken") == 1.0
    assert similarity("web", "web") == 1.0


@pytest.mark.parametrize(("a", "b"), [("", ""), ("", "web is down"), ("<@U1>", "<@U1>"), ("the", "the")])
def test_empty_texts_never_match(a, b):
    """Texts with no words left after normalization have similarity 0, even to each other."""
    assert similarity(a, b) == 0.0
    assert find_duplicate(a, [(1, b)]) is None


def test_find_duplicate_returns_the_best_match():
    """Of several candidates above the threshold, the most similar one's key is returned."""
    candidates = [
        ("ISS-1", "the dashboard is slow"),
        ("ISS-2", "the restart button in slack does nothing when I click it"),
        ("ISS-3", "the restart button in slack does nothing"),
    ]
    assert find_duplicate("<@U9> the restart button in slack does nothing", candidates) == "ISS-3"


def test_find_duplicate_prefers_the_earliest_on_ties():
    """Equal scores go to the first candidate, so the oldest issue collects duplicates."""
    candidates = [(7, "web is down"), (8, "web is down")]
    assert find_duplicate("web is down!", candidates) == 7


def test_find_duplicate_with_no_candidates():
    """No candidates, no duplicate."""
    assert find_duplicate("web is down", []) is None


def test_threshold_edge_is_inclusive():
    """A candidate scoring exactly the threshold matches; a hair above the score does not."""
    a = "the payments worker crashes on every reload of the config file"
    b = "the payments worker crashes on every restart of the config file"
    edge = similarity(a, b)
    assert 0.0 < edge < 1.0
    assert find_duplicate(a, [("x", b)], threshold=edge) == "x"
    assert find_duplicate(a, [("x", b)], threshold=edge + 1e-9) is None


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_threshold_out_of_range_is_rejected(threshold):
    """The threshold must lie in (0, 1]."""
    with pytest.raises(ValueError, match="threshold"):
        find_duplicate("web is down", [(1, "web is down")], threshold=threshold)
