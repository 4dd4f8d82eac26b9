"""The `--now` option of the commands that run a sweep by hand."""

import datetime

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def add_now_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--now",
        help=(
            "The moment to work things out for, as an ISO 8601 date and time "
            "(e.g. 2027-01-07T09:00, local time unless an offset is given); "
            "default: the current time"
        ),
    )


def parse_now(value: str | None) -> datetime.datetime:
    if not value:
        return timezone.now()
    moment = parse_datetime(value)
    if moment is None:
        raise CommandError(f"--now: {value!r} is not a date and time like 2027-01-07T09:00")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
