"""Demo supervision histories for `manage.py seed_demo` (fictional, idempotent).

Each worker in the demo teams gets a history: sessions held and signed off, a
cancelled one with its reason and new date, discussions of their cases with the
reflective questions, decisions on the case record, and actions, some overdue.
"""

import datetime

from django.utils import timezone

from accounts import policy
from cases.models import Case

from . import services
from .models import QUESTION_FIELDS, SupervisionSession

# worker, supervisor, [(days ago, what happened)]; the newest held session decides
# whether their supervision is now overdue.
HISTORIES = [
    # After a cancellation, the next entry is the session rearranged for 7 days later.
    ("amira.hussain", "priya.shah", [(70, "held"), (42, "cancelled"), (35, "held")]),
    ("tom.fletcher", "priya.shah", [(40, "held"), (12, "held"), (-16, "planned")]),
    ("jo.bennett", "rachel.green", [(48, "held"), (20, "held")]),
    ("sam.adeyemi", "rachel.green", [(45, "held"), (-3, "planned")]),
    ("priya.shah", "grace.okafor", [(30, "cancelled"), (26, "held")]),
]

ANSWERS = {
    "assumptions": "We have assumed the parents are cooperating because they attend meetings. "
    "The hard evidence (school attendance, missed health appointments) says "
    "little has changed.",
    "assessment_changed": "After the third missed visit, and again when the school raised "
    "the bruising.",
    "child_life": "Up early to get a younger sibling ready, hungry by mid-morning, quiet at "
    "school, and wary of the adults at home in the evening.",
    "hypothesis": "Partly: the original view of a mother overwhelmed by circumstances does not "
    "explain the new partner's control of visits.",
}
LIVED = [
    "Hungry, tired and anxious: caring for a younger sibling while the adults argue.",
    "Seen alone once in three months: says home is 'fine' but will not talk about evenings.",
    "Settled at nursery, but arrives in the same clothes and misses health checks.",
]
DECISIONS = [
    (
        "Next two visits unannounced, one outside office hours",
        "Every announced visit has found the home prepared; we have not seen an ordinary evening",
    ),
    (
        "Request a strategy discussion with the police",
        "Two unexplained injuries reported by the school within a month",
    ),
    (
        "Ask the health visitor for a joint visit",
        "Health appointments missed; a second professional view of the baby's care",
    ),
]
ACTIONS = [
    "Speak to the school's safeguarding lead about attendance and presentation",
    "See the children alone and record their views",
    "Check with the GP whether the missed appointments were rebooked",
]


def _at(day: datetime.date, hour: int = 10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def seed(*, users, today: datetime.date, rng, stdout) -> int:
    """Build the histories unless they exist; returns the number of workers given one."""
    made = 0
    for worker_name, supervisor_name, events in HISTORIES:
        worker, supervisor = users.get(worker_name), users.get(supervisor_name)
        if worker is None or supervisor is None:
            continue
        if SupervisionSession.objects.filter(supervisee=worker).exists():
            continue
        cases = [
            c
            for c in Case.objects.filter(
                allocated_workers=worker, status=Case.Status.OPEN
            ).order_by("reference")
            if policy.can_view_case(supervisor, c)
        ]
        rearranged = None
        for index, (days_ago, what) in enumerate(events):
            session = _session(
                worker, supervisor, today, days_ago, what, cases, rng, index, rearranged
            )
            rearranged = session.rearranged_as
        made += 1
    stdout.write(f"Demo supervision: {made} workers given supervision histories.")
    return made


def _session(worker, supervisor, today, days_ago, what, cases, rng, index, rearranged):
    """One session; after a cancellation, the next one is the session rearranged for it."""
    day = today - datetime.timedelta(days=days_ago)
    booked = _at(min(day, today) - datetime.timedelta(days=14))
    if rearranged is not None:
        session = rearranged
        day = session.date
    else:
        session = services.session_create(actor=supervisor, supervisee=worker, date=day, now=booked)
    if what == "planned":
        return session
    if what == "cancelled":
        return services.session_cancel(
            actor=supervisor,
            session=session,
            now=_at(day, 8),
            reason=rng.choice(
                [
                    "Called to court for a care proceedings hearing",
                    "Emergency strategy meeting on another family",
                ]
            ),
            new_date=day + datetime.timedelta(days=7),
        )
    now = _at(day, 11)
    for number, case in enumerate(cases[:2]):
        pick = (index + number) % 3
        discussion = services.discussion_create(
            actor=supervisor,
            session=session,
            case=case,
            now=now,
            data=services.Answers(
                lived_experience=LIVED[pick],
                answers=ANSWERS,
                not_discussed=set(QUESTION_FIELDS) - set(ANSWERS),
            ),
        )
        services.decision_record(
            actor=supervisor,
            discussion=discussion,
            decision=DECISIONS[pick][0],
            reasons=DECISIONS[pick][1],
            now=now,
        )
        action = services.action_create(
            actor=supervisor,
            discussion=discussion,
            description=ACTIONS[pick],
            owner=worker,
            due_date=day + datetime.timedelta(days=14),
            now=now,
        )
        # Older actions were done; the latest session's are open, overdue once past due.
        if days_ago > 40:
            services.action_complete(
                actor=worker, action=action, now=_at(day + datetime.timedelta(days=10), 15)
            )
    if cases:
        services.session_update(
            actor=supervisor,
            session=session,
            now=now,
            most_worried_case=cases[0],
            most_worried_why="No change since the plan began despite the work put in.",
            least_worried_case=cases[1] if len(cases) > 1 else None,
            least_worried_why="Engaging, and the school sees steady improvement."
            if len(cases) > 1
            else "",
            wellbeing_impact="Verbal abuse from a parent at the last visit; felt shaken "
            "driving home."
            if index % 2 == 0
            else "",
            wellbeing_support="Joint visits to this family for now; debrief after each."
            if index % 2 == 0
            else "",
        )
    services.session_hold(actor=supervisor, session=session, now=now)
    services.session_sign_off(actor=supervisor, session=session, now=_at(day, 16))
    return session
