"""The access log, one row per child shown, written once per request.

A view (page, API, export) says what it showed while it builds its answer:

    access.record(request, people=[child.pk, ...], case=case, via=Via.LIST, what="...")

and what it was refused (a 404 from the policy), with the id that was asked for:

    access.refused(request, case_id=pk, what="...")

Nothing is written then: the rows wait on the request, and AccessLogMiddleware writes
them all in one INSERT (`bulk_create`) once the view has answered. `people` may be a
callable, read only then, for pages whose children are read by the template's helpers
after the view has named the case (see cases/views/base.py). docs/DECISIONS.md ("The
access log") says what happens when the write fails.

The same person shown twice in one answer (a child in the household and in the plan
list) is one row. A case shown with nobody named is one row with no person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.defaults import server_error

from .models import AccessLog
from .services import client_ip

logger = logging.getLogger(__name__)

Via = AccessLog.Via
Outcome = AccessLog.Outcome

PENDING = "_access_log_pending"

People = Iterable[Any] | Callable[[], Iterable[Any]]


class _CaseLike(Protocol):
    pk: Any
    reference: str


@dataclass
class _Entry:
    what: str
    via: str
    outcome: str
    case_id: int | None
    case_reference: str
    people: People


def _http_request(request: Any) -> HttpRequest:
    """The Django request under a REST framework one (whose user it is given)."""
    return getattr(request, "_request", request)


def _pending(request: Any) -> list[_Entry]:
    http = _http_request(request)
    entries = getattr(http, PENDING, None)
    if entries is None:
        entries = []
        setattr(http, PENDING, entries)
    return entries


def record(
    request: Any,
    *,
    what: str,
    via: str = Via.PAGE,
    people: People = (),
    case: _CaseLike | None = None,
    case_id: int | None = None,
    case_reference: str = "",
    outcome: str = Outcome.SHOWN,
) -> None:
    """Note that this answer shows `people` (ids or objects with a pk), in `case`'s
    context if given; written after the view answers."""
    if case is not None:
        case_id, case_reference = case.pk, case.reference
    _pending(request).append(
        _Entry(
            what=what[:200],
            via=via,
            outcome=outcome,
            case_id=case_id,
            case_reference=case_reference or "",
            people=people,
        )
    )


def refused(
    request: Any,
    *,
    what: str,
    via: str = Via.PAGE,
    case_id: Any = None,
    person_id: Any = None,
) -> None:
    """Note an attempt the policy refused, with the id asked for (kept only if it is a
    number that fits the column: anything else asked for is no record at all)."""
    record(
        request,
        what=what,
        via=via,
        case_id=_id_or_none(case_id),
        people=[p for p in [_id_or_none(person_id)] if p is not None],
        outcome=Outcome.REFUSED,
    )


def _id_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def _person_id(person: Any) -> int:
    return int(getattr(person, "pk", person))


# Answers that show nothing of a record: what was noted as shown was refused after all
# (a case page whose action the policy refused, 403; a person not on the case, 404).
NOTHING_SHOWN = {403, 404}


def rows(request: Any, status: int | None = None) -> list[AccessLog]:
    """The rows this request has noted, one per person (and case), not yet saved; all
    refused if the answer (`status`) showed nothing."""
    http = _http_request(request)
    entries: list[_Entry] = getattr(http, PENDING, None) or []
    user = getattr(http, "user", None)
    if not entries or user is None or not user.is_authenticated:
        return []
    now = timezone.now()
    ip = client_ip(http)
    match = getattr(http, "resolver_match", None)
    route = ""
    if match is not None:
        route = (match.view_name or match.route or "")[:200]
    seen: set[tuple[int | None, int | None, str]] = set()
    result: list[AccessLog] = []
    refused_all = status in NOTHING_SHOWN
    for entry in entries:
        outcome = Outcome.REFUSED if refused_all else entry.outcome
        people = entry.people() if callable(entry.people) else entry.people
        ids: list[int | None] = [_person_id(p) for p in people]
        ids = ids or [None]
        for person_id in ids:
            key = (person_id, entry.case_id, outcome)
            if key in seen:
                continue
            seen.add(key)
            result.append(
                AccessLog(
                    user=user,
                    person_id=person_id,
                    case_id=entry.case_id,
                    case_reference=entry.case_reference,
                    what=entry.what,
                    via=entry.via,
                    route=route,
                    outcome=outcome,
                    at=now,
                    ip_address=ip,
                )
            )
    return result


def flush(request: Any, status: int | None = None) -> int:
    """Write what this request noted, in one INSERT; how many rows."""
    http = _http_request(request)
    found = rows(http, status)
    setattr(http, PENDING, [])
    if found:
        # One INSERT of every row, committed by itself (the middleware runs in autocommit,
        # outside any view's transaction). bulk_create would wrap it in BEGIN and COMMIT,
        # two more round trips on every page, for a single statement that is atomic
        # anyway; this is the insert bulk_create makes, without them.
        AccessLog.objects._insert(found, fields=_INSERT_FIELDS)  # type: ignore[attr-defined]
    return len(found)


_INSERT_FIELDS = [f for f in AccessLog._meta.concrete_fields if not f.primary_key]


class AccessLogMiddleware:
    """Writes the request's access log rows after the view has answered.

    If the write fails, an answer to a read (GET or HEAD) that would have shown records is
    replaced by a 500: nothing is shown that the log does not hold. An answer to a write
    (POST) is sent as it is, the failure logged: what the user saved is committed by
    then, and a 500 would tell them it was not.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, PENDING, None):
            return response
        try:
            flush(request, response.status_code)
        except DatabaseError:
            logger.exception("The access log could not be written")
            if request.method in ("GET", "HEAD") and response.status_code < 400:
                if hasattr(response, "close"):
                    response.close()  # a file response's file
                return server_error(request)
        return response
