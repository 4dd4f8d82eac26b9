"""Finding a person by name before a second record of them is made.

One rule, two ways of scoring it. On PostgreSQL the names are scored in the database
with pg_trgm (TrigramSimilarity, TrigramWordSimilarity), and the people to score are
found through the GIN trigram indexes on the name and other-name columns (migration
cases 0003). On SQLite the same scores are worked out in Python (`cases.trigrams`, the
same definitions as pg_trgm) for the people who share a piece of a name with the
search. Either way each person gets the same `Scores`, and `judge` decides whether they
match, how well, and why.

The scores, for a search of first name F and last name L:
- `name`: the similarity of "F L" and the person's "first last". Trigrams ignore the
  order of words, so a first and last name swapped still score 1. With no first name
  searched, the better of L against the last name and against the whole name.
- `straight` and `swapped`: F and L against the first and last names, and crossed, to
  say that the names were swapped.
- `other_names`: how well "F L" matches a name or run of words in the other names the
  person is known by (word similarity, one name per line).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Concat, Greatest

from . import trigrams
from .models import Person

# A name this similar to the one searched for is a match on its own.
NAME_SIMILAR = 0.4
# An other name is a match at pg_trgm's own threshold for word similarity.
OTHER_NAME_SIMILAR = 0.6
# With the same date of birth, a weaker likeness of the name is enough (a surname
# changed by marriage, a first name spelled another way).
NAME_WITH_SAME_BIRTH_DATE = 0.2
# The best-scored people read from the database, of which the matches are kept.
CANDIDATES = 200
SAME = 0.999  # a similarity this high is the same name (float4 in PostgreSQL)


@dataclass(frozen=True)
class Search:
    first_name: str = ""
    last_name: str = ""
    date_of_birth: datetime.date | None = None
    nhs_number: str = ""  # normalised

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def words(self) -> list[str]:
        return trigrams._words(self.name)

    @property
    def is_empty(self) -> bool:
        return not self.words and not self.nhs_number and self.date_of_birth is None


@dataclass(frozen=True)
class Scores:
    name: float = 0.0
    straight: float = 0.0
    swapped: float = 0.0
    other_names: float = 0.0


@dataclass(frozen=True)
class Judgement:
    score: float
    reasons: list[str]


def judge(person: Person, scores: Scores, search: Search) -> Judgement | None:
    """Whether `person` may be the one searched for; if so how well (higher first) and
    why, in words for the page. None when they do not match."""
    same_nhs = bool(search.nhs_number) and person.nhs_number == search.nhs_number
    same_birth = search.date_of_birth is not None and person.date_of_birth == search.date_of_birth
    by_name = scores.name >= NAME_SIMILAR
    by_other_name = scores.other_names >= OTHER_NAME_SIMILAR
    likeness = max(scores.name, scores.other_names)
    if not (
        same_nhs
        or by_name
        or by_other_name
        or (same_birth and likeness >= NAME_WITH_SAME_BIRTH_DATE)
    ):
        return None
    reasons = []
    if same_nhs:
        reasons.append("same NHS number")
    if by_name:
        which = "name" if search.first_name else "last name"
        if search.first_name and scores.swapped > scores.straight:
            which = "name, first and last swapped"
        reasons.append(f"{'same' if scores.name >= SAME else 'similar'} {which}")
    if by_other_name and (not by_name or scores.other_names > scores.name):
        reasons.append(f"known as {best_other_name(person.aliases, search.name)}")
    if same_birth:
        reasons.append("same date of birth")
        if not (by_name or by_other_name):
            reasons.append("a name partly like it")
    return Judgement(rank(person, scores, search), reasons)


def rank(person: Person, scores: Scores, search: Search) -> float:
    """Best first: the same NHS number, then the same date of birth, then the closer
    name. The database orders by the same sum."""
    same_nhs = bool(search.nhs_number) and person.nhs_number == search.nhs_number
    same_birth = search.date_of_birth is not None and person.date_of_birth == search.date_of_birth
    return (
        max(scores.name, scores.other_names)
        + (1.0 if same_birth else 0.0)
        + (2.0 if same_nhs else 0.0)
    )


def best_other_name(aliases: str, name: str) -> str:
    """The other name (one line of them) most like `name`."""
    lines = [line.strip() for line in aliases.splitlines() if line.strip()]
    return max(lines, key=lambda line: trigrams.word_similarity(name, line), default="")


def scored(people: QuerySet, search: Search) -> list[tuple[Person, Scores]]:
    """The people of `people` who may match, with their scores, best first (at most
    CANDIDATES of them), scored by the database or in Python."""
    if search.is_empty:
        return []
    if in_database():
        return _scored_in_database(people, search)
    return _scored_in_python(people, search)


def in_database() -> bool:
    """Whether the database scores names itself (PostgreSQL, with pg_trgm)."""
    return connection.vendor == "postgresql"


def ranked(people: Iterable[tuple[Person, Scores]], search: Search, limit: int):
    """(person, judgement) for those who match, best first, then by name."""
    judged = []
    for person, scores in people:
        judgement = judge(person, scores, search)
        if judgement is not None:
            judged.append((person, judgement))
    judged.sort(
        key=lambda pair: (
            -round(pair[1].score, 4),
            pair[0].last_name.lower(),
            pair[0].first_name.lower(),
            pair[0].pk,
        )
    )
    return judged[:limit]


# --- PostgreSQL -------------------------------------------------------------------------


def _scored_in_database(people: QuerySet, search: Search) -> list[tuple[Person, Scores]]:
    first, last, name = search.first_name, search.last_name, search.name
    found = Q(pk__in=[])
    if search.nhs_number:
        found |= Q(nhs_number=search.nhs_number)
    if search.date_of_birth:
        found |= Q(date_of_birth=search.date_of_birth)
    # Each of these is answered from a GIN trigram index (pg_trgm's % and %> operators).
    for word in {w for w in (first, last) if w}:
        found |= Q(first_name__trigram_similar=word) | Q(last_name__trigram_similar=word)
        found |= Q(aliases__trigram_word_similar=word)
    if name:
        found |= Q(aliases__trigram_word_similar=name)
    zero = Value(0.0, output_field=FloatField())
    full_name = Concat("first_name", Value(" "), "last_name")
    if not name:
        scores = {"s_name": zero, "s_straight": zero, "s_swapped": zero, "s_other": zero}
    elif first:
        scores = {
            "s_name": TrigramSimilarity(full_name, name),
            "s_straight": TrigramSimilarity("first_name", first)
            + TrigramSimilarity("last_name", last),
            "s_swapped": TrigramSimilarity("first_name", last)
            + TrigramSimilarity("last_name", first),
            "s_other": TrigramWordSimilarity(name, "aliases"),
        }
    else:
        scores = {
            "s_name": Greatest(
                TrigramSimilarity("last_name", last), TrigramSimilarity(full_name, last)
            ),
            "s_straight": zero,
            "s_swapped": zero,
            "s_other": TrigramWordSimilarity(name, "aliases"),
        }
    bonus = [zero]
    if search.date_of_birth:
        bonus.append(Case(When(date_of_birth=search.date_of_birth, then=Value(1.0)), default=zero))
    if search.nhs_number:
        bonus.append(Case(When(nhs_number=search.nhs_number, then=Value(2.0)), default=zero))
    rank = Greatest(F("s_name"), F("s_other"))
    for extra in bonus:
        rank = rank + extra
    rows = (
        people.filter(found)
        .annotate(**scores)
        .annotate(s_rank=rank)
        .order_by("-s_rank", "last_name", "first_name", "pk")[:CANDIDATES]
    )
    return [
        (
            person,
            Scores(
                name=person.s_name,
                straight=person.s_straight,
                swapped=person.s_swapped,
                other_names=person.s_other,
            ),
        )
        for person in rows
    ]


# --- SQLite (and any database without pg_trgm) ---------------------------------------------


def _narrowed(people: QuerySet, search: Search) -> QuerySet:
    """People sharing a piece of a name with the search (its first letters, or three
    letters in a row), or its date of birth or NHS number: those who could score."""
    found = Q(pk__in=[])
    if search.nhs_number:
        found |= Q(nhs_number=search.nhs_number)
    if search.date_of_birth:
        found |= Q(date_of_birth=search.date_of_birth)
    for word in set(search.words):
        found |= Q(first_name__istartswith=word[:2]) | Q(last_name__istartswith=word[:2])
        pieces = {word[i : i + 3] for i in range(len(word) - 2)} or {word}
        for piece in pieces:
            found |= (
                Q(first_name__icontains=piece)
                | Q(last_name__icontains=piece)
                | Q(aliases__icontains=piece)
            )
    return people.filter(found)


def scores_of(person: Person, search: Search) -> Scores:
    """The scores the database gives, worked out in Python."""
    first, last, name = search.first_name, search.last_name, search.name
    if not name:
        return Scores()
    full_name = f"{person.first_name} {person.last_name}"
    other = trigrams.word_similarity(name, person.aliases)
    if not first:
        return Scores(
            name=max(
                trigrams.similarity(person.last_name, last), trigrams.similarity(full_name, last)
            ),
            other_names=other,
        )
    return Scores(
        name=trigrams.similarity(full_name, name),
        straight=trigrams.similarity(person.first_name, first)
        + trigrams.similarity(person.last_name, last),
        swapped=trigrams.similarity(person.first_name, last)
        + trigrams.similarity(person.last_name, first),
        other_names=other,
    )


def _scored_in_python(people: QuerySet, search: Search) -> list[tuple[Person, Scores]]:
    found = []
    for person in _narrowed(people, search):
        scores = scores_of(person, search)
        found.append((rank(person, scores, search), person, scores))
    found.sort(key=lambda row: (-row[0], row[1].last_name, row[1].first_name, row[1].pk))
    return [(person, scores) for _, person, scores in found[:CANDIDATES]]
