"""Screenshots of pages as a signed-in user sees them, for a person to look at.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 amira.hussain PASSWORD \
        /cases/ /cases/1/ --width 1280 --width 360 --out test-artifacts/shots

Uses Debian's Chromium through Playwright; writes one PNG per page and width.
"""

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

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
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for width in args.width or [1280]:
            page = browser.new_page(base_url=args.base, viewport={"width": width, "height": 900})
            page.goto("/accounts/sign-in/")
            page.get_by_label("Username").fill(args.username)
            page.get_by_label("Password", exact=True).fill(args.password)
            page.get_by_role("button", name="Sign in").click()
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


if __name__ == "__main__":
    main()
