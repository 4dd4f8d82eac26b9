"""PostgreSQL's pg_trgm `similarity` and `word_similarity`, worked out in Python.

Search before create (cases.queries.person_matches) scores names in the database on
PostgreSQL. SQLite has no pg_trgm, so there the same scores are worked out here for a
narrowed set of people, and both give the same matches in the same order. The
definitions follow pg_trgm (contrib/pg_trgm/trgm_op.c) with its default build:

- a string is lowered and split into words of letters and digits; each word is padded
  with two spaces in front and one behind, and every three characters in a row of the
  padded word are a trigram ("  d", " da", "dar", ..., "en ");
- similarity(a, b) is the number of trigrams the two share over the number in either;
- word_similarity(a, b) is the greatest similarity between the trigrams of `a` and any
  continuous extent of the trigrams of `b`, in order: how well `a` matches a word or
  run of words inside `b`.
"""

import re

_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _trigram_sequence(text: str) -> list[str]:
    """Every trigram of `text` in order, repeats kept."""
    found = []
    for word in _words(text):
        padded = f"  {word} "
        found.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def trigrams(text: str) -> set[str]:
    return set(_trigram_sequence(text))


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(a, b): 0 (nothing shared) to 1 (the same trigrams)."""
    first, second = trigrams(a), trigrams(b)
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)


def word_similarity(a: str, b: str) -> float:
    """pg_trgm's word_similarity(a, b): how well `a` matches some extent of `b`.

    The iteration of pg_trgm's iterate_word_similarity, not strict: the extent ends at
    each trigram of `b` that `a` has, and its start moves forward while that raises the
    similarity.
    """
    wanted = trigrams(a)
    sequence = _trigram_sequence(b)
    if not wanted or not sequence:
        return 0.0
    ulen1 = len(wanted)
    last_position: dict[str, int] = {}
    lower = -1
    count = 0  # trigrams of `a` in the extent
    ulen2 = 0  # distinct trigrams in the extent
    best = 0.0
    for i, trigram in enumerate(sequence):
        found = trigram in wanted
        if lower >= 0 or found:
            if trigram not in last_position:
                ulen2 += 1
                if found:
                    count += 1
            last_position[trigram] = i
        if not found:
            continue
        if lower == -1:
            lower = i
            ulen2 = 1
        current = count / (ulen1 + ulen2 - count)
        # Try later starts of the extent for a greater similarity.
        tmp_count, tmp_ulen2, previous_lower = count, ulen2, lower
        for tmp_lower in range(lower, i + 1):
            candidate = tmp_count / (ulen1 + tmp_ulen2 - tmp_count)
            if candidate > current:
                current, ulen2, lower, count = candidate, tmp_ulen2, tmp_lower, tmp_count
            leaving = sequence[tmp_lower]
            if last_position.get(leaving) == tmp_lower:
                tmp_ulen2 -= 1
                if leaving in wanted:
                    tmp_count -= 1
        best = max(best, current)
        # Trigrams that left the extent are no longer in it.
        for tmp_lower in range(previous_lower, lower):
            leaving = sequence[tmp_lower]
            if last_position.get(leaving) == tmp_lower:
                del last_position[leaving]
    return best
