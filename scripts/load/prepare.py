"""Write the load scenario's users and their open cases as JSON (run by run.sh through
`manage.py shell`); builds the scale data first if there is none."""

import json
import os

from django.core.management import call_command
from django.db.models import Count, Q
from django.urls import reverse

from accounts import roles
from accounts.models import User
from cases.models import Case
from safeguarding import demo_scale
from safeguarding.demo_second_factor import DEMO_TOTP_KEY
from safeguarding.management.commands.seed_demo import DEMO_PASSWORD

if not demo_scale.scale_teams().exists():
    call_command("seed_demo", "--scale", os.environ.get("LOAD_SCALE", "20000"), "--quiet-logins")

workers = (
    User.objects.filter(team__in=demo_scale.scale_teams(), groups__name=roles.SOCIAL_WORKER)
    .annotate(n=Count("allocated_cases", filter=Q(allocated_cases__status="open")))
    .filter(n__gte=5)
    .order_by("pk")
)[:200]
plan = {"workers": [], "managers": [], "urls": {}}
for worker in workers:
    cases = list(
        Case.objects.filter(allocated_workers=worker, status="open").values_list("pk", flat=True)
    )
    plan["workers"].append({"username": worker.username, "cases": cases})
for manager in User.objects.filter(
    team__in=demo_scale.scale_teams(), groups__name=roles.TEAM_MANAGER
).order_by("pk")[:20]:
    plan["managers"].append({"username": manager.username, "service": False})
# one in five managers is the service manager
plan["managers"][::5] = [{"username": demo_scale.SERVICE_MANAGER, "service": True}] * len(
    plan["managers"][::5]
)
for key, name in [
    ("mine", "dashboards:mine"),
    ("team", "dashboards:team"),
    ("service", "dashboards:service"),
]:
    plan["urls"][key] = reverse(name)
plan["password"] = DEMO_PASSWORD
plan["totp_key"] = DEMO_TOTP_KEY  # the demo authenticator app every scale user has
with open(os.environ["LOAD_USERS"], "w") as f:
    json.dump(plan, f)
print(f"{len(plan['workers'])} workers, {len(plan['managers'])} managers")
