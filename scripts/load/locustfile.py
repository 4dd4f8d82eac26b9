"""Load scenario: social workers recording visits through the visit form and loading My
work and their cases; managers loading the team and service dashboards. A second user
class requests only /healthz, to measure the same server on a trivial view.

Run through scripts/load/run.sh (`make load`), which starts gunicorn on the scale data
and writes the list of users and their cases to $LOAD_USERS (JSON).

    locust -f scripts/load/locustfile.py WorkerUser ManagerUser   # the scenario
    locust -f scripts/load/locustfile.py TrivialUser              # the trivial view
"""

import itertools
import json
import os
import random
import time
from html.parser import HTMLParser

import requests
from django_otp.oath import totp
from locust import HttpUser, between, task

with open(os.environ.get("LOAD_USERS", "var/load/users.json")) as f:
    PLAN = json.load(f)
PASSWORD = PLAN["password"]  # the scale users' demo password (prepare.py)
TOTP_KEY = bytes.fromhex(PLAN["totp_key"])  # and their demo authenticator app's key
_workers = itertools.cycle(PLAN["workers"])
_managers = itertools.cycle(PLAN["managers"])


class _Form(HTMLParser):
    """The fields of a page's forms as a browser would submit them untouched."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag != "input" or not name:
            return
        kind = a.get("type", "text")
        if kind in ("radio", "checkbox"):
            if "checked" in a:
                self.fields[name] = a.get("value", "on")
        elif kind not in ("submit", "button"):
            self.fields[name] = a.get("value") or ""


def _fields(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html)
    return parser.fields


def sign_in(client, username):
    """Sign in with a plain requests session, outside the statistics, and hand its
    cookies over: the deliberately slow password hash of 50 users arriving at once is
    not the scenario."""
    base = client.base_url
    plain = requests.Session()
    page = plain.get(f"{base}/accounts/sign-in/")
    token = _fields(page.text).get("csrfmiddlewaretoken", "")
    response = plain.post(
        f"{base}/accounts/sign-in/",
        allow_redirects=False,
        data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed for {username}: HTTP {response.status_code}")
    code_page = plain.get(f"{base}/accounts/sign-in/code/")
    token = _fields(code_page.text).get("csrfmiddlewaretoken", "")
    # A code is accepted once per user: a second sign-in as the same user (the service
    # manager is several users) in the same 30 seconds gives the next step's code, a
    # third waits for the next step and gives the one after it (the server has moved its
    # idea of the app's clock on by one). After a wrong code the next waits 1, then 2 s.
    waits = [0, 1.1, max(2.1, 30 - time.time() % 30 + 0.1)]
    for wait, drift in zip(waits, (0, 1, 1), strict=True):
        time.sleep(wait)
        response = plain.post(
            f"{base}/accounts/sign-in/code/",
            allow_redirects=False,
            data={"csrfmiddlewaretoken": token, "code": f"{totp(TOTP_KEY, drift=drift):06d}"},
        )
        if response.status_code == 302:
            break
    else:
        raise RuntimeError(f"second factor refused for {username}: HTTP {response.status_code}")
    client.cookies.update(plain.cookies)


class WorkerUser(HttpUser):
    weight = 4
    wait_time = between(1, 3)

    def on_start(self):
        me = next(_workers)
        self.cases = me["cases"]
        sign_in(self.client, me["username"])

    @task(3)
    def my_work(self):
        self.client.get(PLAN["urls"]["mine"], name="My work")

    @task(1)
    def case_page(self):
        self.client.get(f"/cases/{random.choice(self.cases)}/", name="case page")

    @task(2)
    def record_visit(self):
        case = random.choice(self.cases)
        url = f"/cases/{case}/visits/record/"
        form = self.client.get(url, name="visit form")
        if form.status_code != 200:
            return
        data = _fields(form.text)
        if random.random() < 0.15:
            data.update({"o-outcome": "defaulted", "o-default_reason": "no_answer"})
        else:
            data["o-outcome"] = "completed"
            data["o-parent_report"] = "Says things are better this week."
            for name in set(data) | _child_prefixes(form.text):
                if name.startswith("child-") and name.endswith("-seen"):
                    prefix = name[: -len("seen")]
                    data[name] = "yes"
                    data[prefix + "seen_alone"] = "no"
                    data[prefix + "reason_not_seen"] = "Parent would not leave the room"
                    data[prefix + "presentation"] = "Quiet; clean and dressed."
        with self.client.post(
            url, data=data, name="record visit", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"visit not saved: HTTP {response.status_code}")


def _child_prefixes(html: str):
    """Names of the children's 'seen' radios (none is checked, so none is in the fields)."""
    names = set()
    start = 0
    while True:
        i = html.find('name="child-', start)
        if i < 0:
            return names
        j = html.find('"', i + 6)
        name = html[i + 6 : j]
        if name.endswith("-seen"):
            names.add(name)
        start = j


class ManagerUser(HttpUser):
    weight = 1
    wait_time = between(1, 3)

    def on_start(self):
        me = next(_managers)
        self.page = PLAN["urls"]["service" if me["service"] else "team"]
        sign_in(self.client, me["username"])

    @task
    def dashboard(self):
        self.client.get(
            self.page, name="service dashboard" if "service" in self.page else "team dashboard"
        )


class TrivialUser(HttpUser):
    """The same server and the same pace, on a view that does almost nothing."""

    wait_time = between(1, 3)

    @task
    def healthz(self):
        self.client.get("/healthz", name="healthz")
