"""The page registry: which page exists, and which action a role needs to open it."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

from core.permissions import Action, Role, can

PAGES_DIR = Path(__file__).resolve().parent.parent / "app_pages"


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its URL path, title, icon, script, and the actions that open it."""

    url_path: str
    title: str
    icon: str
    script: str
    needs: Action | tuple[Action, ...]
    hidden: bool = False  # opened from a link, not from the sidebar (a lead's page)

    def opens_for(self, role: str) -> bool:
        """Whether a role may open this page (any one of its actions is enough)."""
        needs = self.needs if isinstance(self.needs, tuple) else (self.needs,)
        return any(can(role, action) for action in needs)


PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "Home", ":material/home:", "home.py", Action.VIEW_DASHBOARDS),
    PageSpec("dashboard", "Compliance", ":material/monitoring:", "dashboard.py",
             Action.VIEW_DASHBOARDS),
    PageSpec("planner", "Goal planner", ":material/flag:", "planner.py",
             Action.VIEW_DASHBOARDS),
    PageSpec("review", "Quarterly review", ":material/fact_check:", "review.py",
             Action.VIEW_DASHBOARDS),
    PageSpec("agreements", "Agreements", ":material/handshake:", "agreements.py",
             Action.VIEW_DASHBOARDS),
    PageSpec("leads", "Leads", ":material/contacts:", "leads.py", Action.WORK_LEADS),
    PageSpec("lead", "Lead", ":material/person:", "lead.py", Action.VIEW_DASHBOARDS,
             hidden=True),
    PageSpec("disputes", "Disputes", ":material/gavel:", "disputes.py",
             (Action.DISPUTE_REJECTION, Action.RESOLVE_DISPUTE)),
    PageSpec("notifications", "Notifications", ":material/notifications:", "notifications.py",
             Action.VIEW_DASHBOARDS),
    PageSpec("import", "Import", ":material/upload_file:", "import_data.py",
             Action.IMPORT_DATA),
    PageSpec("users", "Users", ":material/group:", "users.py", Action.MANAGE_USERS),
    PageSpec("integrations", "Integrations", ":material/sync_alt:", "integrations.py",
             Action.MANAGE_INTEGRATIONS),
    PageSpec("channels", "Channels", ":material/campaign:", "channels.py",
             Action.MANAGE_CHANNELS),
)
HOME = PAGES[0]
# A sales rep opens Handoff to work their leads: the worklist is their landing page.
LANDING = {Role.SALES_REP.value: "leads"}
# A page's name for a role, where it differs (the same name in the sidebar and on the page)
ROLE_TITLES = {(Role.SALES_REP.value, "leads"): "My worklist"}


def title_for(page: PageSpec, role: str | None) -> str:
    """The page's name for this role."""
    return ROLE_TITLES.get((role or "", page.url_path), page.title)


def spec(url_path: str) -> PageSpec:
    """The registered page with this URL path."""
    return next(page for page in PAGES if page.url_path == url_path)


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a role may open; every page when role is None (before login, never run)."""
    return [page for page in PAGES if role is None or page.opens_for(role)]


def landing(role: str | None) -> str:
    """The URL path of the page a role lands on after login."""
    return LANDING.get(role or "", HOME.url_path)


def navigation(role: str | None) -> st.navigation:
    """Register the role's pages with st.navigation (hidden from strangers)."""
    pages = [
        st.Page(
            str(PAGES_DIR / page.script), title=title_for(page, role), icon=page.icon,
            url_path=page.url_path, default=page.url_path == landing(role),
            visibility="hidden" if page.hidden else "visible",
        )
        for page in pages_for(role)
    ]
    return st.navigation(pages, position="sidebar" if role else "hidden")


def role_label(role: str, *, starting_a_sentence: bool = False) -> str:
    """A role as people name it ("Head of Sales"), or starting a sentence ("A head of
    sales")."""
    return Role(role).starting_a_sentence if starting_a_sentence else Role(role).label


def refused(role: str, url: str | None) -> PageSpec | None:
    """The page an address asks for when this role may not open it (Streamlit then runs the
    role's default page instead: the page should say why)."""
    asked = urlparse(url or "").path.rstrip("/").rsplit("/", 1)[-1]
    page = next((page for page in PAGES if page.url_path == asked), None)
    return page if page is not None and not page.opens_for(role) else None


def lead_page() -> str:
    """The script of a lead's page, for st.page_link and st.switch_page (with
    query_params={"lead": id})."""
    return str(PAGES_DIR / spec("lead").script)


def land_after_login(page: st.Page, role: str) -> None:
    """Right after logging in on the default page, open the role's landing page instead (a
    deep link to another page is kept)."""
    target = spec(landing(role))
    if page.url_path in ("", HOME.url_path) and target is not HOME:
        st.switch_page(str(PAGES_DIR / target.script))
