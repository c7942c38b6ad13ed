"""Find any lead: search, filters, sorting and pages, run in the database
(core.services.lead_search); the head of sales reassigns what they select."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from core.errors import InvalidInput
from core.permissions import Action, Role, can
from core.services import Actor, lead_search, leads
from ui.feedback import flash, run_service
from ui.navigation import lead_page
from ui.services import call
from ui.tables import readable_values
from ui.text import literal, words
from ui.worklist import BADGES, Reading, lead_link, time_left

CLOCK_STATES = {"at_risk": "At risk", "overdue": "Overdue", "pending": "On time"}
SORTS = {"mql_at": "MQL time", "time_left": "Business time left", "company": "Company",
         "name": "Name", "external_id": "Lead id", "owner": "Owner", "channel": "Channel",
         "segment": "Segment", "region": "Region"}
PAGE_SIZES = (25, 50, 100, 200)
COLUMNS = {"external_id": "Lead", "name": "Name", "company": "Company", "email": "Email",
           "owner": "Owner", "channel": "Channel", "segment": "Segment", "region": "Region",
           "stage": "Stage", "clock": "Clock", "time_left": "Business time left",
           "mql_at": "MQL", "touches": "Human touches", "last_touch_at": "Last touch",
           "link": "Page"}


def find_leads(actor: Actor, work: pd.DataFrame | None, reading: Reading,
               key: str = "find") -> None:
    """The search box, the filters, one page of results with links to each lead's page, and
    (for the head of sales) the reassignment of the selected rows. `work`: the open clocks of
    the worklist (their states and time left filter and sort the results)."""
    own = actor.role == Role.SALES_REP
    choices = call(lead_search.filter_choices, actor=actor)
    text = st.text_input("Search", key=f"{key}_text", placeholder="Name, company, email or "
                         "lead id", icon=":material/search:")
    with st.expander("Filters and sorting", expanded=False):
        first, second, third = st.columns(3)
        owners, team = (), None
        if not own:
            owners = tuple(first.multiselect("Owner", choices.get("owners", []),
                                             format_func=reading.name, key=f"{key}_owners"))
            team = second.selectbox("Team", choices.get("teams", []), index=None,
                                    placeholder="Every team", key=f"{key}_team")
        stage = third.selectbox("Stage", lead_search.STAGES, index=None, format_func=words,
                                placeholder="Any stage", key=f"{key}_stage")
        channels = tuple(first.multiselect("Channel", choices.get("channels", []),
                                           format_func=words, key=f"{key}_channels"))
        segments = tuple(second.multiselect("Segment", choices.get("segments", []),
                                            format_func=words, key=f"{key}_segments"))
        regions = tuple(third.multiselect("Region", choices.get("regions", []),
                                          format_func=words, key=f"{key}_regions"))
        clock = first.selectbox("Clock", list(CLOCK_STATES), index=None,
                                format_func=CLOCK_STATES.get, placeholder="Any clock",
                                key=f"{key}_clock")
        period = second.date_input("MQL between", value=(), key=f"{key}_period")
        sort = third.selectbox("Sort by", list(SORTS), format_func=SORTS.get,
                               key=f"{key}_sort")
        descending = first.toggle("Newest / largest first", value=sort == "mql_at",
                                  key=f"{key}_descending")
        page_size = second.selectbox("Rows per page", PAGE_SIZES, index=1,
                                     key=f"{key}_page_size")
    urgent = work.set_index("id") if work is not None and not work.empty else pd.DataFrame(
        columns=["state", "business_seconds_left"])
    lead_ids = None
    if clock:
        lead_ids = tuple(int(i) for i in urgent.index[urgent["state"] == clock])
    mql_from, mql_to = _dates(period, reading.timezone)
    query = dict(text=text, owners=owners, team=team, channels=channels, segments=segments,
                 regions=regions, stage=stage, mql_from=mql_from, mql_to=mql_to,
                 lead_ids=lead_ids, sort=sort, descending=descending, page_size=page_size,
                 time_left=tuple((int(i), float(left)) for i, left in
                                 urgent["business_seconds_left"].items()) if sort == "time_left"
                 else ())
    page_key = f"{key}_page"
    asked = repr(sorted((k, v) for k, v in query.items() if k != "time_left"))
    if st.session_state.get(f"{key}_asked") != asked:  # a new question starts on page 1
        st.session_state[f"{key}_asked"] = asked
        st.session_state[page_key] = 1
    page_number = st.session_state.get(page_key, 1)
    try:
        found = call(lead_search.search_leads, actor=actor,
                     query=lead_search.LeadQuery(**query, page=page_number))
    except InvalidInput as error:
        st.error(literal(error.message))
        return
    if found.total == 0:
        st.info("No lead matches." if (text or clock or stage or period or owners or team or
                                       channels or segments or regions) else "No leads yet.")
        return
    count = f"{found.total:,}{'+' if found.capped else ''}"
    st.caption(f"{count} lead{'s' if found.total != 1 else ''} · page {found.page} of "
               f"{found.pages:,}{'+' if found.capped else ''}")
    table = _table(found.rows, urgent, reading)
    if own:  # a rep's own leads: the owner is always them
        table = table.drop(columns=["owner"])
    reassigning = can(actor.role, Action.REASSIGN_LEADS)
    picked = st.dataframe(
        table, hide_index=True, width="stretch", key=f"{key}_table", on_select="rerun",
        selection_mode="multi-row" if reassigning else "single-row",
        column_config={**COLUMNS, "link": st.column_config.LinkColumn(
            "Page", display_text="Open", help="The lead's page, in a new tab")},
    )
    chosen = [int(found.rows.iloc[row]["id"]) for row in picked.selection.rows]
    _pager(found, page_key, key)
    for lead_id in chosen[:1]:
        title = table.loc[found.rows["id"] == lead_id, "external_id"].iloc[0]
        st.page_link(lead_page(), label=f"Open {title}", icon=":material/open_in_new:",
                     query_params={"lead": lead_id})
    if reassigning:
        reassign_form(chosen, actor, key)


def reassign_form(lead_ids: list[int], actor: Actor, key: str, label: str | None = None
                  ) -> None:
    """Hand the chosen leads to another rep, with a reason (the head of sales)."""
    reps = call(leads.sales_reps, actor=actor)
    if not reps:
        return
    label = label or (
        f"Reassign {len(lead_ids)} selected lead{'s' if len(lead_ids) != 1 else ''}"
        if lead_ids else "Select leads in the table to reassign them")
    with st.form(f"{key}_reassign", clear_on_submit=True):
        st.markdown(f"**{label}**")
        left, right = st.columns([1, 2])
        names = {rep.username: rep.name + (f" ({rep.team})" if rep.team else "")
                 for rep in reps}
        to = left.selectbox("To", list(names), format_func=names.get, index=None,
                            placeholder="Choose a rep", key=f"{key}_reassign_to")
        reason = right.text_input("Reason", key=f"{key}_reassign_reason",
                                  placeholder="Why they change hands (kept in their history)")
        if st.form_submit_button("Reassign", disabled=not lead_ids):
            if to is None:
                flash("error", "Choose the rep to reassign to.")
            else:
                run_service(leads.reassign_leads,
                            f"Reassigned {len(lead_ids)} lead{'s' if len(lead_ids) != 1 else ''}"
                            f" to {names[to]}.", actor=actor, lead_ids=lead_ids, to_owner=to,
                            reason=reason)
            st.rerun()


def _table(rows: pd.DataFrame, urgent: pd.DataFrame, reading: Reading) -> pd.DataFrame:
    """The page's rows as people read them, with a link to each lead's page."""
    shown = readable_values(rows, reading.names, reading.timezone)
    ids = rows["id"].astype(int)
    state = ids.map(urgent["state"]) if len(urgent) else pd.Series(None, index=ids.index)
    left = ids.map(urgent["business_seconds_left"]) if len(urgent) else state
    return pd.DataFrame({
        "external_id": rows["external_id"], "name": shown["name"],
        "company": shown["company"], "email": shown["email"],
        "owner": shown["owner"], "channel": shown["channel"], "segment": shown["segment"],
        "region": shown["region"], "stage": rows["stage"].map(words, na_action="ignore"),
        "clock": _or_dash(state.map(lambda s: BADGES[s][0], na_action="ignore")),
        "time_left": _or_dash(left.map(lambda s: time_left(s, reading), na_action="ignore")),
        "mql_at": shown["mql_at"], "touches": rows["touches"],
        "last_touch_at": shown["last_touch_at"], "link": ids.map(lead_link),
    })


def _or_dash(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "–")


def _pager(found, page_key: str, key: str) -> None:
    earlier, where, later = st.columns([1, 2, 1])
    if earlier.button("Previous page", key=f"{key}_previous", disabled=found.page <= 1,
                      icon=":material/chevron_left:"):
        st.session_state[page_key] = found.page - 1
        st.rerun()
    where.caption(f"Page {found.page:,} of {found.pages:,}{'+' if found.capped else ''}")
    if later.button("Next page", key=f"{key}_next", disabled=found.page >= found.pages,
                    icon=":material/chevron_right:"):
        st.session_state[page_key] = found.page + 1
        st.rerun()


def _dates(period, zone: str) -> tuple[datetime | None, datetime | None]:
    """A chosen date range as instants [first day's midnight, the day after the last) in the
    agreement's zone."""
    if not period or len(period) != 2:
        return None, None
    local = ZoneInfo(zone)
    start = datetime.combine(period[0], time(0), local).astimezone(UTC)
    end = datetime.combine(period[1] + timedelta(days=1), time(0), local).astimezone(UTC)
    return start, end
