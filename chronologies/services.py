"""Writes to the chronology. Every recorded event goes through `entries_record` (one
event: `entry_record`), keyed by its source, so that saving the same event twice updates
one entry."""

import datetime
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts import policy
from accounts.models import Agency, User
from cases.models import Case, Person
from cases.services.base import require_open
from common.concurrency import check_version, version_of
from common.records import acting, assign, save

from .models import (
    Category,
    ChronologyEntry,
    ChronologyExport,
    InformantType,
    RedactionReview,
    Significance,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)
Key = tuple[str, str]  # an entry's source: (source_type, source_id)


def _save(obj: M, actor: User | None, reason: str = "") -> M:
    return save(obj, actor, reason=reason, validate=False)


@dataclass
class RecordedEntry:
    """What an event says its entry is; `entries_record` writes it."""

    case: Case
    source_type: str
    source_id: int | str
    category: str
    occurred_on: datetime.date
    title: str
    details: str = ""
    analysis: str = ""
    action_taken: str = ""
    occurred_at: datetime.datetime | None = None
    children: Sequence[Person] = ()
    significance: str = Significance.ROUTINE
    source_in_error: bool = False

    @property
    def key(self) -> Key:
        return (self.source_type, str(self.source_id))

    def values(self) -> dict[str, Any]:
        return dict(
            category=self.category,
            occurred_on=self.occurred_on,
            occurred_at=self.occurred_at,
            title=self.title[:300],
            details=self.details,
            analysis=self.analysis,
            action_taken=self.action_taken,
            source_in_error=self.source_in_error,
        )


def entry_record(
    *, actor: User | None = None, now: datetime.datetime | None = None, **fields: Any
) -> ChronologyEntry:
    """Write or update the one entry for this source (`entries_record` for one); the
    fields are those of RecordedEntry."""
    return entries_record([RecordedEntry(**fields)], actor=actor, now=now)[0]


@transaction.atomic
def entries_record(
    items: Iterable[RecordedEntry],
    *,
    actor: User | None = None,
    now: datetime.datetime | None = None,
) -> list[ChronologyEntry]:
    """Write or update the one entry for each source, in a few statements whatever
    their number. A significance a person chose is kept; the source's own significance
    applies otherwise. The history is what saving them one by one writes: a row per
    entry created ("+", without children) or changed ("~"), then a row when its children
    lose someone and one when they gain someone, each by `actor`.

    Returns the entries in the order of `items`; a source named twice is written twice,
    in order."""
    items = list(items)
    now = now or timezone.now()
    rounds: list[list[RecordedEntry]] = [[]]
    seen: set[Key] = set()
    for item in items:
        if item.key in seen:
            rounds.append([])
            seen = set()
        rounds[-1].append(item)
        seen.add(item.key)
    result: list[ChronologyEntry] = []
    for batch in rounds:
        if batch:
            written = _entries_write(batch, actor, now)
            result.extend(written[item.key] for item in batch)
    return result


def _lock_entries(keys: Iterable[Key]) -> dict[Key, ChronologyEntry]:
    """The existing entries for these (source_type, source_id) keys, locked, in one read."""
    by_type: dict[str, set] = {}
    for source_type, source_id in keys:
        by_type.setdefault(source_type, set()).add(source_id)
    query = None
    for source_type, ids in by_type.items():
        q = Q(source_type=source_type, source_id__in=sorted(ids))
        query = q if query is None else query | q
    return {
        (e.source_type, e.source_id): e
        for e in ChronologyEntry.objects.select_for_update().filter(query).order_by("pk")
    }


def _write_history(
    entries: list[ChronologyEntry],
    history_type: str,
    actor: User | None,
    through_rows: dict[int, list[Any]],
    reason: str | None = None,
) -> None:
    """History rows as simple-history writes them on save and on a change of children:
    the entry's fields and a copy of its children's rows at that moment."""
    if not entries:
        return
    History = ChronologyEntry.history.model
    Children = History.children.model
    when = timezone.now()
    rows = History.objects.bulk_create(
        [
            History(
                history_date=when,
                history_type=history_type,
                history_user=actor,
                history_change_reason=reason,
                **{f.attname: getattr(entry, f.attname) for f in History.tracked_fields},
            )
            for entry in entries
        ]
    )
    copies = [
        Children(
            history=row,
            id=link.id,
            chronologyentry_id=link.chronologyentry_id,
            person_id=link.person_id,
        )
        for row, entry in zip(rows, entries, strict=True)
        for link in through_rows.get(entry.pk, ())
    ]
    if copies:
        Children.objects.bulk_create(copies)


def _entries_write(
    items: list[RecordedEntry], actor: User | None, now: datetime.datetime
) -> dict[Key, ChronologyEntry]:
    """`entries_record` for items naming each source once: one locked read, one insert of
    the new entries, one update of the changed ones, one read, delete and insert of their
    children, each write followed by its history rows."""
    Link = ChronologyEntry.children.through
    for attempt in range(3):
        existing = _lock_entries(item.key for item in items)
        new = [
            ChronologyEntry(
                source_type=item.source_type,
                source_id=str(item.source_id),
                case=item.case,
                **item.values(),
                significance=item.significance,
                created_at=now,
                created_by=actor,
                updated_at=now,
            )
            for item in items
            if item.key not in existing
        ]
        if not new:
            break
        try:
            with transaction.atomic():
                ChronologyEntry.objects.bulk_create(new)
            break
        except IntegrityError:  # written meanwhile by another transaction: read again
            if attempt == 2:
                raise
    _write_history(new, "+", actor, {})

    links: dict[int, list] = {}
    if existing:
        for link in Link.objects.filter(
            chronologyentry_id__in=[e.pk for e in existing.values()]
        ).order_by("pk"):
            links.setdefault(link.chronologyentry_id, []).append(link)
    changed_entries, changed_fields = [], set()
    for item in items:
        entry = existing.get(item.key)
        if entry is None:
            continue
        values = item.values()
        changed = [k for k, v in values.items() if getattr(entry, k) != v]
        if entry.case_id != item.case.pk:
            entry.case = item.case
            changed.append("case")
        if entry.significance_set_by_id is None and entry.significance != item.significance:
            entry.significance = item.significance
            changed.append("significance")
        if changed:
            for k in changed:
                if k in values:
                    setattr(entry, k, values[k])
            entry.updated_at = now
            changed_entries.append(entry)
            changed_fields.update(changed)
    if changed_entries:
        ChronologyEntry.objects.bulk_update(changed_entries, [*changed_fields, "updated_at"])
        _write_history(changed_entries, "~", actor, links)

    entries = {(e.source_type, e.source_id): e for e in [*existing.values(), *new]}
    removed_links, lost, gained, to_add = [], [], [], []
    for item in items:
        entry = entries[item.key]
        wanted = {c.pk for c in item.children}
        current = {link.person_id for link in links.get(entry.pk, ())}
        if current == wanted:
            continue
        gone = [link for link in links.get(entry.pk, ()) if link.person_id not in wanted]
        if gone:
            removed_links.extend(gone)
            links[entry.pk] = [link for link in links[entry.pk] if link not in gone]
            lost.append(entry)
        added = [Link(chronologyentry_id=entry.pk, person_id=pk) for pk in wanted - current]
        if added:
            to_add.extend(added)
            gained.append(entry)
    if removed_links:
        Link.objects.filter(pk__in=[link.pk for link in removed_links]).delete()
        _write_history(lost, "~", actor, links)
    if to_add:
        for link in Link.objects.bulk_create(to_add):
            links.setdefault(link.chronologyentry_id, []).append(link)
        _write_history(gained, "~", actor, links)
    return entries


@transaction.atomic
def entries_mark_source_in_error(
    sources: Q, *, actor: User | None = None, now: datetime.datetime | None = None
) -> int:
    """The source was recorded in error: its entries (`sources` picks them out) stay,
    struck through. One statement locks them and one strikes them, however many there
    are; their history rows are the ones saving each would write, by `actor`, with a copy
    of their children."""
    now = now or timezone.now()
    struck = list(
        ChronologyEntry.objects.select_for_update()
        .filter(sources, source_in_error=False)
        .order_by("pk")
    )
    if not struck:
        return 0
    for entry in struck:
        entry.source_in_error = True
        entry.updated_at = now
    ChronologyEntry.objects.bulk_update(struck, ["source_in_error", "updated_at"])
    links: dict[int, list] = {}
    for link in ChronologyEntry.children.through.objects.filter(
        chronologyentry_id__in=[e.pk for e in struck]
    ).order_by("pk"):
        links.setdefault(link.chronologyentry_id, []).append(link)
    _write_history(struck, "~", actor, links)
    return len(struck)


@transaction.atomic
def entries_child_merged(
    *, keep: Person, duplicate: Person, actor: User | None = None, reason: str = ""
) -> int:
    """Two records of one person were merged: every entry naming the duplicate among its
    children names the record kept instead (once). Their history rows are the ones a
    change of children writes, by `actor`, with the merge as the reason. Returns the
    number of entries changed."""
    Link = ChronologyEntry.children.through
    entries = list(
        ChronologyEntry.objects.select_for_update().filter(children=duplicate).order_by("pk")
    )
    if not entries:
        return 0
    ids = [e.pk for e in entries]
    Link.objects.filter(chronologyentry_id__in=ids, person_id=duplicate.pk).delete()
    links: dict[int, list] = {}
    for link in Link.objects.filter(chronologyentry_id__in=ids).order_by("pk"):
        links.setdefault(link.chronologyentry_id, []).append(link)
    _write_history(entries, "~", actor, links, reason=reason or None)
    gained = [e for e in entries if all(k.person_id != keep.pk for k in links.get(e.pk, ()))]
    if gained:
        for link in Link.objects.bulk_create(
            [Link(chronologyentry_id=e.pk, person_id=keep.pk) for e in gained]
        ):
            links.setdefault(link.chronologyentry_id, []).append(link)
        _write_history(gained, "~", actor, links, reason=reason or None)
    return len(entries)


# --- Manual multi-agency entries -----------------------------------------------------------


@dataclass
class ManualEntryInput:
    occurred_on: datetime.date | None
    title: str
    details: str
    date_is_approximate: bool = False
    agency: Agency | None = None
    informant_type: str = ""
    informant_name: str = ""
    informant_address: str = ""
    analysis: str = ""
    action_taken: str = ""
    children: list[Person] = field(default_factory=list)
    significance: str = Significance.ROUTINE


def _validate_manual(
    case: Case,
    data: ManualEntryInput,
    now: datetime.datetime,
    entry: ChronologyEntry | None = None,
) -> datetime.date:
    """What is wrong with `data` for an entry on `case` (or for changing `entry`, which
    may keep an agency no longer in use and children no longer on the case); the date it
    happened on."""
    errors: dict[str, str] = {}
    if data.occurred_on is None:
        errors["occurred_on"] = "Enter the date, or the month and year if that is all you know"
    elif data.occurred_on > timezone.localdate(now):
        errors["occurred_on"] = "The date must be today or in the past"
    if data.agency is None and not data.informant_type:
        errors["source"] = "Select the agency or the kind of informant the information came from"
    if data.agency is not None and data.informant_type:
        errors["source"] = "Select an agency or an informant, not both"
    if (
        data.agency is not None
        and not data.agency.active
        and (entry is None or data.agency.pk != entry.agency_id)
    ):
        errors["agency"] = "Select an agency from the list"
    if data.informant_type and data.informant_type not in InformantType.values:
        errors["informant_type"] = "Select a kind of informant from the list"
    if not data.title.strip():
        errors["title"] = "Enter a short summary"
    if not data.details.strip():
        errors["details"] = "Enter what was reported"
    if data.significance not in Significance.values:
        errors["significance"] = "Select routine, significant or critical"
    child_ids = set(
        case.memberships.filter(relationship="child", in_error=False).values_list(
            "person_id", flat=True
        )
    )
    if entry is not None:
        child_ids |= set(entry.children.values_list("pk", flat=True))
    if any(c.pk not in child_ids for c in data.children):
        errors["children"] = "Select children in this case"
    if errors or data.occurred_on is None:
        raise ValidationError(errors)
    return data.occurred_on


def _manual_values(data: ManualEntryInput) -> dict[str, Any]:
    """The entry's fields from what was typed (an approximate date is kept as the first
    of its month)."""
    occurred_on = data.occurred_on
    assert occurred_on is not None  # _validate_manual has checked it
    if data.date_is_approximate:
        occurred_on = occurred_on.replace(day=1)
    return dict(
        occurred_on=occurred_on,
        date_is_approximate=data.date_is_approximate,
        title=data.title.strip()[:300],
        details=data.details.strip(),
        analysis=data.analysis.strip(),
        action_taken=data.action_taken.strip(),
        agency=data.agency,
        informant_type=data.informant_type if data.agency is None else "",
        informant_name=data.informant_name.strip()[:200],
        informant_address=data.informant_address.strip()[:300],
        significance=data.significance,
    )


@transaction.atomic
def entry_add_manual(
    *, actor: User, case: Case, data: ManualEntryInput, now: datetime.datetime | None = None
) -> ChronologyEntry:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    require_open(case, "adding to its chronology")
    _validate_manual(case, data, now)
    entry = ChronologyEntry(
        case=case,
        source_type=ChronologyEntry.MANUAL,
        source_id=uuid.uuid4().hex,
        category=Category.MULTI_AGENCY,
        **_manual_values(data),
        significance_set_by=actor,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    _save(entry, actor)
    entry.children.set(data.children)
    return entry


def entry_version(entry: ChronologyEntry) -> str:
    """The version of an entry that its edit forms start from. A change of the children
    it concerns moves `updated_at` too, so the entry's own fields say it all."""
    return version_of(entry)


def entry_manual_input(entry: ChronologyEntry) -> ManualEntryInput:
    """What is stored on a manual entry, as its edit form and the API start from."""
    return ManualEntryInput(
        occurred_on=entry.occurred_on,
        date_is_approximate=entry.date_is_approximate,
        title=entry.title,
        details=entry.details,
        analysis=entry.analysis,
        action_taken=entry.action_taken,
        agency=entry.agency,
        informant_type=entry.informant_type,
        informant_name=entry.informant_name,
        informant_address=entry.informant_address,
        children=list(entry.children.all()),
        significance=entry.significance,
    )


@transaction.atomic
def entry_update(
    *,
    actor: User,
    entry: ChronologyEntry,
    data: ManualEntryInput,
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> ChronologyEntry:
    """Change a multi-agency entry typed in by hand: its date, source, what was reported,
    the analysis, the action taken, the children it concerns and its significance.
    Entries recorded from events follow their source and are not changed here. Only what
    changed is saved; the same values again change nothing."""
    now = now or timezone.now()
    if not policy.can_edit_chronology_entry(actor, entry):
        raise PermissionDenied(
            "This entry was recorded from an event: change the record it came from"
        )
    require_open(entry.case, "changing its chronology")
    entry = ChronologyEntry.objects.select_for_update().select_related("case").get(pk=entry.pk)
    check_version(version, [entry], what="this chronology entry")
    if entry.in_error:
        raise ValidationError("This entry is recorded in error")
    _validate_manual(entry.case, data, now, entry=entry)
    changed = assign(entry, **_manual_values(data))
    children = {c.pk: c for c in data.children}
    children_changed = set(children) != set(entry.children.values_list("pk", flat=True))
    if not changed and not children_changed:
        return entry
    if "significance" in changed:
        entry.significance_set_by = actor
    entry.updated_at = now
    acting(entry, actor)
    _save(entry, actor)
    if children_changed:
        entry.children.set(children.values())
    return entry


@transaction.atomic
def entry_set_significance(
    *,
    actor: User,
    entry: ChronologyEntry,
    significance: str,
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> ChronologyEntry:
    """A person chooses how significant an entry is; updates from its source then keep
    that. The same significance again changes nothing."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, entry.case):
        raise PermissionDenied
    require_open(entry.case, "changing its chronology")
    if significance not in Significance.values:
        raise ValidationError({"significance": "Select routine, significant or critical"})
    entry = ChronologyEntry.objects.select_for_update().get(pk=entry.pk)
    check_version(version, [entry], what="this chronology entry")
    if entry.in_error:
        raise ValidationError("This entry is recorded in error")
    if entry.significance == significance:
        return entry
    entry.significance = significance
    entry.significance_set_by = actor
    entry.updated_at = now
    return _save(entry, actor)


@transaction.atomic
def entry_mark_in_error(
    *, actor: User, entry: ChronologyEntry, reason: str, now: datetime.datetime | None = None
) -> ChronologyEntry:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, entry.case):
        raise PermissionDenied
    require_open(entry.case, "changing its chronology")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why this entry was recorded in error"})
    entry = ChronologyEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.in_error:
        raise ValidationError("This entry is already marked as recorded in error")
    entry.in_error, entry.in_error_reason = True, reason.strip()[:500]
    entry.in_error_at, entry.in_error_by, entry.updated_at = now, actor, now
    return _save(entry, actor, reason="Recorded in error")


# --- Exports -------------------------------------------------------------------------------


def export_dir() -> Path:
    from django.conf import settings

    path: Path = settings.CHRONOLOGY_EXPORT_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_request(
    *,
    actor: User,
    case: Case,
    format: str,
    redacted: bool,
    in_error: str,
    filters: dict[str, Any],
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> ChronologyExport:
    """Record the request (in the access log too); the caller renders it now or queues it.
    A redacted export is not rendered until its review is approved: it waits in status
    "review" (`redaction_review_approve`)."""
    from accounts.models import AccessLog
    from accounts.services import access_log_record

    from . import queries

    now = now or timezone.now()
    if not policy.can_view_case(actor, case):
        raise PermissionDenied
    if format not in ChronologyExport.Format.values:
        raise ValidationError({"format": "Select PDF or CSV"})
    if in_error not in ("leave_out", "strike"):
        raise ValidationError(
            {"in_error": "Select whether to leave out or strike through entries recorded in error"}
        )
    export = ChronologyExport.objects.create(
        case=case,
        requested_by=actor,
        requested_at=now,
        format=format,
        redacted=redacted,
        in_error=in_error,
        filters=filters,
        # A redacted export waits for its requester to review it (redaction_review_*).
        status=ChronologyExport.Status.REVIEW if redacted else ChronologyExport.Status.QUEUED,
    )
    if redacted:
        RedactionReview.objects.create(export=export, updated_at=now, updated_by=actor)
    # One row per child of the case: the export is about them all (a task renders it).
    access_log_record(
        user=actor,
        case=case,
        request=request,
        now=now,
        what=f"exported chronology ({format}{', redacted' if redacted else ''})",
        via=AccessLog.Via.EXPORT,
        people=[child.pk for child in queries.case_children(case)],
    )
    return export


UNSENT_EXPORT = "The export could not be passed to the worker: ask for it again."


def export_send_to_worker(export_id: int) -> None:
    """Once the request commits, hand a long export to the worker. If the broker cannot
    be reached, that is logged and the export is marked failed, saying to ask again: the
    page or API answer that follows the commit never fails for it."""

    def send() -> None:
        from .tasks import chronology_export_render  # tasks imports this module

        try:
            chronology_export_render.delay(export_id)
        except Exception as error:
            logger.warning(
                "could not send chronology export %s to the worker (%s: %s)",
                export_id,
                type(error).__name__,
                error,
            )
            ChronologyExport.objects.filter(
                pk=export_id, status=ChronologyExport.Status.QUEUED
            ).update(
                status=ChronologyExport.Status.FAILED,
                error=UNSENT_EXPORT,
                progress=100,
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)


def _set_progress(export_id: int, progress: int, **fields: Any) -> None:
    ChronologyExport.objects.filter(pk=export_id).update(progress=progress, **fields)


def export_render(export_id: int, *, now: datetime.datetime | None = None) -> ChronologyExport:
    """Render one export to its file. Idempotent: a finished export is left alone; a
    second worker finds the row claimed. No row locks are held while rendering."""
    from django.conf import settings

    from . import export as render
    from . import queries
    from .presentation import filter_labels

    now = now or timezone.now()
    claimed = ChronologyExport.objects.filter(
        pk=export_id, status=ChronologyExport.Status.QUEUED
    ).update(status=ChronologyExport.Status.RUNNING, progress=5)
    if not claimed:
        return ChronologyExport.objects.get(pk=export_id)
    export = ChronologyExport.objects.select_related("case", "requested_by").get(pk=export_id)
    case = export.case
    try:
        filters = queries.Filters.from_dict(export.filters)
        entries = queries.case_entries(case, filters, include_in_error=export.in_error == "strike")
        plan = None
        if export.redacted:
            refusal = export_release_refusal(export)
            if refusal:
                raise ValidationError(refusal)
            review = RedactionReview.objects.get(export=export)
            if render.fingerprint(entries) != review.fingerprint:
                raise ValidationError(CHANGED_SINCE_REVIEW)
            from .redaction import Plan

            plan = Plan.from_json(review.rules)
        rows = render.rows_for(entries, redacted=export.redacted, plan=plan)
        _set_progress(export_id, 20, rows=len(rows))
        name = f"{export.pk}-{uuid.uuid4().hex}.{export.format}"
        pages = None
        if export.format == ChronologyExport.Format.CSV:
            data = render.csv_bytes(rows)
        else:
            dates = [e.occurred_on for e in entries]
            children = queries.case_children(case)
            cover = {
                "children": children,
                "family": case.family_name,
                "date_range": (
                    f"{min(dates):%-d %B %Y} to {max(dates):%-d %B %Y}" if dates else "No entries"
                ),
                "filters": filter_labels(case, filters),
                "in_error": ("Shown struck through" if export.in_error == "strike" else "Left out"),
                "generated_by": export.requested_by.get_full_name() or export.requested_by.username,
                "redacted": export.redacted,
            }
            if plan is not None:
                review = RedactionReview.objects.select_related("approved_by").get(export=export)
                cover["family"] = plan.apply(case.family_name)
                cover["children"] = [
                    {"display_name": plan.apply(c.display_name), "date_of_birth": c.date_of_birth}
                    for c in children
                ]
                approver = review.approved_by
                assert approver is not None  # an approved review names who approved it
                cover["approved_by"] = approver.get_full_name() or approver.username
                cover["approved_at"] = review.approved_at
            data, pages = render.pdf_bytes(
                case=case, rows=rows, cover=cover, progress=lambda p: _set_progress(export_id, p)
            )
        (export_dir() / name).write_bytes(data)
        done = timezone.now()
        _set_progress(
            export_id,
            100,
            status=ChronologyExport.Status.DONE,
            file_name=name,
            pages=pages,
            finished_at=done,
            expires_at=done + datetime.timedelta(hours=settings.CHRONOLOGY_EXPORT_KEEP_HOURS),
        )
    except Exception as exc:
        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        _set_progress(
            export_id,
            100,
            status=ChronologyExport.Status.FAILED,
            error=message[:300],
            finished_at=timezone.now(),
        )
        raise
    export.refresh_from_db()
    return export


def exports_remove_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete the files of exports past their time; the rows stay, marked removed."""
    now = now or timezone.now()
    removed = 0
    due = ChronologyExport.objects.filter(removed_at__isnull=True, expires_at__lte=now)
    for export in due:
        if export.file_name:
            (export_dir() / export.file_name).unlink(missing_ok=True)
        removed += ChronologyExport.objects.filter(pk=export.pk, removed_at__isnull=True).update(
            removed_at=now, status=ChronologyExport.Status.EXPIRED
        )
    return removed


# --- Redaction review ----------------------------------------------------------------------
#
# A redacted export is released only once the person who asked for it has reviewed the
# redacted text and approved it. The preview shows every automatic redaction and every
# remaining candidate; the reviewer decides on each candidate and may add terms; the
# approval stores the whole plan, which the render (in the request or on the worker)
# applies exactly, to exactly the text it was approved for.

NOT_APPROVED = "This redacted export has not been reviewed and approved for release."
CHANGED_SINCE_REVIEW = (
    "The chronology changed after its redaction was approved: export it again and review it."
)


def export_release_refusal(export: ChronologyExport) -> str | None:
    """Why this export's file may not be made (None: it may). The one rule that the page,
    the API and the worker follow: a redacted export needs an approved review."""
    if not export.redacted:
        return None
    review = RedactionReview.objects.filter(export=export).first()
    if review is None or not review.is_approved:
        return NOT_APPROVED
    return None


def export_entries(export: ChronologyExport) -> Any:
    from . import queries

    filters = queries.Filters.from_dict(export.filters)
    return queries.case_entries(export.case, filters, include_in_error=export.in_error == "strike")


@dataclass
class ReviewState:
    """What the review page shows: each entry's fields as segments, the review (plan,
    candidates), the fingerprint of the text and the version the approval must name."""

    export: ChronologyExport
    review: Any  # chronologies.redaction.Review
    entries: list[tuple[ChronologyEntry, dict[str, list]]]
    fingerprint: str
    version: str
    counts: dict[str, int]
    cover: list[list] = field(default_factory=list)  # the family name, then each child's


def redaction_review_state(export: ChronologyExport) -> ReviewState:
    """The review as it stands: the current entries with the stored decisions."""
    import hashlib

    from . import export as render
    from . import queries, redaction

    stored = RedactionReview.objects.get(export=export)
    entries = list(export_entries(export))
    texts = [render.entry_texts(e, redacted=True) for e in entries]
    cover = [export.case.family_name, *(c.display_name for c in queries.case_children(export.case))]
    identities, kept = queries.redaction_people(export.case)
    review = redaction.build_review(
        [*cover, *(t for fields in texts for t in fields.values())],
        identities,
        kept,
        stored.decisions,
        stored.added_terms,
    )
    shown = [
        (e, {k: review.plan.segments(v) for k, v in fields.items()})
        for e, fields in zip(entries, texts, strict=True)
    ]
    fingerprint = render.fingerprint(entries)
    version = hashlib.sha256(f"{fingerprint}:{review.plan.digest()}".encode()).hexdigest()[:32]
    counts = review.counts(t for fields in texts for t in fields.values())
    cover_shown = [review.plan.segments(text) for text in cover]
    return ReviewState(export, review, shown, fingerprint, version, counts, cover_shown)


def _reviewable(actor: User, export: ChronologyExport) -> RedactionReview:
    if not policy.can_review_redaction(actor, export):
        raise PermissionDenied
    review = RedactionReview.objects.select_for_update().get(export=export)
    if review.is_approved or export.status != ChronologyExport.Status.REVIEW:
        raise ValidationError("This redacted export has already been approved for release")
    return review


@transaction.atomic
def redaction_review_update(
    *,
    actor: User,
    export: ChronologyExport,
    shown: Iterable[str],
    redact: Iterable[str],
    added_terms: str,
    now: datetime.datetime | None = None,
) -> RedactionReview:
    """The reviewer's decisions: of the candidates `shown`, those in `redact` are
    redacted and the others left in; `added_terms` (one per line) are redacted too."""
    from . import redaction

    now = now or timezone.now()
    review = _reviewable(actor, export)
    redact = set(redact)
    decisions = dict(review.decisions)
    for key in list(shown)[:2000]:
        decisions[key[:300]] = redaction.REDACT if key in redact else redaction.LEAVE
    review.decisions = decisions
    review.added_terms = redaction.clean_added_terms(added_terms)
    review.updated_at, review.updated_by = now, actor
    return _save(review, actor)


@transaction.atomic
def redaction_review_approve(
    *,
    actor: User,
    export: ChronologyExport,
    version: str,
    confirmed: bool,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> ChronologyExport:
    """The reviewer approves the release of what the preview showed (`version` names
    it): the plan, the fingerprint of the text and the counts are stored, the release is
    written to the access log and the export is queued. The caller renders it or sends it
    to the worker."""
    from accounts.models import AccessLog
    from accounts.services import access_log_record

    from . import queries

    now = now or timezone.now()
    review = _reviewable(actor, export)
    if not confirmed:
        raise ValidationError({"confirm": "Confirm that you have reviewed the redacted chronology"})
    state = redaction_review_state(export)
    if version != state.version:
        raise ValidationError(
            "The chronology or its redactions changed since this preview: check the "
            "preview again before you approve it"
        )
    review.rules = state.review.plan.to_json()
    review.fingerprint = state.fingerprint
    review.approved_by, review.approved_at = actor, now
    for name, value in state.counts.items():
        setattr(review, name, value)
    review.updated_at, review.updated_by = now, actor
    _save(review, actor, reason="Approved for release")
    queued = ChronologyExport.objects.filter(
        pk=export.pk, status=ChronologyExport.Status.REVIEW
    ).update(status=ChronologyExport.Status.QUEUED)
    if not queued:
        raise ValidationError("This redacted export has already been approved for release")
    c = state.counts
    access_log_record(
        user=actor,
        case=export.case,
        request=request,
        now=now,
        what=(
            f"approved redacted chronology export {export.pk} for release "
            f"({c['automatic_redactions']} automatic, {c['candidates_redacted']} candidates "
            f"redacted, {c['candidates_left']} left, {c['terms_added']} added)"
        ),
        via=AccessLog.Via.EXPORT,
        people=[child.pk for child in queries.case_children(export.case)],
    )
    export.refresh_from_db()
    return export


def export_start(export: ChronologyExport) -> ChronologyExport:
    """Render a queued export now if it is short, or hand it to the worker."""
    from django.conf import settings

    if export_entries(export).count() <= settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES:
        return export_render(export.pk)
    export_send_to_worker(export.pk)
    return export
