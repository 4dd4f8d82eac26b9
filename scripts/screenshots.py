"""Screenshots of pages as a signed-in user sees them, for a person to look at.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 amira.hussain PASSWORD \
        /cases/ /cases/1/ --width 1280 --width 360 --out test-artifacts/shots

Uses Debian's Chromium through Playwright; writes one PNG per page and width. Signs in
once: the password, then a code from the demo authenticator key (seed_demo gives every
demo user that key; --totp-key for another), or, for a user with no app yet, sets one up
from the key on the page.
"""

import argparse
import re
import sys
from base64 import b32decode
from pathlib import Path

from django_otp.oath import totp
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from safeguarding.demo_second_factor import DEMO_TOTP_KEY  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--width", type=int, action="append")
    parser.add_argument("--height", type=int, default=0, help="clip to this height (0: full)")
    parser.add_argument("--out", default="test-artifacts/shots")
    parser.add_argument("--totp-key", default=DEMO_TOTP_KEY, help="hex key of the user's app")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(base_url=args.base, viewport={"width": 1280, "height": 900})
        sign_in(page, args.username, args.password, bytes.fromhex(args.totp_key))
        for width in args.width or [1280]:
            page.set_viewport_size({"width": width, "height": 900})
            for path in args.paths:
                page.goto(path)
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
                target = out / f"{name}-{width}.png"
                if args.height:
                    page.screenshot(
                        path=str(target),
                        clip={"x": 0, "y": 0, "width": width, "height": args.height},
                    )
                else:
                    page.screenshot(path=str(target), full_page=True)
                print(target)
        page.close()
        browser.close()


def sign_in(page, username, password, key):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/set-up-app/" in page.url:  # no app yet: set one up with the key shown
        secret = page.get_by_test_id("secret").inner_text().replace(" ", "")
        key = b32decode(secret + "=" * (-len(secret) % 8))
        print(f"{username}: app set up with key {secret}", file=sys.stderr)
    for drift in (0, 1):  # this step's code may have been used already: then the next's
        if "/accounts/sign-in/" not in page.url:
            break
        if drift:
            page.wait_for_timeout(1100)  # after a wrong code the next waits a second
        page.locator("input[name=code]").fill(f"{totp(key, drift=drift):06d}")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
    continue_link = page.get_by_role("link", name="I have stored my codes – continue")
    if continue_link.count():
        continue_link.click()
    if "/accounts/sign-in/" in page.url:
        sys.exit(f"could not sign in as {username}: {page.url}")


if __name__ == "__main__":
    main()
