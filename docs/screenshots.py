"""Screenshots of the demo: the README's five, and every page as every role.

    .venv/bin/python docs/screenshots.py [--leads N] [--out DIR] [--every-page DIR]

Seeds a throwaway SQLite demo workspace, serves `streamlit run app.py` on a free port, drives
Debian's Chromium (/usr/bin/chromium) with Playwright and writes home.png and dashboard.png (the
head of sales), worklist.png (a rep), review.png (the exec) and planner.png (into docs/ by
default); with --every-page, also <role>-<page>.png for each page each demo role may open (not
committed: `make screenshots` writes them to build/screenshots/, to look at). Prints each path.
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.demo import DEMO_USERS  # noqa: E402
from tests.browser import serving  # noqa: E402
from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS, served_demo, submit_login  # noqa: E402
from ui.navigation import pages_for, title_for  # noqa: E402

ONE_USER_PER_ROLE = {user.role: user for user in reversed(DEMO_USERS)}  # the first of each

PASSWORD = "handoff-demo"
HEAD, REP = "sofia", "ana"
CHART_COUNT = 8
TIMEOUT_MS = 120_000
WIDE = {"width": 1400, "height": 1000}
TALL = {"width": 1400, "height": 3200}


def settle(page) -> None:
    """Wait until Streamlit has stopped rerunning and the page's fonts have loaded. (Not
    "networkidle": Streamlit's connections sometimes keep the network busy for minutes.)"""
    serving.settle(page)
    page.evaluate("() => document.fonts.ready.then(() => true)")


def full_height(page) -> None:
    """Grow the viewport to the whole page: Streamlit scrolls inside its main section, so a
    full-page screenshot alone stops at the viewport's bottom."""
    height = page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebar"]')]
        .map(element => element.scrollHeight), document.documentElement.scrollHeight)""")
    width = page.viewport_size["width"]
    if height > page.viewport_size["height"]:
        page.set_viewport_size({"width": width, "height": height})
        settle(page)


def log_in(browser, url: str, username: str, viewport: dict):
    """A fresh page logged in as username (its landing page open)."""
    page = browser.new_context(viewport=viewport).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    submit_login(page, url, username, PASSWORD)
    settle(page)
    return page


def shoot(browser, url: str, out: Path) -> list[Path]:
    """Take the screenshots; returns their paths."""
    home, dashboard, worklist = (out / name for name in
                                 ("home.png", "dashboard.png", "worklist.png"))
    page = log_in(browser, url, HEAD, WIDE)
    page.locator('[data-testid="stMetric"]').first.wait_for()
    settle(page)
    full_height(page)
    page.screenshot(path=str(home), full_page=True)

    page.set_viewport_size(TALL)
    serving.open_page(page, f"{url}/dashboard", "Compliance")
    page.locator(".vega-embed svg").nth(CHART_COUNT - 1).wait_for()
    settle(page)
    full_height(page)
    page.screenshot(path=str(dashboard), full_page=True)
    page.context.close()

    page = log_in(browser, url, REP, WIDE)
    page.get_by_role("heading", name="Breaching next", exact=True).wait_for()
    settle(page)
    full_height(page)
    page.screenshot(path=str(worklist), full_page=True)
    page.context.close()

    shots = [home, dashboard, worklist]
    for username, path, heading in (("erin", "review", "Quarterly review"),
                                    (HEAD, "planner", "Goal planner")):
        page = log_in(browser, url, username, WIDE)
        shots.append(shoot_page(page, f"{url}/{path}", heading, out / f"{path}.png"))
        page.context.close()
    return shots


def shoot_page(page, address: str, heading: str, path: Path) -> Path:
    """Open a page, let it settle, and take it whole."""
    page.set_viewport_size(WIDE)
    serving.open_page(page, address, heading)
    settle(page)
    full_height(page)
    page.screenshot(path=str(path), full_page=True)
    return path


def shoot_every_page(browser, url: str, out: Path) -> list[Path]:
    """Every page each demo role may open, as that role sees it."""
    shots = []
    for role, user in ONE_USER_PER_ROLE.items():
        page = log_in(browser, url, user.username, WIDE)
        shots += [shoot_page(page, f"{url}/{spec.url_path}", _heading(spec, user),
                             out / f"{role}-{spec.url_path}.png") for spec in pages_for(role)]
        page.context.close()
    return shots


def _heading(spec, user) -> str:
    """The heading the page opens with (home greets the user)."""
    if spec.url_path == "home":
        return f"Welcome, {user.display_name.split()[0]}"
    return title_for(spec, user.role)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=12_000,
                        help="demo leads to seed (as many as `make seed`)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where to write PNGs")
    parser.add_argument("--every-page", type=Path, help="also every page for each role, here")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"screenshots need Debian's chromium at {CHROMIUM} (make chromium, as root)")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="handoff-screenshots-") as workdir, \
            served_demo(f"sqlite:///{Path(workdir) / 'handoff.db'}", args.leads) as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            paths = shoot(browser, url, args.out)
            if args.every_page:
                args.every_page.mkdir(parents=True, exist_ok=True)
                paths += shoot_every_page(browser, url, args.every_page)
        finally:
            browser.close()
    for path in paths:
        print(path)


if __name__ == "__main__":
    main()
