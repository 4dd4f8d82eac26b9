"""Where the family lives, over time (R8)."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User

from .. import signals
from ..models import Address, Case
from ..validators import normalise_postcode
from .base import _not_future, _require_not_in_error, _require_open, _save

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
