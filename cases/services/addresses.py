"""Where the family lives, over time (R8)."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User
from common.concurrency import check_version, version_of

from .. import signals
from ..models import Address, Case
from ..validators import normalise_postcode
from .base import _assign, _not_future, _require_not_in_error, _require_open, _save

# --- Address --------------------------------------------------------------------------


@transaction.atomic
def address_add(
    *,
    actor: User,
    case: Case,
    line_1: str,
    town: str,
    postcode: str,
    start_date: datetime.date,
    line_2: str = "",
    now: datetime.datetime | None = None,
) -> Address:
    """The family's new address from `start_date`; the previous one ends the day before."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_open(case, "recording a move")
    _not_future(start_date, now, "start_date", "The date they moved in")
    previous = Address.objects.filter(case=case, end_date__isnull=True, in_error=False).first()
    if previous is not None:
        if start_date <= previous.start_date:
            raise ValidationError(
                {
                    "start_date": "The move must be after they moved to the current address "
                    f"({previous.start_date:%d/%m/%Y})"
                }
            )
        previous.end_date = start_date - datetime.timedelta(days=1)
        _save(previous, actor)
    address = Address(
        case=case,
        line_1=line_1.strip(),
        line_2=line_2.strip(),
        town=town.strip(),
        postcode=normalise_postcode(postcode),
        start_date=start_date,
    )
    _save(address, actor)
    signals.address_changed.send(
        sender=Address, address=address, previous=previous, actor=actor, now=now
    )
    return address


@transaction.atomic
def address_end(
    *, actor: User, address: Address, end_date: datetime.date, now: datetime.datetime | None = None
) -> Address:
    """The family left this address and where they went is not known."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, address.case):
        raise PermissionDenied
    _require_open(address.case, "recording that the family left")
    address = Address.objects.select_for_update().get(pk=address.pk)
    _require_not_in_error(address)
    if address.end_date is not None:
        raise ValidationError("This address has already ended")
    _not_future(end_date, now, "end_date", "The date they left")
    if end_date < address.start_date:
        raise ValidationError(
            {
                "end_date": "The date they left must be on or after the date "
                f"they moved in ({address.start_date:%d/%m/%Y})"
            }
        )
    address.end_date = end_date
    _save(address, actor)
    signals.address_changed.send(
        sender=Address, address=None, previous=address, actor=actor, now=now
    )
    return address


ADDRESS_FIELDS = ("line_1", "line_2", "town", "postcode", "start_date")


def address_version(address: Address) -> str:
    """The version of an address that its edit form starts from."""
    return version_of(address)


@transaction.atomic
def address_update(
    *,
    actor: User,
    address: Address,
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> Address:
    """Correct an address as it was recorded (its lines, town, postcode or the date
    they moved in): not a move, which `address_add` records. What is not given is kept.
    When the move-in date changes, the address they lived at before, which ended the
    day before the move, now ends the day before the new date. Nothing changed,
    nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, address.case):
        raise PermissionDenied
    _require_open(address.case, "correcting its addresses")
    unknown = set(fields) - set(ADDRESS_FIELDS)
    if unknown:
        raise TypeError(f"Unknown address fields: {sorted(unknown)}")
    # The case first, as address_add locks it, so a move and a correction take turns.
    Case.objects.select_for_update().get(pk=address.case_id)
    address = Address.objects.select_for_update().get(pk=address.pk)
    check_version(version, [address], what="this address")
    _require_not_in_error(address)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    if "postcode" in values:
        values["postcode"] = normalise_postcode(values["postcode"])
    old_start = address.start_date
    changed = _assign(address, **values)
    if not changed:
        return address
    for name, label in (("line_1", "address line 1"), ("town", "town or city")):
        if not getattr(address, name):
            raise ValidationError({name: f"Enter the {label}"})
    previous = None
    if "start_date" in changed:
        previous = _previous_follows(address, old_start, now)
    _save(address, actor)
    if previous is not None:
        _save(previous, actor)
    signals.record_corrected.send(sender=Address, instance=address, actor=actor, now=now)
    return address


def _previous_follows(
    address: Address, old_start: datetime.date, now: datetime.datetime
) -> Address | None:
    """Check a new move-in date against the addresses around it; the address before,
    if it ended the day before the old date (the move ended it), ends the day before
    the new one. Returns it when its end changed."""
    start = address.start_date
    _not_future(start, now, "start_date", "The date they moved in")
    if address.end_date is not None and start > address.end_date:
        raise ValidationError(
            {
                "start_date": "The date they moved in must be on or before the date they "
                f"left ({address.end_date:%d/%m/%Y})"
            }
        )
    previous = (
        Address.objects.select_for_update()
        .filter(case_id=address.case_id, in_error=False, start_date__lt=old_start)
        .exclude(pk=address.pk)
        .order_by("-start_date", "-id")
        .first()
    )
    if previous is None:
        return None
    if start <= previous.start_date:
        raise ValidationError(
            {
                "start_date": "The date they moved in must be after they moved to the "
                f"address before ({previous}, from {previous.start_date:%d/%m/%Y})"
            }
        )
    if previous.end_date == old_start - datetime.timedelta(days=1):
        previous.end_date = start - datetime.timedelta(days=1)
        return previous
    if previous.end_date is not None and start <= previous.end_date:
        raise ValidationError(
            {
                "start_date": "The date they moved in must be after they left the address "
                f"before ({previous}, on {previous.end_date:%d/%m/%Y})"
            }
        )
    return None
