"""Feedback categorization: accuracy on labeled data, individual rules, overrides, severity hints.

About the accuracy floor: the 309 texts in tests/data/feedback_labeled.jsonl were labeled in four
batches (139, 62, 60, 48 lines, in file order), each before any rule was tuned on it. The rules were
tuned on each batch in turn, so accuracy on this file (0.97 when written) says the rules still do what
they were tuned to do: it is a regression test, not an estimate of accuracy on new feedback. Batches
2-4, written blind against the rules of the moment, scored 0.56, 0.55 and 0.52 before tuning; expect
about that on unseen phrasing. That is why a Categorization carries a confidence: the fallback (no
rule fired) is the commonest miss, and low confidence should ask the user (the modal's category).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from manager.triage.categorize import (
    FALLBACK_CONFIDENCE,
    MAX_CHARS,
    RULES,
    TIE_BREAK,
    Categorization,
    Category,
    categorize,
    severity_hint,
)

DATA = Path(__file__).parent / "data" / "feedback_labeled.jsonl"
ACCURACY_FLOOR = 0.95  # achieved 300/309 = 0.971 when written; rounded down to the nearest 0.05


def load_labeled() -> list[tuple[str, Category]]:
    rows = []
    with DATA.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows.append((row["text"], Category(row["label"])))
    return rows


def confusion_table(pairs: list[tuple[Category, Category]]) -> str:
    counts = Counter(pairs)
    cats = list(Category)
    width = max(len(c.value) for c in cats) + 1
    header = "true \\ predicted".ljust(width + 6) + "".join(c.value[:5].rjust(7) for c in cats)
    lines = [header]
    for true in cats:
        cells = "".join(str(counts[(true, pred)]).rjust(7) for pred in cats)
        lines.append(true.value.ljust(width + 6) + cells)
    return "\n".join(lines)


def test_labeled_data_is_large_and_balanced():
    """The labeled set has at least 100 texts, every category, none under 10% of the set."""
    rows = load_labeled()
    counts = Counter(label for _, label in rows)
    assert len(rows) >= 100
    assert set(counts) == set(Category)
    assert min(counts.values()) >= len(rows) / 10
    assert len({text for text, _ in rows}) == len(rows), "duplicate texts"


def test_accuracy_on_labeled_feedback():
    """The rules classify the labeled feedback at or above the floor; the confusion matrix is printed."""
    rows = load_labeled()
    pairs = [(label, categorize(text).category) for text, label in rows]
    correct = sum(true == pred for true, pred in pairs)
    accuracy = correct / len(rows)
    misses = [
        f"  {true.value:>9} -> {pred.value:<9} {text}"
        for (text, _), (true, pred) in zip(rows, pairs, strict=True)
        if true != pred
    ]
    report = (
        f"accuracy {correct}/{len(rows)} = {accuracy:.3f} (floor {ACCURACY_FLOOR})\n"
        f"{confusion_table(pairs)}\nmisclassified:\n" + "\n".join(misses)
    )
    print("\n" + report)
    assert accuracy >= ACCURACY_FLOOR, report


@pytest.mark.parametrize(
    ("text", "category", "rule"),
    [
        # bug
        ("restart doesn't work since yesterday", Category.BUG, "bug_not_working"),
        ("the limit isn't enforced", Category.BUG, "bug_not_working"),
        ("socket mode never reconnects", Category.BUG, "bug_not_working"),
        ("clicking resolve does nothing", Category.BUG, "bug_does_nothing"),
        ("the digest is broken", Category.BUG, "bug_broken"),
        ("svcbot status prints a Traceback", Category.BUG, "bug_error"),
        ("the api is returning 503s", Category.BUG, "bug_http_5xx"),
        ("the health check hangs", Category.BUG, "bug_fails"),
        ("status says healthy but the port is closed", Category.BUG, "bug_contradiction"),
        ("the metrics stay stale until i restart the daemon", Category.BUG, "bug_workaround"),
        ("is this expected behaviour?", Category.BUG, "bug_expected_question"),
        # feature
        ("it would be nice if the digest had graphs", Category.FEATURE, "feature_wish"),
        ("please add a --since flag", Category.FEATURE, "feature_please"),
        ("can you support mysql?", Category.FEATURE, "feature_request_question"),
        ("could svcbot page the owner directly?", Category.FEATURE, "feature_request_question"),
        ("feature request: csv export", Category.FEATURE, "feature_label"),
        ("any plans for a web ui?", Category.FEATURE, "feature_roadmap"),
        ("we need per-team digests", Category.FEATURE, "feature_need"),
        ("allow tags on services", Category.FEATURE, "feature_imperative"),
        # usability
        ("the states are confusing", Category.USABILITY, "usability_confusing"),
        ("it's unclear which owner gets paged", Category.USABILITY, "usability_confusing"),
        ("the silence button is hard to find", Category.USABILITY, "usability_hard_to"),
        ("took me ages to set up owners", Category.USABILITY, "usability_took_long"),
        ("too many clicks to see the logs", Category.USABILITY, "usability_too_much"),
        ("the status page is clunky", Category.USABILITY, "usability_friction"),
        # question
        ("how do I add a service?", Category.QUESTION, "question_mark"),
        ("what does backoff mean", Category.QUESTION, "question_opener"),
        ("is there a way to tail two services at once?", Category.QUESTION, "question_opener"),
        ("can I run it in docker", Category.QUESTION, "question_opener"),
        ("does the cpu limit apply per core?", Category.QUESTION, "question_opener"),
        ("anyone know where the state file lives", Category.QUESTION, "question_phrase"),
        # praise
        ("thanks for the quick fix", Category.PRAISE, "praise_thanks"),
        ("great tool", Category.PRAISE, "praise_adjective"),
        ("love it", Category.PRAISE, "praise_love"),
        ("nice job on the release", Category.PRAISE, "praise_well_done"),
        # other
        ("fyi the db moves tonight", Category.OTHER, "other_announcement"),
        ("testing 1 2 3", Category.OTHER, "other_test"),
        ("never mind, found it", Category.OTHER, "other_retraction"),
        ("+1", Category.OTHER, "other_ack"),
    ],
)
def test_individual_rules(text, category, rule):
    """Each rule fires on a plain example of what it describes and decides the category."""
    result = categorize(text)
    assert rule in result.rules, result
    assert result.category is category, result


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("can you add dark mode?", Category.FEATURE),  # a request phrased as a question
        ("could we get a mute button?", Category.FEATURE),
        ("why does the worker crash on reload?", Category.BUG),  # a complaint phrased as a question
        ("how come my alerts are ignored?", Category.BUG),
        ("why is the silence button so hard to find?", Category.USABILITY),
        ("why is the default delay 100ms?", Category.QUESTION),  # a real why-question stays one
    ],
)
def test_question_form_is_absorbed_by_a_strong_request_or_complaint(text, category):
    """A question that is really a request, complaint or usability problem is filed as that."""
    result = categorize(text)
    assert result.category is category, result
    if category is not Category.QUESTION:
        assert "question_absorbed" in result.rules


@pytest.mark.parametrize(
    ("text", "absent_rule", "category"),
    [
        ("no errors since the upgrade, thanks!", "bug_error", Category.PRAISE),
        ("the new digest is not great", "praise_adjective", Category.OTHER),
        ("it never crashes anymore, love it", "bug_error", Category.PRAISE),
        ("the restart doesn't fail anymore", "bug_fails", Category.OTHER),
    ],
)
def test_negated_evidence_does_not_count(text, absent_rule, category):
    """A keyword preceded by a negation in the same clause adds nothing to its category."""
    result = categorize(text)
    assert absent_rule not in result.rules, result
    assert result.category is category, result


def test_negation_does_not_reach_across_clauses():
    """A negation in one clause does not cancel evidence in the next one."""
    result = categorize("it doesn't start, crashes with an error")
    assert {"bug_not_working", "bug_error"} <= set(result.rules)


def test_slack_markup_and_case_are_ignored():
    """Mentions, channel links, link URLs, backticks and capitals do not change the verdict."""
    plain = categorize("the restart button is broken")
    marked = categorize(
        "<@U024BE7LH> the `restart` button in <#C0OPS|ops> is BROKEN <https://x.example/y|see>"
    )
    assert marked.category is plain.category is Category.BUG


def test_no_evidence_falls_back_to_other_with_low_confidence():
    """Text that no rule matches is `other`, with the fallback confidence and no rules."""
    result = categorize("meeting notes are in the wiki")
    assert result == Categorization(Category.OTHER, FALLBACK_CONFIDENCE, ())


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_other(text):
    """Empty or blank feedback is `other` and does not raise."""
    assert categorize(text).category is Category.OTHER


def test_confidence_is_a_probability_and_grows_with_agreeing_evidence():
    """Confidence stays in [0, 1] and more one-sided evidence means more confidence."""
    for text, _ in load_labeled():
        assert 0.0 <= categorize(text).confidence <= 1.0
    weak = categorize("the digest is broken")
    strong = categorize("the digest is broken, it crashes and the job fails")
    mixed = categorize("the digest is broken but thanks, love the new layout")
    assert strong.confidence > weak.confidence > mixed.confidence


def test_ties_go_to_the_earlier_category_in_tie_break_order():
    """Equal scores are settled by TIE_BREAK: bug before usability before feature, and so on."""
    assert TIE_BREAK[0] is Category.BUG
    # bug_fails (2.0) vs usability_hidden (2.0)
    result = categorize("the button hangs and is hidden")
    assert {"bug_fails", "usability_hidden"} <= set(result.rules)
    assert result.category is Category.BUG


def test_rules_are_reported_in_table_order():
    """`rules` lists fired rules in RULES order, so the audit trail is deterministic."""
    result = categorize("thanks! but the digest is broken and the modal is confusing")
    order = [r.name for r in RULES]
    indexes = [order.index(name) for name in result.rules if name in order]
    assert indexes == sorted(indexes)
    assert len(set(order)) == len(order), "rule names must be unique"


@pytest.mark.parametrize("explicit", ["feature", "FEATURE", " feature ", Category.FEATURE])
def test_explicit_category_always_wins(explicit):
    """An explicit category overrides the rules with confidence 1.0 and the single rule 'explicit'."""
    result = categorize("the restart button is broken and crashes", explicit=explicit)
    assert result == Categorization(Category.FEATURE, 1.0, ("explicit",))


def test_invalid_explicit_category_names_the_valid_ones():
    """An unknown explicit category raises ValueError listing every valid category."""
    with pytest.raises(ValueError, match="enhancement") as excinfo:
        categorize("anything", explicit="enhancement")
    for category in Category:
        assert category.value in str(excinfo.value)


def test_category_values():
    """The category values are the stable strings stored with issues."""
    assert [c.value for c in Category] == ["bug", "feature", "usability", "question", "praise", "other"]


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("data loss: the state file was wiped on restart", "critical"),
        ("production down, orders api returns 502 for everyone", "critical"),
        ("outage in eu-west since 10:00", "critical"),
        ("possible security issue: the bot leaked the slack token in a log line", "critical"),
        ("the payments worker crashes on every deploy", "high"),
        ("this affects all users of the dashboard", "high"),
        ("urgent: cannot restart anything from slack", "high"),
        ("orders service stuck in a crash loop", "high"),
        ("getting 500 errors from /metrics", "high"),
        ("typo in the help text: 'recieve'", "low"),
        ("minor: the emoji in the digest is off by one space", "low"),
        ("it would be nice if the digest had a chart", "low"),
        ("the status table could show uptime", "normal"),
        ("we run 500 services with it", "normal"),
        ("", "normal"),
        ("no data loss, but the restart took 3 minutes", "normal"),
    ],
)
def test_severity_hint(text, severity):
    """severity_hint reads critical/high/low words (un-negated) and defaults to normal."""
    assert severity_hint(text) == severity


def test_only_the_first_max_chars_are_read():
    """Evidence past MAX_CHARS is ignored, which bounds the cost of pasted logs."""
    filler = "x " * (MAX_CHARS // 2)
    assert categorize("the restart is broken " + filler).category is Category.BUG
    assert categorize(filler + " the restart is broken").category is Category.OTHER
    assert severity_hint(filler + " production down") == "normal"
