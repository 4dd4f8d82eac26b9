"""The demo data: idempotent, every role, and families whose shapes exercise the rules."""

from io import StringIO

from django.core.management import call_command
from django.db.models import Count

from accounts import roles
from accounts.models import User
from cases.models import Case, ChildProtectionPlan, Escalation, Membership, Person
from chronologies.models import ChronologyEntry
from visits.models import Visit


def test_it_builds_the_demo_once_with_every_role_and_every_escalation_state(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    counts = (
        Case.objects.count(),
        Person.objects.count(),
        Visit.objects.count(),
        Escalation.objects.count(),
        ChronologyEntry.objects.count(),
    )
    call_command("seed_demo", stdout=StringIO())
    assert (
        Case.objects.count(),
        Person.objects.count(),
        Visit.objects.count(),
        Escalation.objects.count(),
        ChronologyEntry.objects.count(),
    ) == counts

    assert Case.objects.count() >= 20
    for role in roles.ALL_ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
        assert any(u.username in out.getvalue() for u in User.objects.filter(groups__name=role)), (
            f"no login printed for {role}"
        )
    assert set(Escalation.objects.values_list("state", flat=True)) == {
        "open",
        "overdue",
        "met",
        "met_late",
        "cancelled",
    }
    assert Case.objects.filter(restricted=True).exists()
    assert Person.objects.filter(
        expected_date_of_birth__isnull=False, date_of_birth__isnull=True
    ).exists()  # an unborn baby
    assert ChildProtectionPlan.objects.filter(end_date__isnull=True).exists()
    # a partner who comes and goes: several stays in one household
    partner_stays = (
        Membership.objects.filter(relationship="partner")
        .values("case", "person")
        .annotate(n=Count("id"))
    )
    assert any(row["n"] >= 3 for row in partner_stays)
    moved = Case.objects.annotate(n=Count("addresses"))
    assert moved.filter(n__gte=4).exists()  # moved three times
    assert Membership.objects.filter(relationship="grandparent", lives_in_household=True).exists()


def test_it_gives_every_demo_user_the_demo_app_and_says_how_to_get_a_code(db):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from safeguarding.demo_second_factor import DEMO_TOTP_KEY, secret_in_groups

    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # again: still one app each
    for username in ("amira.hussain", "grace.okafor", "omar.reid", "admin"):
        [device] = TOTPDevice.objects.filter(user__username=username, confirmed=True)
        assert device.key == DEMO_TOTP_KEY
    assert secret_in_groups() in out.getvalue()
    assert "manage.py demo_code" in out.getvalue()
    code = StringIO()
    call_command("demo_code", "amira.hussain", stdout=code, stderr=StringIO())
    assert code.getvalue().strip() in {
        f"{totp(bytes.fromhex(DEMO_TOTP_KEY), drift=d):06d}" for d in (0, 1)
    }
