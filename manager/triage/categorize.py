"""Sort user feedback into a category with deterministic, explainable rules.

Triage needs to know whether a piece of feedback is a bug report, a feature request, a usability
complaint, a question, praise or something else, and a person reading an issue needs to see *why* it
was filed where it was. So this is a small rule engine, not a model: every rule is a named, weighted
regular expression (word boundaries throughout, matched on lowercased text with Slack markup
removed), and `categorize` returns the names of the rules that fired.

Scoring
-------
1. Each rule that matches adds its weight to its category, once, however often it matches. Weights
   run from 1.0 (weak hint) to 4.0 (an unmistakable request such as "can you add ...").
2. Negation: rules marked `negatable` ignore a match preceded, in the same clause and with at most
   two words between, by no / not / never / without / zero / a word ending in n't. So "no errors
   since the upgrade" is no evidence of a bug, and "not great" is no praise. Negation is *itself*
   the evidence in one rule: a negated working verb ("doesn't work", "isn't enforced", "never
   reconnects") is a bug.
3. Questions: a sentence ending in "?", or opening with an interrogative (how, what, why, is there,
   can I, does, ...), scores as a question, UNLESS a strong (weight >= `STRONG`) bug, feature or
   usability rule also fired: "can you add ...?" is a request, "why does it crash?" a complaint,
   "why is X so hard to find?" a usability problem. The question rules are then *absorbed*: they add
   nothing and the rule name `question_absorbed` is reported instead.
4. The category with the highest score wins; ties go to the first in `TIE_BREAK` (bug, usability,
   feature, question, praise, other): the costlier it is to misfile a report, the earlier it comes.
   Nothing positive at all -> `other`, with confidence `FALLBACK_CONFIDENCE`.
5. Confidence = share x strength, where share = winning score / sum of positive scores (how
   one-sided the evidence is) and strength = 1 - exp(-winning score / 3) (how much evidence there is:
   one strong rule gives about 0.6). Always in [0, 1].

An explicit category (the user picked one in the modal) always wins, with confidence 1.0.

Only the first `MAX_CHARS` characters are read (a Slack modal holds 3,000): feedback says what it is
about early, and the bound keeps the few patterns with `.*` in them cheap on pasted logs.

`severity_hint` is a separate, coarser reading of the same text: critical for data loss, outages,
production down or security; high for wide reach ("all users"), crashes and urgency; low for
cosmetic or nice-to-have; normal otherwise.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from manager.triage.similarity import strip_slack_markup

__all__ = [
    "FALLBACK_CONFIDENCE",
    "MAX_CHARS",
    "RULES",
    "STRONG",
    "TIE_BREAK",
    "Categorization",
    "Category",
    "Rule",
    "Severity",
    "categorize",
    "severity_hint",
]


class Category(enum.StrEnum):
    BUG = "bug"
    FEATURE = "feature"  # a feature request
    USABILITY = "usability"
    QUESTION = "question"
    PRAISE = "praise"
    OTHER = "other"  # announcements, tests, retractions, chatter: anything that fits nowhere else


Severity = Literal["low", "normal", "high", "critical"]

#: Order of preference when two categories score the same.
TIE_BREAK: tuple[Category, ...] = (
    Category.BUG,
    Category.USABILITY,
    Category.FEATURE,
    Category.QUESTION,
    Category.PRAISE,
    Category.OTHER,
)
#: A bug, feature or usability rule at least this heavy turns a question into that category.
STRONG = 2.5
#: Confidence reported when no rule fired and the text falls through to `other`.
FALLBACK_CONFIDENCE = 0.2
#: Only this much of a text is read.
MAX_CHARS = 4000


@dataclass(frozen=True)
class Rule:
    """One named piece of evidence: if `pattern` matches, `weight` is added to `category`."""

    name: str
    category: Category
    weight: float
    pattern: re.Pattern[str]
    negatable: bool = False


@dataclass(frozen=True)
class Categorization:
    """The verdict: `rules` names every rule that fired, in table order, for the issue's audit trail."""

    category: Category
    confidence: float
    rules: tuple[str, ...]


def _rule(name: str, category: Category, weight: float, pattern: str, *, negatable: bool = False) -> Rule:
    return Rule(name, category, weight, re.compile(pattern), negatable)


_B, _F, _U, _Q, _P, _O = (
    Category.BUG,
    Category.FEATURE,
    Category.USABILITY,
    Category.QUESTION,
    Category.PRAISE,
    Category.OTHER,
)

# Verbs that describe something functioning; negated, they describe a bug.
_WORKING = (
    r"work|works|working|start|starts|load|loads|fire|fires|trigger|triggers|triggered|show|shows|update|"
    r"updates|stop|stops|follow|follows|restart|restarts|respond|responds|enforced|respected|honou?red|"
    r"applied|quarantined|sent|delivered|rotated|cleaned"
)
_NEGATION = (
    r"(?:doesn'?t|does not|don'?t|didn'?t|isn'?t|is not|aren'?t|wasn'?t|won'?t|wont|can'?t|cant|cannot|"
    r"never|no longer)"
)
_REQUEST_VERB = r"(?:add|support|get|have|make|allow|include|provide|implement|expose|show|let|build|offer)"
_POSITIVE = r"(?:nice|great|good|useful|cool|helpful|handy|awesome|amazing|ideal|lovely|fantastic|sweet|neat)"
# "returning 502s", "status code 500", "a 503 error"; not "we run 500 services".
_HTTP_5XX = (
    r"\b5\d\d(?:s\b| errors?\b| responses?\b| bad gateway| internal)|"
    r"\b(?:http|status|code|returns?|returning|returned|got|getting|gives?|an?) 5\d\d\b"
)
_EMOJI_PRAISE = (
    "[\U0001f389\U0001f44d\U0001f64f\U0001f680\U0001f4af\U0001f64c\U0001f60d\U0001f973\U0001f44c\U0001f525]"
)

#: The rule table. Names are stable: they are shown to people and stored with the issue.
RULES: tuple[Rule, ...] = (
    # --- bug: something does not behave as it should --------------------------------------------
    _rule(
        "bug_not_working",
        _B,
        3.0,
        rf"\b{_NEGATION}\s+(?:\w+\s+)?(?:{_WORKING})\b|"
        r"\bnever (?:re\w+s|shows? up|comes? back|finish\w*|complet\w*|arriv\w*)\b",
    ),
    _rule(
        # what the tool claims vs what is true: "status says running but there is no process"
        "bug_contradiction",
        _B,
        2.0,
        r"\b(?:says|shows|reports|claims|thinks|marks)\b.*\bbut\b|\bbut\b.*\banyway\b|"
        r"\b(?:disagree|mismatch\w*|out of sync|(?:don'?t|doesn'?t) match)\b",
    ),
    _rule(
        # a workaround is needed: "until I restart the daemon", "had to kill -9 it"
        "bug_workaround",
        _B,
        2.0,
        r"\buntil (?:i|we|you) (?:restart|reload|refresh|reboot|kill|redeploy)|"
        r"\bhad to (?:restart|kill|reboot|redeploy|roll ?back)",
    ),
    _rule(
        "bug_bad_value",
        _B,
        2.0,
        r"\b(?:negative|garbled|gibberish|mangled|reversed|backwards|out of order|stale|outdated|"
        r"duplicated|nan|undefined)\b",
        negatable=True,
    ),
    _rule("bug_does_nothing", _B, 3.0, r"\b(?:does|did) nothing\b|\bnothing happens\b"),
    _rule(
        "bug_broken", _B, 3.0, r"\b(?:broken|broke|breaks|bug|buggy|regression|regressed)\b", negatable=True
    ),
    _rule(
        # "crash loop" is left to bug_loop (it is also the name of a feature); "error message" is
        # about wording, not a failure.
        "bug_error",
        _B,
        2.5,
        r"\b(?:errors?(?! messages?| text)|exceptions?|trace ?backs?|tracebak|stack ?traces?|"
        r"crash(?:es|ed|ing)?(?! ?loop)|segfault\w*|panic\w*|\w+error|went wrong|throws?)\b",
        negatable=True,
    ),
    _rule("bug_ignored", _B, 2.5, r"\bignored\b"),
    _rule(
        "bug_expected_question",
        _B,
        3.0,
        r"\b(?:is|was) (?:it|this|that) (?:normal|expected|intended|supposed)\b",
    ),
    _rule(
        "bug_lost_state",
        _B,
        2.5,
        r"\b(?:data loss|lose|loses|losing|lost|leak\w*|zombies?|orphan\w*|corrupt\w*|truncated|forgot|"
        r"disappeared|vanished)\b|"
        r"\bgets? (?:cut|truncated|dropped|lost|mangled|swallowed)\b(?! off)",
        negatable=True,
    ),
    _rule(
        "bug_bad_outcome",
        _B,
        2.0,
        r"\b(?:dies|died|killed|kills|refuses? to|hammers|spams|floods|resets? (?:to|itself)|"
        r"exits? with (?:code|status) [1-9]|"
        r"non-?zero exit|silently|without (?:any )?(?:message|error|warning|log)|"
        r"leaves? (?:\w+ ){0,2}(?:running|behind|open|hanging))\b",
        negatable=True,
    ),
    _rule("bug_down", _B, 2.5, r"\b(?:outage|(?:is|went|goes|are) down|down:)|\bproduction down\b"),
    _rule("bug_http_5xx", _B, 2.0, _HTTP_5XX),
    _rule(
        "bug_fails",
        _B,
        2.0,
        r"\b(?:fails?|failed|failing|hangs?|hanging|stuck|freez\w*|frozen|timeouts?|times out|timed out)\b",
        negatable=True,
    ),
    _rule(
        "bug_loop",
        _B,
        2.0,
        r"\b(?:tight|restart|crash|boot) ?loop\w*|\bkeeps (?:crash\w*|restart\w*|fail\w*|dying)",
    ),
    _rule(
        "bug_after_change",
        _B,
        1.5,
        r"\b(?:since|after) (?:the |this |our |my |last )?(?:upgrade|update|deploy|release)",
    ),
    _rule(
        "bug_denied",
        _B,
        2.0,
        r"\b(?:not authori[sz]ed|unauthori[sz]ed|permission denied|forbidden|access denied)\b",
    ),
    _rule(
        "bug_unexpected",
        _B,
        1.5,
        r"\b(?:instead of|even (?:though|tho|when|if|with)|although|twice|(?:three|several|multiple) times|"
        r"repeatedly|forever|still (?:says|shows|showing|there|running)|wrong|incorrect|missing)\b",
    ),
    _rule(
        "bug_truncated_output",
        _B,
        1.5,
        r"\b(?:only|just) (?:shows?|prints?|returns?|displays?|lists?|sends?)\b|"
        r"\b(?:shows?|prints?|returns?|displays?|lists?|sends?) only\b",
    ),
    _rule("bug_surprise", _B, 1.5, r"\?!|!\?"),
    # --- feature: a request for something new ---------------------------------------------------
    _rule(
        "feature_label",
        _F,
        3.5,
        r"\b(?:feature request|request|suggestion|proposal|idea|wishlist|want|wanted|wish|ask)\s*:|"
        r"\bfeature request\b",
    ),
    _rule(
        # "can you add ...?", "could svcbot post ...?", "hoping you can add ...": a request, not a question.
        "feature_request_question",
        _F,
        4.0,
        rf"\b(?:can|will)\s+(?:you|we|u)\s+(?:please\s+)?{_REQUEST_VERB}\b|"
        r"\b(?:could|would)\s+(?:you|we|u|svcbot|the bot)\s+(?:please\s+)?"
        r"(?!explain|tell|clarify|confirm|check|look|help me)\w+|"
        rf"\byou (?:can|could) {_REQUEST_VERB}\b",
    ),
    _rule(
        "feature_please",
        _F,
        3.0,
        rf"\b(?:please|pls|plz)\s+{_REQUEST_VERB}\b|\badd support\b|\b(?:pls|please|plz)[.!\s]*$",
    ),
    _rule(
        "feature_wish",
        _F,
        3.0,
        rf"\b(?:it(?:'d| would)? be|would be) (?:\w+ )?{_POSITIVE}\b|\bwould be {_EMOJI_PRAISE}|"
        r"\b(?:would|i'?d|we'?d) (?:love|like|benefit)\b|\b(?:it'?d|it would|would) (?:help|save)\b|"
        r"\b(?:want|need|like) to be able to\b|"
        r"\bi wish\b|\bhoping (?:for|to see|you)\b|"
        r"\bit should be possible\b|\bshould be able to\b|\bwould it be possible\b",
    ),
    _rule(
        "feature_need",
        _F,
        3.0,
        r"(?<!\bdo )(?<!\bdid )\b(?:we|i)\s+(?:really\s+|badly\s+)?(?:need|want)\s+(?!to\b)|"
        r"^(?:really\s+)?need (?:an?|some|the ability|support|a way)\b",
    ),
    _rule(
        "feature_roadmap",
        _F,
        3.5,
        r"\bany (?:chance|plans?)\b|\b(?:is|are) there (?:a |any )?plans?\b|\broadmap\b",
    ),
    _rule("feature_imperative", _F, 2.5, rf"^(?:{_REQUEST_VERB}|enable|expose|integrate)\b"),
    _rule("feature_support_for", _F, 2.0, r"\bsupport for\b"),
    _rule(
        "feature_capability",
        _F,
        2.0,
        r"\b(?:an?|some)\s+(?:\w+\s+)?(?:option|flag|setting|switch|way|button|command|ability|toggle|mode)"
        r"\s+(?:to|for|that)\b",
    ),
    # --- usability: it works, but it is hard to use -----------------------------------------------
    _rule(
        "usability_confusing",
        _U,
        3.0,
        r"\b(?:confus\w*|unclear|unintuitive|counter-?intuitive|misleading|jargon|"
        r"(?:not|isn'?t|aren'?t|wasn'?t) (?:very |really |at all )?(?:clear|obvious|intuitive)|"
        r"(?:not|isn'?t|never|poorly|badly|un)(?: \w+)? ?(?:documented|explained|labell?ed|described)|"
        r"had to guess|"
        r"no idea (?:what|how|which|where)|(?:nobody|no one) (?:understands|knows)|means? nothing|"
        r"(?:doesn'?t|don'?t) make sense|makes no sense)\b",
    ),
    _rule(
        "usability_hard_to",
        _U,
        3.0,
        r"\b(?:hard|difficult|tricky|impossible) to (?:find|read|scan|see|tell|understand|follow|navigate|"
        r"use|spot|remember)\b|\beasy to (?:miss|overlook|confuse|mix up|get wrong)\b|"
        r"\b(?:can'?t|cannot) (?:scan|read|find|tell|see)\b",
    ),
    _rule(
        "usability_took_long",
        _U,
        3.0,
        r"\btook (?:me |us )?(?:ages|forever|a while|hours|a long time)\b|\bfigure out\b|"
        r"\btook (?:\w+ ){0,6}to (?:understand|figure|find|learn|work out|realize)\b|"
        r"\bwhy (?:do|must|should) (?:i|we) (?:have|need) to\b",
    ),
    _rule(
        "usability_too_much",
        _U,
        3.0,
        r"\btoo many (?:clicks|steps|fields|options|pages|screens)\b|\bwall of text\b|"
        r"\b(?:(?:way |far |much )?too|so) (?:long|verbose|noisy|cluttered|small|wide|narrow|dense|busy)\b|"
        r"\b(?:so|too) much (?:noise|text|scrolling|output|clutter)\b",
    ),
    _rule(
        "usability_friction",
        _U,
        3.0,
        r"\b(?:annoying|painful|clunky|cumbersome|tedious|overwhelming|unreadable|inconsistent|awkward|"
        r"fiddly|unhelpful|not (?:very |really )?helpful|nightmare|frustrating|a pain|"
        r"(?:doesn'?t|don'?t) (?:help|tell (?:me|us|you) (?:anything|much)))\b",
        negatable=True,
    ),
    _rule(
        "usability_manual_effort",
        _U,
        2.0,
        r"\b(?:have|need|has) to (?:type|convert|scroll|click|remember|open|copy|look up|guess)\b|"
        r"\b(?:keep|always) (?:mistyping|forgetting|forget|scrolling)\b|\bi forget\b|"
        r"\b(?:can'?t|cannot|can never|never) remember\b|"
        r"\b(?:on|for) every (?:single )?(?:command|call|run)\b",
    ),
    _rule(
        "usability_look_alike",
        _U,
        2.0,
        r"\b(?:look|looks|seem|seems|sound|sounds) (?:almost |too |very )?(?:similar|the same|alike)\b|"
        r"\b(?:for|means?) the same thing\b",
    ),
    _rule(
        "usability_hidden",
        _U,
        2.0,
        r"\b(?:hidden|buried|buries|cut off|wraps?|below the fold|i never know)\b",
    ),
    _rule(
        "usability_wants_easier",
        _U,
        2.0,
        r"\b(?:friendlier|clearer|simpler wording|more readable|more obvious|easier to)\b",
    ),
    # --- question: the person wants an answer -------------------------------------------------------
    _rule(
        "question_phrase",
        _Q,
        2.0,
        r"\b(?:any(?:one|body) know|does any(?:one|body)|wondering|trying to understand|"
        r"not sure (?:if|whether|how|what)|quick question)\b",
    ),
    # --- praise -----------------------------------------------------------------------------------------
    _rule(
        "praise_thanks",
        _P,
        2.5,
        r"\b(?:thanks|thank you|thx|ty|cheers|kudos|props|shout-?out|appreciate\w*)\b",
    ),
    _rule(
        "praise_love",
        _P,
        2.0,
        r"\b(?:love|loving|loved|(?:big|huge) fan)\b|\b(?:i|we|really|so) like\b|\u2764|:heart:",
        negatable=True,
    ),
    _rule(
        "praise_adjective",
        _P,
        1.5,
        r"\b(?:great|awesome|amazing|excellent|brilliant|fantastic|perfect|nice|neat|clean|slick|superb|"
        r"wonderful|useful|helpful|impressed|impressive|painless|smooth|seamless|best|spot on|"
        r"game ?changer|wow|solid|glad|a joy|just works|chef'?s kiss|(?:super|very|really|so) clear)\b|"
        r"\b10/10",
        negatable=True,
    ),
    _rule(
        "praise_well_done",
        _P,
        2.5,
        r"\b(?:well done|(?:nice|good|great) (?:job|work|stuff|catch|call|bot|tool)|"
        r"keep (?:it up|up the good work)|"
        r"works (?:great|perfectly|well|like a charm)|exactly (?:what|the \w+) (?:we|i))\b",
    ),
    _rule(
        "praise_better",
        _P,
        2.0,
        r"\b(?:so much|way|much|far|a lot) (?:better|faster|easier|simpler|less|quicker|nicer|clearer|calmer|"
        r"quieter)\b|"
        r"\b(?:huge|big|massive|real) (?:improvement|win|help)\b|\bsaved (?:me|us)\b",
    ),
    _rule(
        "praise_emoji", _P, 1.5, _EMOJI_PRAISE + r"|:(?:tada|\+1|thumbsup|pray|rocket|100|raised_hands|fire):"
    ),
    _rule("praise_just_saying", _P, 1.0, r"\bjust wanted to (?:say|share|let you know)\b"),
    # --- other: announcements, tests, retractions, chatter -----------------------------------------
    _rule(
        # planned work is news, not an outage report
        "other_announcement",
        _O,
        3.0,
        r"^(?:fyi|heads[- ]up|reminder|psa|announcement|note)\b|\bfyi\b|"
        r"\b(?:maintenance|planned downtime|scheduled downtime)\b",
    ),
    _rule("other_test", _O, 3.0, r"^(?:just\s+)?(?:a\s+)?test(?:ing)?\b"),
    _rule(
        "other_retraction",
        _O,
        3.0,
        r"\b(?:ignore (?:my|this|that|the previous)|never ?mind|nvm|disregard|my bad)\b|"
        r"^(?:sorry\W*|oops\W*)?wrong (?:channel|thread)\b",
    ),
    _rule(
        "other_away",
        _O,
        2.5,
        r"\b(?:out of (?:the )?office|ooo|on (?:vacation|holiday|leave|pto)|on call this)\b",
    ),
    _rule(
        "other_status_update",
        _O,
        2.0,
        r"\b(?:we(?:'re| are|'ve| have)?|i(?:'m| am)) (?:migrating|moving|moved|evaluating|trying out|"
        r"switching|planning)\b|\bnothing to report\b",
    ),
    _rule(
        "other_ack", _O, 3.0, r"^(?:ok(?:ay)?|k|\+1|n/?a|np|lol|asdf\w*|hi|hello|hey|yo|sure|noted|ack)\W*$"
    ),
)

# Question form, handled apart from the table because a strong request or complaint absorbs it.
_QUESTION_MARK = re.compile(r"\?(?:\s|$)")
_GREETING = r"(?:(?:hey|hi|hello|quick question)\W+)?"
_AUX = r"(?:do|does|did|is|are|was|will|would|can|should)"  # "when does", not "when i click"
_QUESTION_OPENER = re.compile(
    rf"(?:^|[.!?:]\s+){_GREETING}(?:how|what|what's|whats|why|which|who|whom|(?:when|where) {_AUX}|"
    r"is there|are there|is it|is this|is the|are the|can i|can we|could i|do i|do we|do you|does|did|"
    r"should i|should we|will it|would it|has anyone)\b"
)
_QUESTION_MARK_WEIGHT = 1.5
_QUESTION_OPENER_WEIGHT = 1.5
_ABSORBING = frozenset({Category.BUG, Category.FEATURE, Category.USABILITY})

_NEGATOR = re.compile(r"\b(?:no|not|never|without|zero|\w+n't|cant|wont|dont|doesnt|isnt)\s+(?:\S+\s+){0,2}$")
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\[\]]|\bbut\b")


def _negated(text: str, start: int) -> bool:
    """Whether a negator precedes position `start` within three words of the same clause."""
    clause = _CLAUSE_BREAK.split(text[:start])[-1]
    return _NEGATOR.search(clause) is not None


def _fires(rule: Rule, text: str) -> bool:
    for match in rule.pattern.finditer(text):
        if not (rule.negatable and _negated(text, match.start())):
            return True
    return False


def _prepare(text: str) -> str:
    text = strip_slack_markup(text[:MAX_CHARS]).replace("\u2019", "'").replace("`", " ")
    return " ".join(text.lower().split())


def _question_rules(text: str) -> list[tuple[str, float]]:
    """The question-form evidence in `text`: a sentence ending in "?", an interrogative opener."""
    found = []
    if _QUESTION_MARK.search(text):
        found.append(("question_mark", _QUESTION_MARK_WEIGHT))
    if _QUESTION_OPENER.search(text):
        found.append(("question_opener", _QUESTION_OPENER_WEIGHT))
    return found


def _confidence(scores: dict[Category, float], top: Category) -> float:
    positive = sum(s for s in scores.values() if s > 0)
    share = scores[top] / positive
    strength = 1.0 - math.exp(-scores[top] / 3.0)
    return round(min(1.0, max(0.0, share * strength)), 3)


def _parse_explicit(explicit: str) -> Category:
    try:
        return Category(explicit.strip().lower())
    except ValueError:
        valid = ", ".join(c.value for c in Category)
        raise ValueError(f"unknown feedback category {explicit!r}; valid categories: {valid}") from None


def categorize(text: str, explicit: str | None = None) -> Categorization:
    """The category of a piece of feedback, how sure the rules are, and which rules decided it."""
    if explicit is not None:
        return Categorization(_parse_explicit(explicit), 1.0, ("explicit",))
    prepared = _prepare(text)
    scores = dict.fromkeys(Category, 0.0)
    fired = [rule for rule in RULES if _fires(rule, prepared)]
    names = [rule.name for rule in fired]
    for rule in fired:
        scores[rule.category] += rule.weight
    question = _question_rules(prepared)
    if question and any(r.weight >= STRONG and r.category in _ABSORBING for r in fired):
        names.append("question_absorbed")
    else:
        for name, weight in question:
            names.append(name)
            scores[Category.QUESTION] += weight
    best = max(TIE_BREAK, key=lambda c: (scores[c], -TIE_BREAK.index(c)))
    if scores[best] <= 0:
        return Categorization(Category.OTHER, FALLBACK_CONFIDENCE, tuple(names))
    return Categorization(best, _confidence(scores, best), tuple(names))


# --- severity -------------------------------------------------------------------------------------

# Checked in this order; the first level with an un-negated match wins.
_CRITICAL = re.compile(
    r"\b(?:data loss|lost (?:data|all|every)\w*|corrupt\w*|outage|"
    r"(?:prod|production|site|everything|all services)(?: is| are)? down|"
    r"security (?:issue|hole|bug|problem|risk|incident)|vulnerab\w*|exploit\w*|cve-\d+|breach\w*|"
    r"leak(?:ed|s|ing)? (?:the |our |a )?(?:tokens?|secrets?|passwords?|credentials?|keys?))"
)
_HIGH = re.compile(
    r"\b(?:all (?:users|customers|services|regions|tenants)|(?:affects|affecting|for) every(?:one|body)|"
    r"customer-facing|crash\w*|(?:crash|restart|boot) ?loop\w*|urgent|asap|blocker|blocking|"
    r"is down|went down|can'?t (?:deploy|start|log ?in|restart))\b|" + _HTTP_5XX
)
_LOW = re.compile(
    r"\b(?:typo|cosmetic|minor|nit|nitpick|nice to have|would be nice|low priority|not urgent|"
    r"whenever you (?:can|have time)|small thing)\b"
)


def _any_unnegated(pattern: re.Pattern[str], text: str) -> bool:
    return any(not _negated(text, m.start()) for m in pattern.finditer(text))


def _severity_from(matches: Iterable[tuple[Severity, re.Pattern[str]]], text: str) -> Severity:
    for level, pattern in matches:
        if _any_unnegated(pattern, text):
            return level
    return "normal"


def severity_hint(text: str) -> Severity:
    """How bad the feedback sounds: critical, high, low, else normal (negated mentions don't count)."""
    prepared = _prepare(text)
    return _severity_from((("critical", _CRITICAL), ("high", _HIGH), ("low", _LOW)), prepared)
