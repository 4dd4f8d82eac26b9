"""Redaction of a chronology for sharing outside the agency. No database writes here.

Three kinds of rule make a redacted chronology (docs/DECISIONS.md, "Redacted
chronologies", says who is removed and why):

- automatic: every part of the names and addresses of the informants named on the case's
  entries and of the third parties on the case (everyone whose membership is not that of
  a child, a mother, a father or a step-parent), each replaced by a label of their role,
  the same label wherever they appear in the document;
- candidates: what could still identify someone once those are gone (names of people on
  the case, names after a title such as "Mrs", postcodes, house numbers and streets,
  phone numbers, email addresses, NHS and pupil numbers, vehicle registrations, social
  media handles), each redacted or left as the person reviewing the export decides;
- added: words or phrases the reviewer adds.

`Plan` holds the rules and applies them to text, on word boundaries, in one pass: the
longest match at a place wins. `build_plan` makes the plan a review shows; an approved
plan is stored as `Plan.to_json()` and the export applies exactly that.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

AUTOMATIC = "automatic"
CANDIDATE = "candidate"
ADDED = "added"

REDACT = "redact"
LEAVE = "leave"

# Relationships on a case whose people are the family the chronology is about: their
# names stay in a redacted chronology (they may be listed as candidates to remove).
FAMILY_RELATIONSHIPS = ("child", "mother", "father", "step_parent")

TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Rev)\.?"
TITLE_WORDS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev"}
# Particles of a name that are not redacted on their own ("de" of "De Souza").
PARTICLES = {"de", "da", "di", "du", "del", "la", "le", "van", "von", "der", "den", "bin", "al"}
STREET_WORDS = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Crescent|Place|Gardens|Terrace"
    "|Grove|Mews|Rise|Row|Square|Walk|Parade|Vale|Way"
)
NAME_WORD = r"[A-Z][a-zA-Z'’\-]+"
WORD_START = r"(?<![\w])"
WORD_END = r"(?![\w])"

# Detectors of candidates: (kind, pattern, flags). The kind names what was found.
DETECTORS: list[tuple[str, re.Pattern]] = [
    ("email address", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "phone number",
        re.compile(r"(?<![\w+])(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?(?:[\s-]?\d){6,8}(?!\w)"),
    ),
    ("NHS number", re.compile(r"(?<!\w)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\w)")),
    ("pupil number", re.compile(r"(?<!\w)[A-Z]\d{11}[0-9A-Z](?!\w)")),
    (
        "postcode",
        re.compile(r"(?<!\w)[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}(?!\w)", re.IGNORECASE),
    ),
    (
        "house number and street",
        re.compile(
            rf"(?<!\w)\d{{1,4}}[A-Za-z]?,?\s+(?:{NAME_WORD}\s+){{1,3}}(?:{STREET_WORDS})(?!\w)"
        ),
    ),
    ("street", re.compile(rf"(?<!\w)(?:{NAME_WORD}\s+){{1,3}}(?:{STREET_WORDS})(?!\w)")),
    ("vehicle registration", re.compile(r"(?<!\w)[A-Z]{2}\d{2}\s?[A-Z]{3}(?!\w)")),
    ("social media handle", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,30}(?!\w)")),
    ("name after a title", re.compile(rf"(?<!\w){TITLES}\s+((?:{NAME_WORD})(?:\s+{NAME_WORD})?)")),
]


def normal_key(text: str) -> str:
    """How two spellings of one term are told to be the same: case and spacing aside."""
    return " ".join(text.split()).casefold()


def postcode_key(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def _postcode_display(text: str) -> str:
    key = postcode_key(text)
    return f"{key[:-3]} {key[-3:]}"


@dataclass(frozen=True)
class Rule:
    """Replace `text` (on word boundaries; spacing and case aside) by `label`. A single
    word of a name (`name_word`) is only replaced where it starts with a capital, so the
    name "Rose" does not take the flower. A postcode matches with or without its space."""

    text: str
    label: str
    origin: str  # AUTOMATIC, CANDIDATE or ADDED
    kind: str = ""  # what it is: "name", "address", "postcode", a detector's kind, ...
    name_word: bool = False
    titled: bool = False  # a name: "Mrs" before it goes with it

    def pattern(self) -> str:
        if self.kind == "postcode":
            key = postcode_key(self.text)
            body = re.escape(key[:-3]) + r"\s*" + re.escape(key[-3:])
        elif self.kind == "address":
            words = self.text.replace(",", " ").split()
            body = r",?\s+".join(re.escape(w) for w in words)
        else:
            body = r"\s+".join(re.escape(w) for w in self.text.split())
        if self.titled:
            body = rf"(?:{TITLES}\s+(?:[A-Z]\.?\s+){{0,2}})?{body}"
        return WORD_START + body + WORD_END

    def anchor(self) -> str:
        """A piece of text (lower case) that every match of this rule contains."""
        if self.kind == "postcode":
            return postcode_key(self.text)[-3:].lower()
        words = self.text.replace(",", " ").split()
        return max(words, key=len).lower() if words else ""

    def to_json(self) -> list:
        return [self.text, self.label, self.origin, self.kind, self.name_word, self.titled]

    @classmethod
    def from_json(cls, data: Sequence) -> Rule:
        text, label, origin, kind, name_word, titled = data
        return cls(str(text), str(label), str(origin), str(kind), bool(name_word), bool(titled))


@dataclass(frozen=True)
class Segment:
    """A piece of text: kept as it is (`rule` None) or matched by a rule (replaced by its
    label unless it is a candidate left in)."""

    text: str
    rule: Rule | None = None
    left: bool = False  # a candidate the reviewer chose to leave

    @property
    def output(self) -> str:
        if self.rule is None or self.left:
            return self.text
        return self.rule.label


@dataclass
class Plan:
    """The rules that redact a chronology; `left` are candidates shown but kept."""

    rules: list[Rule] = field(default_factory=list)
    left: list[Rule] = field(default_factory=list)

    def __post_init__(self):
        self._compile()

    def _compile(self):
        every = [(r, False) for r in self.rules] + [(r, True) for r in self.left]
        # Longest first, so "12 Elm Road" wins over "Elm Road" at the same place.
        every.sort(key=lambda item: (-len(item[0].text), item[0].text))
        self._every = every
        self._patterns = [r.pattern() for r, _ in every]
        # A piece of each rule's text that any match contains, in lower case: a text is
        # only searched with the rules whose piece it contains (one regex of hundreds of
        # alternatives, tried at every character, is far too slow).
        self._anchors = [r.anchor() for r, _ in every]
        self._regexes: dict[tuple[int, ...], re.Pattern] = {}

    def _regex_for(self, text: str) -> tuple[tuple[int, ...], re.Pattern | None]:
        lowered = text.lower()
        found = tuple(i for i, anchor in enumerate(self._anchors) if anchor in lowered)
        if not found:
            return found, None
        regex = self._regexes.get(found)
        if regex is None:
            if len(self._regexes) > 5000:
                self._regexes.clear()
            regex = self._regexes[found] = re.compile(
                "|".join(f"({self._patterns[i]})" for i in found), re.IGNORECASE
            )
        return found, regex

    def segments(self, text: str) -> list[Segment]:
        if not text:
            return []
        chosen, regex = self._regex_for(text)
        if regex is None:
            return [Segment(text)]
        out: list[Segment] = []
        at = 0
        for match in regex.finditer(text):
            rule, left = self._every[chosen[match.lastindex - 1]]
            found = match.group(0)
            if rule.name_word and not found[:1].isupper() and not found.split()[0][:1].isupper():
                continue  # "rose" is not the name Rose
            if match.start() > at:
                out.append(Segment(text[at : match.start()]))
            out.append(Segment(found, rule, left))
            at = match.end()
        if at < len(text):
            out.append(Segment(text[at:]))
        return out

    def apply(self, text: str) -> str:
        return "".join(s.output for s in self.segments(text))

    def to_json(self) -> list:
        return [r.to_json() for r in self.rules]

    @classmethod
    def from_json(cls, data: Iterable) -> Plan:
        return cls([Rule.from_json(item) for item in data or ()])

    def digest(self) -> str:
        blob = json.dumps([self.to_json(), [r.to_json() for r in self.left]], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def highlighted(segments: Iterable[Segment]) -> SafeString:
    """The segments as HTML for the preview: each piece of text escaped, what a rule
    matched wrapped in a <mark> saying what it is. Nothing users typed is marked safe."""
    parts = []
    for s in segments:
        if s.rule is None:
            parts.append(str(escape(s.text)).replace("\n", "<br>\n"))
        elif s.left:
            parts.append(
                f'<mark class="app-redaction app-redaction--left">{escape(s.text)}'
                '<span class="govuk-visually-hidden"> (left in)</span></mark>'
            )
        else:
            css = "automatic" if s.rule.origin == AUTOMATIC else s.rule.origin
            parts.append(
                f'<mark class="app-redaction app-redaction--{css}">{escape(s.rule.label)}'
                '<span class="govuk-visually-hidden"> replaces</span>'
                f' <span class="app-redaction__was">{escape(s.text)}</span></mark>'
            )
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped


# --- Who is removed ---------------------------------------------------------------------


@dataclass
class Identity:
    """Someone whose names and address are removed, and the label that replaces them."""

    role: str
    names: list[str] = field(default_factory=list)  # full names and other names
    addresses: list[str] = field(default_factory=list)
    label: str = ""


@dataclass
class KnownName:
    """A name of someone on the case who stays in (the family): listed as a candidate."""

    text: str
    who: str  # "the child", "the mother", ...


def name_words(name: str) -> list[str]:
    """The words of a name that are redacted on their own: not titles, initials or
    particles."""
    words = []
    for word in re.split(r"[\s,()]+", name):
        word = word.strip(".'’\"")
        if len(word) < 2 or word.casefold() in TITLE_WORDS | PARTICLES:
            continue
        words.append(word)
    return words


def address_parts(address: str) -> list[tuple[str, str]]:
    """(text, kind) for the parts of an address that identify it: the whole address,
    each line but the town (the last line without a number when there are several), the
    street without its number, and the postcode."""
    out: list[tuple[str, str]] = []
    address = address.strip()
    if not address:
        return out
    postcodes = DETECTORS_BY_KIND["postcode"].findall(address)
    for code in postcodes:
        out.append((_postcode_display(code), "postcode"))
    rest = DETECTORS_BY_KIND["postcode"].sub(" ", address)
    lines = [" ".join(p.split()) for p in re.split(r"[,\n;]+", rest) if p.strip()]
    whole = " ".join(rest.replace(",", " ").split())
    if whole and len(lines) > 1:
        out.append((whole, "address"))
    town = None
    if len(lines) > 1 and not re.search(r"\d", lines[-1]):
        town = lines[-1]
    for line in lines:
        if line == town:
            continue
        out.append((line, "address"))
        street = re.sub(r"^(?:flat|apartment|unit)?\s*\d+[A-Za-z]?\s+", "", line, flags=re.I)
        if street != line and street.strip():
            out.append((street.strip(), "address"))
    return out


DETECTORS_BY_KIND = dict(DETECTORS)


def _numbered(identities: list[Identity]) -> None:
    by_role: dict[str, list[Identity]] = {}
    for ident in identities:
        by_role.setdefault(ident.role, []).append(ident)
    for role, group in by_role.items():
        for i, ident in enumerate(group, 1):
            ident.label = f"{role} {i}" if len(group) > 1 else role


def automatic_rules(identities: list[Identity], kept: list[KnownName]) -> list[Rule]:
    """Every part of the identities' names and addresses, as rules. A word of a name
    that is also a name of someone kept (a surname shared with the mother) is not removed
    on its own, only with the rest of the name; a word two removed people share is
    labelled for neither."""
    _numbered(identities)
    kept_words = {normal_key(w) for k in kept for w in name_words(k.text)}
    rules: dict[str, Rule] = {}
    word_owner: dict[str, str] = {}

    def add(text: str, label: str, kind: str, **flags):
        key = postcode_key(text) if kind == "postcode" else normal_key(text)
        if key and key not in rules:
            rules[key] = Rule(text, f"[{label}]", AUTOMATIC, kind, **flags)

    for ident in identities:
        for name in ident.names:
            name = " ".join(name.split())
            words = name_words(name)
            if len(words) > 1:
                add(" ".join(words), ident.label, "name", titled=True)
            if name and normal_key(name) != normal_key(" ".join(words)):
                add(name, ident.label, "name", titled=True)
            for w in words:
                k = normal_key(w)
                if k in kept_words:
                    continue
                if k in word_owner and word_owner[k] != ident.label:
                    rules[k] = Rule(w, "[third party]", AUTOMATIC, "name", True, True)
                    continue
                word_owner[k] = ident.label
                add(w, ident.label, "name", name_word=True, titled=True)
        for address in ident.addresses:
            for text, kind in address_parts(address):
                add(text, f"{ident.label}'s address", kind)
    return list(rules.values())


@dataclass
class Candidate:
    """Something that could still identify someone, as a term (one decision for every
    place it appears)."""

    key: str
    text: str
    kind: str
    why: str
    default: str
    count: int = 0
    decision: str = ""

    @property
    def redacted(self) -> bool:
        return (self.decision or self.default) == REDACT


def find_candidates(
    texts: Iterable[str], fixed: Plan, kept: list[KnownName], *, skip: Iterable[str] = ()
) -> list[Candidate]:
    """The candidates in the text that `fixed` (the automatic and added rules) leaves:
    what the detectors find, and the names of the people kept on the case."""
    skip_keys = set(skip)
    found: dict[str, Candidate] = {}
    kept_terms: list[tuple[str, str]] = []
    for k in kept:
        for w in name_words(k.text):
            kept_terms.append((w, k.who))
    kept_regex = (
        re.compile(
            "|".join(
                rf"(?<!\w){re.escape(w)}(?!\w)"
                for w, _ in sorted(kept_terms, key=lambda t: -len(t[0]))
            )
        )
        if kept_terms
        else None
    )
    kept_who: dict[str, list[str]] = {}
    for w, who in kept_terms:
        kept_who.setdefault(normal_key(w), [])
        if who not in kept_who[normal_key(w)]:
            kept_who[normal_key(w)].append(who)

    def note(text: str, kind: str, why: str, default: str):
        key = postcode_key(text) if kind == "postcode" else normal_key(text)
        if key in skip_keys:
            return
        if kind == "postcode":
            text = _postcode_display(text)
        cand = found.get(key)
        if cand is None:
            cand = found[key] = Candidate(key, " ".join(text.split()), kind, why, default)
        cand.count += 1

    for text in texts:
        for seg in fixed.segments(text):
            if seg.rule is not None:
                continue
            piece = seg.text
            for kind, regex in DETECTORS:
                for m in regex.finditer(piece):
                    if kind == "name after a title":
                        name = m.group(1)
                        if normal_key(name) in kept_who or all(
                            normal_key(w) in kept_who for w in name.split()
                        ):
                            continue
                        note(name, "name", "a name after a title (Mr, Mrs, Dr...)", REDACT)
                    else:
                        note(m.group(0), kind, f"looks like a {kind}", REDACT)
            if kept_regex is not None:
                for m in kept_regex.finditer(piece):
                    who = " and ".join(kept_who[normal_key(m.group(0))])
                    note(m.group(0), "family name", f"a name of {who} (kept by the rule)", LEAVE)
    # A shorter candidate inside a longer one at the same place is still its own term
    # ("Elm Road" in "12 Elm Road"): both are listed, the longer wins where both match.
    return sorted(found.values(), key=lambda c: (c.default != REDACT, c.kind, c.key))


def candidate_rules(candidates: list[Candidate]) -> tuple[list[Rule], list[Rule]]:
    """Rules for the candidates: those redacted (numbered labels, the same for each term
    everywhere) and those left in."""
    redact, left = [], []
    counters: dict[str, int] = {}
    for c in candidates:
        label_kind = {"name": "third party", "family name": "family member"}.get(c.kind, c.kind)
        if c.redacted:
            counters[label_kind] = counters.get(label_kind, 0) + 1
            n = counters[label_kind]
            label = (
                f"[{label_kind} {n}]"
                if label_kind in ("third party", "family member")
                else f"[{label_kind}]"
            )
            redact.append(
                Rule(
                    c.text,
                    label,
                    CANDIDATE,
                    c.kind,
                    name_word=c.kind in ("name", "family name") and len(c.text.split()) == 1,
                    titled=c.kind in ("name", "family name"),
                )
            )
        else:
            left.append(Rule(c.text, "", CANDIDATE, c.kind))
    return redact, left


def added_rules(terms: Iterable[str]) -> list[Rule]:
    out, seen = [], set()
    for term in terms:
        term = " ".join(term.split())
        if term and normal_key(term) not in seen:
            seen.add(normal_key(term))
            out.append(Rule(term, "[redacted]", ADDED, "added"))
    return out


def clean_added_terms(text: str) -> list[str]:
    """The reviewer's own terms, one per line: spacing tidied, repeats and blanks gone."""
    out, seen = [], set()
    for line in text.splitlines():
        line = " ".join(line.split())[:200]
        if line and normal_key(line) not in seen:
            seen.add(normal_key(line))
            out.append(line)
    return out[:200]


@dataclass
class Review:
    """What a review shows: the plan and its candidates, and the counts."""

    plan: Plan
    candidates: list[Candidate]
    automatic: list[Rule]
    added: list[Rule]

    def counts(self, texts: Iterable[str]) -> dict[str, int]:
        automatic = 0
        for text in texts:
            automatic += sum(
                1 for s in self.plan.segments(text) if s.rule and s.rule.origin == AUTOMATIC
            )
        return {
            "automatic_redactions": automatic,
            "candidates_redacted": sum(1 for c in self.candidates if c.redacted),
            "candidates_left": sum(1 for c in self.candidates if not c.redacted),
            "terms_added": len(self.added),
        }


def build_review(
    texts: list[str],
    identities: list[Identity],
    kept: list[KnownName],
    decisions: dict[str, str],
    added_terms: list[str],
) -> Review:
    automatic = automatic_rules(identities, kept)
    added = added_rules(added_terms)
    fixed = Plan(automatic + added)
    candidates = find_candidates(texts, fixed, kept)
    for c in candidates:
        if decisions.get(c.key) in (REDACT, LEAVE):
            c.decision = decisions[c.key]
    redact, left = candidate_rules(candidates)
    return Review(Plan(automatic + added + redact, left), candidates, automatic, added)
