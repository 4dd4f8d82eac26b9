"""Fictional teams, users of every role and families whose shapes come from the guidance.

Idempotent: users are matched by username and families by name within a team, so a
second run adds nothing. `--scale N` adds N generated cases for benchmarks.
Refuses to run outside demo, debug or test settings: demo passwords are printed.
"""

import datetime
import random

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import roles
from accounts.models import Agency, Team, User
from cases import services
from cases.models import Case, Membership

DEMO_PASSWORD = "demo-safeguarding-2026"

TEAMS = [
    ("north", "North Assessment and Safeguarding"),
    ("south", "South Family Safeguarding"),
]

USERS = [
    # username, first, last, team, role, job title
    ("amira.hussain", "Amira", "Hussain", "north", roles.SOCIAL_WORKER, "Social worker"),
    ("tom.fletcher", "Tom", "Fletcher", "north", roles.SOCIAL_WORKER, "Social worker"),
    ("grace.okafor", "Grace", "Okafor", "north", roles.TEAM_MANAGER, "Team manager"),
    ("priya.shah", "Priya", "Shah", "north", roles.PRACTICE_SUPERVISOR, "Practice supervisor"),
    ("dave.morgan", "Dave", "Morgan", "north", roles.BUSINESS_SUPPORT, "Business support officer"),
    ("helen.price", "Helen", "Price", "north", roles.SERVICE_MANAGER, "Head of service"),
    ("jo.bennett", "Jo", "Bennett", "south", roles.SOCIAL_WORKER, "Social worker"),
    ("sam.adeyemi", "Sam", "Adeyemi", "south", roles.SOCIAL_WORKER, "Senior social worker"),
    ("rachel.green", "Rachel", "Greenwood", "south", roles.TEAM_MANAGER, "Team manager"),
    # Council-wide roles, in no team: they see no case through a team.
    (
        "lena.ward",
        "Lena",
        "Ward",
        None,
        roles.INFORMATION_GOVERNANCE,
        "Information governance officer",
    ),
    ("omar.reid", "Omar", "Reid", None, roles.SYSTEM_ADMINISTRATOR, "Systems administrator"),
]

AGENCIES = [
    ("Northshire Police", Agency.Kind.POLICE),
    ("Northshire Health Visiting Service", Agency.Kind.HEALTH_VISITING),
    ("St Anne's Primary School", Agency.Kind.SCHOOL),
    ("Riverside Medical Practice", Agency.Kind.GP),
    ("Probation Service, Northshire", Agency.Kind.PROBATION),
    ("Northshire Homes", Agency.Kind.HOUSING),
    ("Community Mental Health Team", Agency.Kind.ADULT_MENTAL_HEALTH),
    ("Turning Point substance misuse service", Agency.Kind.SUBSTANCE_MISUSE),
]

R = Membership.Relationship
C, M, F = R.CHILD, R.MOTHER, R.FATHER
PARTNER, GP_ = Membership.Relationship.PARTNER, Membership.Relationship.GRANDPARENT
STEP, OTHER = Membership.Relationship.STEP_PARENT, Membership.Relationship.OTHER_ADULT

FIRST_F = [
    "Leanne",
    "Chelsea",
    "Kayleigh",
    "Gemma",
    "Stacey",
    "Natalie",
    "Jade",
    "Samantha",
    "Nicola",
    "Amy",
    "Zara",
    "Aisha",
    "Megan",
    "Shannon",
    "Toni",
]
FIRST_M = [
    "Darren",
    "Lee",
    "Craig",
    "Wayne",
    "Jamie",
    "Ryan",
    "Dean",
    "Scott",
    "Kyle",
    "Imran",
    "Liam",
    "Connor",
    "Marcus",
]
CHILD_NAMES = [
    "Kayden",
    "Mia",
    "Alfie",
    "Ruby",
    "Tyler",
    "Lexi",
    "Harley",
    "Poppy",
    "Jayden",
    "Evie",
    "Riley",
    "Lacey",
    "Mason",
    "Skye",
    "Logan",
    "Ivy",
    "Noah",
    "Ava",
]
SURNAMES = [
    "Brennan",
    "Hughes",
    "Tate",
    "Marsh",
    "Kirby",
    "Lowe",
    "Parry",
    "Sutton",
    "Booth",
    "Hollis",
    "Rowe",
    "Dunn",
    "Fenwick",
    "Pratt",
    "Quinn",
    "Lyons",
    "Moss",
    "Nash",
]
STREETS = [
    "Mill Lane",
    "Station Road",
    "Chapel Street",
    "Park Avenue",
    "Victoria Road",
    "Church Close",
    "Albion Terrace",
    "Coronation Street",
    "Wharf Road",
    "Elm Grove",
]
POSTCODES = [
    "LS11 5QP",
    "LS12 3DT",
    "LS9 8AB",
    "LS14 6PX",
    "LS10 2JR",
    "LS8 4HE",
    "BD3 9LT",
    "BD5 7QA",
    "WF1 2NB",
    "WF10 4SD",
]


def _day(today, days_ago):
    return today - datetime.timedelta(days=days_ago)


class Command(BaseCommand):
    help = "Load fictional demo data (idempotent); --scale N adds N generated cases"

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=int, default=0, help="Also generate this many cases for benchmarks"
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--due-escalations",
            type=float,
            default=0.0,
            help="With --scale: make this fraction of open cases have an "
            "escalation due now (e.g. 0.01), for the sweep benchmark",
        )
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins"
        )

    def handle(self, *args, scale, seed, quiet_logins, due_escalations, **options):
        if not (settings.DEMO_MODE or settings.DEBUG or settings.TESTING):
            raise CommandError(
                "seed_demo only runs with DEMO_MODE or DJANGO_DEBUG on: it "
                "creates users with a published password"
            )
        self.today = timezone.localdate()
        self.rng = random.Random(seed)
        with transaction.atomic():
            teams = self._teams()
            users = self._users(teams)
            self._agencies()
            made = self._families(teams, users)
            visits = self._visits_and_escalations(users)
            self._planned_visits()
            from supervision.demo import seed as seed_supervision

            seed_supervision(users=users, today=self.today, rng=self.rng, stdout=self.stdout)
        from django.core.management import call_command

        from cases.services import escalations_sweep

        escalations_sweep(now=timezone.now())
        # Multi-agency information, so the demo chronologies read like real ones.
        call_command("chronology_demo", stdout=self.stdout)
        self.stdout.write(f"Demo families: {made} added, {Case.objects.count()} cases in all.")
        self.stdout.write(f"Demo visits: {visits} families given visit histories.")
        if scale:
            from safeguarding.demo_scale import build_scale, scale_teams

            existing = Case.objects.filter(team__in=scale_teams()).count()
            if existing:
                self.stdout.write(
                    f"Scale data: {existing} generated cases already here; "
                    f"adding {scale} more on new teams"
                )
            counts = build_scale(
                scale, rng=self.rng, today=self.today, password=DEMO_PASSWORD, stdout=self.stdout
            )
            made = ", ".join(
                f"{v} {k.replace('_', ' ')}"
                for k, v in counts.items()
                if k not in ("seconds", "peak_rss_mb")
            )
            self.stdout.write(
                f"Scale data: {made} in {counts['seconds']:.1f} s "
                f"(peak memory {counts['peak_rss_mb']} MB)"
            )
        if due_escalations:
            from safeguarding.demo_scale import add_due_escalations

            made = add_due_escalations(fraction=due_escalations, rng=self.rng, today=self.today)
            self.stdout.write(f"Escalations due now: {made}")
        if not quiet_logins:
            self._print_logins()

    # --- reference data -------------------------------------------------------------

    def _teams(self):
        teams = {}
        for code, name in TEAMS:
            teams[code], _ = Team.objects.get_or_create(code=code, defaults={"name": name})
        return teams

    def _users(self, teams):
        users = {}
        for username, first, last, team, role, title in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "team": teams[team] if team else None,
                    "job_title": title,
                    "email": f"{username}@northshire.example",
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user._history_user = user
                user.save()
                user.groups.add(Group.objects.get(name=role))
            users[username] = user
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={
                "first_name": "System",
                "last_name": "Administrator",
                "team": teams["north"],
                "is_staff": True,
                "is_superuser": True,
                "email": "admin@northshire.example",
            },
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
            admin.groups.add(Group.objects.get(name=roles.BUSINESS_SUPPORT))
        users["admin"] = admin
        from safeguarding.demo_second_factor import give_demo_authenticator

        give_demo_authenticator(list(users.values()))
        return users

    def _agencies(self):
        for name, kind in AGENCIES:
            Agency.objects.get_or_create(name=name, defaults={"kind": kind})

    def _print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        rows = [
            ("Social worker", "amira.hussain"),
            ("Social worker (south)", "jo.bennett"),
            ("Team manager", "grace.okafor"),
            ("Practice supervisor", "priya.shah"),
            ("Service manager", "helen.price"),
            ("Business support / admin", "dave.morgan"),
            ("Information governance", "lena.ward"),
            ("System administrator", "omar.reid"),
            ("Django admin (superuser)", "admin"),
        ]
        for label, username in rows:
            self.stdout.write(f"  {label:<28} {username}")
        from safeguarding.demo_second_factor import secret_in_groups

        self.stdout.write("")
        self.stdout.write("After the password, sign-in asks for a code from an authenticator app.")
        self.stdout.write("Every demo user has the same key; add it to any authenticator app:")
        self.stdout.write(f"  {secret_in_groups()}   (time based, 6 digits, 30 seconds)")
        self.stdout.write("or print the code it shows now (each code signs a user in once):")
        self.stdout.write("  DEMO_MODE=1 uv run python manage.py demo_code")

    # --- families ---------------------------------------------------------------------

    def _families(self, teams, users):
        made = 0
        for spec in self._family_specs(users):
            if Case.objects.filter(
                family_name=spec["family_name"], team=teams[spec["team"]]
            ).exists():
                continue
            self._build_family(spec, teams, users)
            made += 1
        return made

    def _person(self, actor, first, last, *, born=None, due=None, sex="not_known", **extra):
        return services.person_create(
            actor=actor,
            first_name=first,
            last_name=last,
            date_of_birth=born,
            expected_date_of_birth=due,
            sex=sex,
            **extra,
        )

    def _build_family(self, spec, teams, users):
        today = self.today
        worker = users[spec["worker"]]
        case = services.case_create(
            actor=worker,
            family_name=spec["family_name"],
            team=teams[spec["team"]],
            summary=spec["summary"],
            opened_on=_day(today, spec["opened_ago"]),
            allocated_workers=[worker],
            restricted=spec.get("restricted", False),
            restricted_to=[users[u] for u in spec.get("named", [])],
        )
        people = {}
        for key, p in spec["people"].items():
            # Spread birthdays through the year rather than all falling on today's date.
            spread = (sum(map(ord, p["first"] + key)) * 37) % 300
            born = _day(today, int(p["age"] * 365.25) + spread) if "age" in p else None
            due = today + datetime.timedelta(days=p["due_in"]) if "due_in" in p else None
            people[key] = self._person(
                worker,
                p["first"],
                p.get("last", spec["family_name"]),
                born=born,
                due=due,
                sex=p.get("sex", "not_known"),
                **{
                    k: v
                    for k, v in p.items()
                    if k
                    in (
                        "first_language",
                        "interpreter_needed",
                        "nhs_number",
                        "aliases",
                        "ethnicity",
                        "disability",
                    )
                },
            )
        for key, rel, start_ago, end_ago, lives, reason in spec["members"]:
            m = services.membership_add(
                actor=worker,
                case=case,
                person=people[key],
                relationship=rel,
                start_date=max(_day(today, start_ago), case.opened_on)
                if start_ago is not None
                else case.opened_on,
                lives_in_household=lives,
            )
            if end_ago is not None:
                services.membership_end(
                    actor=worker, membership=m, end_date=_day(today, end_ago), reason=reason
                )
        for line_1, town, postcode, start_ago in spec["addresses"]:
            services.address_add(
                actor=worker,
                case=case,
                line_1=line_1,
                town=town,
                postcode=postcode,
                start_date=_day(today, start_ago),
            )
        for key, category, start_ago, end_ago in spec.get("plans", []):
            plan = services.plan_start(
                actor=worker,
                case=case,
                child=people[key],
                category=category,
                start_date=_day(today, start_ago),
            )
            if end_ago is not None:
                services.plan_end(
                    actor=worker,
                    plan=plan,
                    end_date=_day(today, end_ago),
                    reason="Review conference: plan no longer needed",
                )
        for about, kind, details, start_ago in spec.get("hazards", []):
            target = {"case": case} if about == "case" else {"person": people[about]}
            services.hazard_add(
                actor=worker,
                kind=kind,
                details=details,
                start_date=_day(today, start_ago),
                **target,
            )
        if agreement := spec.get("agreement"):
            made = services.agreement_create(
                actor=worker,
                case=case,
                unacceptable_behaviour=agreement["unacceptable_behaviour"],
                family_agrees=agreement["family_agrees"],
                consequences=agreement["consequences"],
                agreed_by=[people[key] for key in agreement["agreed_by"]],
                agreed_on=_day(today, agreement["agreed_ago"]),
            )
            for days_ago, what in agreement["breaches"]:
                services.agreement_breach_record(
                    actor=worker,
                    agreement=made,
                    occurred_on=_day(today, days_ago),
                    what_happened=what,
                )
        if spec.get("closed"):
            manager = users["grace.okafor" if spec["team"] == "north" else "rachel.green"]
            services.case_close(
                actor=manager,
                case=case,
                closed_on=_day(today, spec["closed"]),
                reason="stepped_down",
                notes="Engaging well with early help; children seen regularly.",
            )
        return case

    # --- visits, meetings and escalations (one of each state) -------------------------------

    VISIT_STORIES = {
        # family: (escalation story, days ago of the 4th default or of the concern)
        "Carter": ("met", 60),
        "Doyle": ("met_late", 45),
        "Kowalski": ("overdue", 20),
        "Walsh": ("open", 1),
        "Ahmed": ("cancelled", 20),
    }

    def _visits_and_escalations(self, users):
        done = 0
        for case in Case.objects.filter(visits__isnull=True).order_by("pk"):
            story = self.VISIT_STORIES.get(case.family_name)
            if story is None and case.status != Case.Status.OPEN:
                continue
            self._routine_visits(case, story)
            if story:
                self._escalation_story(case, users, *story)
            done += 1
        return done

    def _at(self, days_ago, hour, minute=0):
        day = _day(self.today, days_ago)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))

    def _children_seen(self, case, day, *, alone):
        from visits.services import ChildSeenInput, children_to_see

        voices = [
            "I like it when Mum walks me to school.",
            "He shouts at night and I hide.",
            "I'm hungry at bedtime.",
            "Nan makes my tea.",
            "Don't tell Mum I said.",
            "I want my own bed.",
        ]
        return [
            ChildSeenInput(
                child=child,
                seen=True,
                seen_alone=alone and (child.age_on(day) or 0) >= 3,
                bedroom_seen=alone,
                child_views=self.rng.choice(voices) if (child.age_on(day) or 0) >= 4 else "",
                presentation="Clean and appropriately dressed; quiet at first, then chatty."
                if alone
                else "Stayed close to the adults; watched them before answering.",
                reason_not_seen="" if alone else "Parent would not leave the room",
            )
            for child in children_to_see(case, day)
        ]

    def _routine_visits(self, case, story):
        """A few completed visits over the last months, mostly announced and 9 to 5."""
        from visits.services import ObservationInput, Outcome, visit_log

        worker = case.allocated_workers.first()
        if worker is None:
            return
        # Families differ: some were seen days ago, some have drifted for weeks.
        last = self.rng.choice([2, 4, 8, 11, 16, 23, 33])
        for days_ago in (last + 64, last + 42, last + 21, last):
            when = self._at(days_ago, self.rng.choice([10, 11, 14, 15]))
            if timezone.localdate(when) < case.opened_on:
                continue
            alone = case.family_name not in ("Walsh",) and self.rng.random() < 0.6
            visit_log(
                actor=worker,
                case=case,
                now=when + datetime.timedelta(hours=1),
                data=Outcome(
                    outcome="completed",
                    occurred_at=when,
                    children=self._children_seen(case, timezone.localdate(when), alone=alone),
                    parent_report="Says things are better and the partner has gone.",
                    observations=[
                        ObservationInput(
                            what_was_seen="Mother did not respond when the youngest cried; the "
                            "eldest child picked the baby up.",
                            analysis="Role reversal: the eldest is caring for the youngest.",
                        )
                    ]
                    if case.family_name in ("Carter", "Walsh")
                    else [],
                    notes="Home conditions as before.",
                ),
            )

    def _planned_visits(self):
        """Visits planned this week: for every open family with an active hazard (so
        the worker and the manager see the warning before going), and for about half of
        the rest."""
        from cases.models import Hazard
        from visits.services import visit_plan

        hazards = set(
            Hazard.objects.filter(Hazard.active_on_q(self.today)).values_list("case_id", flat=True)
        )
        monday = self.today - datetime.timedelta(days=self.today.weekday())
        planned = 0
        for case in Case.objects.filter(status=Case.Status.OPEN).order_by("pk"):
            worker = case.allocated_workers.first()
            if worker is None or case.visits.filter(outcome="planned").exists():
                continue
            # Chosen by the case itself, so running the command again plans nothing new.
            rng = random.Random(case.reference)
            if case.pk not in hazards and rng.random() < 0.5:
                continue
            # A weekday still to come this week; at the weekend, today.
            days = [monday + datetime.timedelta(days=d) for d in range(5)]
            day = rng.choice([d for d in days if d >= self.today] or [self.today])
            when = timezone.make_aware(
                datetime.datetime.combine(day, datetime.time(rng.choice([10, 14, 16])))
            )
            visit_plan(
                actor=worker,
                case=case,
                planned_for=when,
                announced=rng.random() < 0.7,
                purpose="Statutory visit: see each child, alone where possible.",
                now=timezone.now(),
            )
            planned += 1
        return planned

    def _escalation_story(self, case, users, state, days_ago):
        from cases import services as case_services
        from cases.models import Escalation
        from visits.services import Outcome, visit_log, visits_evaluate_case

        worker = case.allocated_workers.first()
        manager = users["grace.okafor" if case.team.code == "north" else "rachel.green"]
        if state == "cancelled":
            escalation = case_services.escalation_open(
                case=case,
                kind=Escalation.Kind.NON_COMPLIANCE,
                actor=worker,
                trigger_date=_day(self.today, days_ago),
                reason="Father refuses to engage with the drug service and will not let the "
                "health visitor in.",
                now=self._at(days_ago, 17),
            )
            case_services.escalation_cancel(
                actor=manager,
                escalation=escalation,
                now=self._at(days_ago - 1, 9),
                reason="Raised before the pre-birth conference had set the plan; the "
                "conference covers the concern.",
            )
            return
        reasons = ["no_answer", "refused_entry", "not_at_home", "no_answer"]
        gaps = [9, 6, 3, 0]
        for gap, reason in zip(gaps, reasons, strict=True):
            when = self._at(days_ago + gap, 8 if gap % 2 else 16, 15)
            visit_log(
                actor=worker,
                case=case,
                announced=reason == "not_at_home",
                now=when + datetime.timedelta(minutes=30),
                data=Outcome(
                    outcome="defaulted",
                    occurred_at=when,
                    default_reason=reason,
                    others_present="A man's voice behind the door"
                    if reason == "refused_entry"
                    else "",
                ),
            )
        escalation = visits_evaluate_case(case.pk, now=self._at(days_ago, 17))
        if escalation is None:
            return
        if state in ("met", "met_late"):
            held = (
                _day(self.today, days_ago - 1)
                if state == "met"
                else _day(self.today, days_ago - 15)
            )
            case_services.meeting_record(
                actor=manager,
                case=case,
                kind=escalation.required_meeting,
                held_on=held,
                chair=f"{manager.get_full_name()}, team manager",
                decisions="Unannounced visits twice a week, including early morning. School to "
                "report attendance daily. Police to share call-outs within 24 hours.",
                actions="Worker: two unannounced visits a week. School: daily attendance.",
                staff_attendees=[worker, manager],
                agencies=list(
                    Agency.objects.filter(kind__in=["police", "school", "health_visiting"])
                ),
                now=self._at(days_ago - (1 if state == "met" else 15), 16),
            )

    def _family_specs(self, users):
        specs = [
            {
                "family_name": "Carter",
                "team": "north",
                "worker": "amira.hussain",
                "opened_ago": 240,
                "summary": "Persistent neglect: children arriving at school hungry and in dirty "
                "clothes, home conditions poor. Mother misses health appointments.",
                "people": {
                    "mum": {"first": "Leanne", "age": 29, "sex": "female"},
                    "k": {"first": "Kayden", "age": 7, "sex": "male", "nhs_number": "9434765919"},
                    "m": {"first": "Mia", "age": 4, "sex": "female"},
                },
                "members": [
                    ("mum", M, None, None, True, ""),
                    ("k", C, None, None, True, ""),
                    ("m", C, None, None, True, ""),
                ],
                "addresses": [("14 Mill Lane", "Leeds", "LS11 5QP", 400)],
                "plans": [("k", "neglect", 200, None), ("m", "neglect", 200, None)],
                "hazards": [
                    (
                        "case",
                        "animal",
                        "Two Staffordshire bull terriers, not always "
                        "shut away. Ask for them to be secured before entering.",
                        230,
                    )
                ],
            },
            {
                "family_name": "Walsh",
                "team": "north",
                "worker": "amira.hussain",
                "opened_ago": 330,
                "summary": "Domestic abuse: police called four times in a year. Mother's "
                "partner Darren Mills comes and goes; mother says he has left "
                "each time. Children describe shouting at night.",
                "people": {
                    "mum": {"first": "Chelsea", "age": 26, "sex": "female"},
                    "d": {
                        "first": "Darren",
                        "last": "Mills",
                        "age": 34,
                        "sex": "male",
                        "aliases": "Daz Mills\nDarren Miles",
                    },
                    "t": {"first": "Tyler", "age": 6, "sex": "male"},
                    "l": {"first": "Lexi", "age": 2, "sex": "female"},
                    "dad": {"first": "Scott", "last": "Walsh", "age": 30, "sex": "male"},
                },
                "members": [
                    ("mum", M, None, None, True, ""),
                    ("t", C, None, None, True, ""),
                    ("l", C, None, None, True, ""),
                    ("dad", F, None, None, False, ""),
                    (
                        "d",
                        PARTNER,
                        320,
                        250,
                        True,
                        "Mother said he had moved out after police call-out",
                    ),
                    ("d", PARTNER, 180, 120, True, "Bail conditions: not to attend the address"),
                    ("d", PARTNER, 40, None, True, ""),
                ],
                "addresses": [("7 Albion Terrace", "Leeds", "LS12 3DT", 500)],
                "plans": [("t", "emotional", 150, None), ("l", "emotional", 150, None)],
                # A written agreement after threats to staff, broken once since.
                "agreement": {
                    "agreed_ago": 40,
                    "agreed_by": ["mum"],
                    "unacceptable_behaviour": "Shouting at or threatening the social worker; "
                    "Darren Mills being at the home during visits.",
                    "family_agrees": "Chelsea will speak calmly to workers, let them see Tyler "
                    "and Lexi's bedrooms at every visit, and ask Darren to leave before a "
                    "visit.",
                    "consequences": ["joint_visits", "protection_meeting"],
                    "breaches": [
                        (
                            12,
                            "Darren Mills answered the door and shouted at the worker to go "
                            "away; the worker left and came back with a colleague.",
                        ),
                    ],
                },
                "hazards": [
                    (
                        "d",
                        "aggressive_adult",
                        "Darren Mills has threatened staff and "
                        "has convictions for assault. Joint visits only.",
                        300,
                    )
                ],
            },
            {
                "family_name": "Kowalski",
                "team": "north",
                "worker": "tom.fletcher",
                "opened_ago": 380,
                "summary": "Family has moved three times in a year after evictions. "
                "School attendance 62%. Mother speaks limited English.",
                "people": {
                    "mum": {
                        "first": "Agnieszka",
                        "age": 33,
                        "sex": "female",
                        "first_language": "Polish",
                        "interpreter_needed": True,
                        "ethnicity": "WOTH",
                    },
                    "a": {"first": "Oliwia", "age": 9, "sex": "female", "first_language": "Polish"},
                    "b": {"first": "Kacper", "age": 5, "sex": "male", "first_language": "Polish"},
                },
                "members": [
                    ("mum", M, None, None, True, ""),
                    ("a", C, None, None, True, ""),
                    ("b", C, None, None, True, ""),
                ],
                "addresses": [
                    ("Flat 3, 22 Station Road", "Leeds", "LS9 8AB", 370),
                    ("41 Chapel Street", "Bradford", "BD3 9LT", 270),
                    ("Room 6, Park View Hostel", "Leeds", "LS14 6PX", 150),
                    ("9 Elm Grove", "Wakefield", "WF1 2NB", 30),
                ],
            },
            {
                "family_name": "Ahmed",
                "team": "north",
                "worker": "tom.fletcher",
                "opened_ago": 90,
                "summary": "Pre-birth assessment: mother's two older children were removed "
                "in 2023. Concerns about substance misuse and unstable housing.",
                "people": {
                    "mum": {"first": "Sana", "age": 24, "sex": "female", "ethnicity": "APKN"},
                    "dad": {
                        "first": "Imran",
                        "last": "Khan",
                        "age": 27,
                        "sex": "male",
                        "ethnicity": "APKN",
                    },
                    "baby": {"first": "", "due_in": 60},
                },
                "members": [
                    ("mum", M, None, None, True, ""),
                    ("dad", F, None, None, True, ""),
                    ("baby", C, None, None, True, ""),
                ],
                "addresses": [("5 Wharf Road", "Leeds", "LS10 2JR", 200)],
                "plans": [("baby", "neglect", 30, None)],
                "hazards": [
                    (
                        "case",
                        "infection",
                        "Needles have been found in the home. "
                        "Do not sit on soft furnishings; wear gloves if handling items.",
                        60,
                    )
                ],
            },
            {
                "family_name": "Doyle",
                "team": "north",
                "worker": "amira.hussain",
                "opened_ago": 200,
                "summary": "Children living with maternal grandparents after mother's "
                "admission to hospital. Mother visits and wants them back.",
                "people": {
                    "mum": {"first": "Gemma", "age": 31, "sex": "female"},
                    "gran": {"first": "Maureen", "age": 62, "sex": "female"},
                    "grandad": {"first": "Patrick", "age": 65, "sex": "male"},
                    "a": {"first": "Ruby", "age": 11, "sex": "female"},
                    "b": {"first": "Alfie", "age": 8, "sex": "male"},
                },
                "members": [
                    ("gran", GP_, None, None, True, ""),
                    ("grandad", GP_, None, None, True, ""),
                    ("a", C, None, None, True, ""),
                    ("b", C, None, None, True, ""),
                    (
                        "mum",
                        M,
                        None,
                        150,
                        True,
                        "Admitted to hospital; children stayed with grandparents",
                    ),
                ],
                "addresses": [("62 Church Close", "Leeds", "LS8 4HE", 600)],
            },
            {
                "family_name": "Pemberton",
                "team": "north",
                "worker": "amira.hussain",
                "opened_ago": 60,
                "restricted": True,
                "named": ["grace.okafor", "helen.price"],
                "summary": "Restricted: a relative of a member of council staff. Allegation "
                "of physical harm to the younger child; strategy discussion held.",
                "people": {
                    "mum": {"first": "Claire", "age": 38, "sex": "female"},
                    "step": {"first": "Mark", "last": "Dunn", "age": 41, "sex": "male"},
                    "c": {"first": "Oscar", "age": 3, "sex": "male"},
                },
                "members": [
                    ("mum", M, None, None, True, ""),
                    ("step", STEP, None, None, True, ""),
                    ("c", C, None, None, True, ""),
                ],
                "addresses": [("The Old Rectory, Park Avenue", "Harrogate", "LS1 4AP", 900)],
                "plans": [("c", "physical", 20, None)],
            },
        ]
        specs.extend(self._generated_specs(16))
        return specs

    def _generated_specs(self, count):
        rng = random.Random(7)
        workers = {
            "north": ["amira.hussain", "tom.fletcher"],
            "south": ["jo.bennett", "sam.adeyemi"],
        }
        summaries = [
            "Referral from school: child disclosed being hit with a belt.",
            "Mother's heavy drinking; children left alone overnight.",
            "Repeated missed health appointments; baby's weight faltering.",
            "Older child caring for siblings; parent's mental health deteriorating.",
            "Domestic abuse; father has breached a non-molestation order.",
            "Home conditions very poor; family refuses entry to the bedrooms.",
            "Child missing from education; family not at home for announced visits.",
            "Parental cannabis and cocaine use; chaotic routines.",
        ]
        used = set()
        specs = []
        for i in range(count):
            name = rng.choice(SURNAMES)
            while name in used:
                name = rng.choice(SURNAMES)
            used.add(name)
            team = "north" if i % 2 == 0 else "south"
            opened = rng.randint(40, 700)
            people = {
                "mum": {"first": rng.choice(FIRST_F), "age": rng.randint(20, 42), "sex": "female"}
            }
            members = [("mum", M, None, None, True, "")]
            for c in range(rng.randint(1, 4)):
                key = f"c{c}"
                people[key] = {
                    "first": rng.choice(CHILD_NAMES),
                    "age": round(rng.uniform(0.3, 15), 1),
                }
                members.append((key, C, None, None, True, ""))
            if rng.random() < 0.5:
                people["man"] = {
                    "first": rng.choice(FIRST_M),
                    "last": rng.choice(SURNAMES),
                    "age": rng.randint(22, 48),
                    "sex": "male",
                }
                start = min(200, opened)
                members.append(
                    (
                        "man",
                        PARTNER,
                        start,
                        start // 2 if rng.random() < 0.4 else None,
                        True,
                        "Left after an argument",
                    )
                )
            plans = []
            if rng.random() < 0.4:
                plans = [
                    (
                        "c0",
                        rng.choice(["neglect", "emotional", "physical", "multiple"]),
                        min(opened - 5, rng.randint(20, 300)),
                        None,
                    )
                ]
            specs.append(
                {
                    "family_name": name,
                    "team": team,
                    "worker": rng.choice(workers[team]),
                    "opened_ago": opened,
                    "summary": rng.choice(summaries),
                    "people": people,
                    "members": members,
                    "addresses": [
                        (
                            f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                            "Leeds",
                            rng.choice(POSTCODES),
                            opened + rng.randint(10, 900),
                        )
                    ],
                    "plans": plans,
                    "hazards": [("case", "animal", "Dog in the house", opened)]
                    if rng.random() < 0.2
                    else [],
                    "closed": 10 if (i == 3 and not plans) else None,
                }
            )
        return specs
