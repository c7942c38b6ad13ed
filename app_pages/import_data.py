"""Import: CRM exports of leads and touches, with presets, a column mapping, a preview, a
progress bar, row-level errors to download, and the import history."""

import pandas as pd
import streamlit as st

from core import periods
from core.services import imports
from ui import data
from ui.auth import require_page
from ui.feedback import run_service, show_flash
from ui.services import call
from ui.text import field_label, literal, local_time

actor = require_page("import")
NONE = "—"
KINDS = {"leads": "Leads", "touches": "Touches (sales activities)"}

st.title("Import")
show_flash()
kind = st.radio("What are you importing?", list(KINDS), format_func=KINDS.get,
                horizontal=True, key="import_kind")
upload = st.file_uploader("A CSV or Excel export", type=["csv", "txt", "tsv", "xlsx"],
                          key=f"import_file_{kind}",
                          help="Up to 200 MB here (the command line takes up to 512 MB). An "
                               "Excel sheet holds up to 200,000 rows; larger: save it as CSV.")


def where_the_rows_went(months: list[tuple[str, int]]) -> None:
    """Which months the imported rows fall in, with links to the dashboard for them."""
    first, last = months[0][0], months[-1][0]
    busiest, most = max(months, key=lambda pair: pair[1])
    span = first if first == last else f"{first} to {last} ({len(months)} months)"
    st.info(f"These rows fall in {span}; the most, {most:,}, in {busiest}. The Compliance page "
            "shows one period at a time: open the one you imported.", icon=":material/event:")
    whole = periods.months_period(first, last)
    left, right = st.columns(2)
    left.page_link("app_pages/dashboard.py", label=f"Compliance for {busiest}",
                   icon=":material/monitoring:", query_params={"period": busiest})
    if first != last:
        right.page_link("app_pages/dashboard.py", label=f"Compliance for {span}",
                        icon=":material/date_range:", query_params={"period": whole})


def mapping_editor(columns: list[str], base: dict[str, list[str]]) -> dict[str, str]:
    """One picker per canonical field, prefilled from the preset or the name suggestions."""
    chosen = {}
    fields = imports.FIELDS[kind]
    per_column = -(-len(fields) // 4)  # read down each column, then the next
    grid = st.columns(4)
    for index, name in enumerate(fields):
        current = base.get(name, [])
        options = [NONE, *columns]
        picked = grid[index // per_column].selectbox(
            field_label(name), options,
            index=options.index(current[0]) if current else 0,
            key=f"import_map_{kind}_{name}_{upload.file_id}", help=f"Field `{name}`",
        )
        if picked != NONE:
            chosen[name] = picked
    return chosen


def show_errors(errors: list[imports.RowError], key: str) -> None:
    """Row errors as a table, with a CSV download."""
    table = pd.DataFrame([{"line": e.line, "column": e.column, "reason": e.reason}
                          for e in errors])
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 35 * len(table) + 38))
    st.download_button("Download the errors as CSV", imports.errors_csv(errors),
                       file_name="import-errors.csv", key=key)


if upload is not None:
    data = upload.getvalue()
    saved = call(imports.saved_mappings, actor=actor, kind=kind)
    zone = call(imports.default_zone, actor=actor)
    left, middle, right = st.columns(3)
    saved_name = middle.selectbox("Saved mapping", [NONE, *saved], key=f"import_saved_{kind}")
    preset = left.selectbox("Preset", [NONE, *imports.PRESETS], key=f"import_preset_{kind}")
    preset = None if preset == NONE else preset
    if saved_name != NONE:
        preset = saved[saved_name]["preset"]
    tz = right.text_input("Zone of naive timestamps", zone, key="import_tz")
    date_format = left.text_input("Date format (only if needed)", key="import_date_format",
                                  placeholder="%d-%m-%Y").strip() or None
    source = middle.text_input("Source system of the ids", preset or "import",
                               key=f"import_source_{kind}")
    saved_overrides = saved[saved_name]["mapping"] if saved_name != NONE else {}
    try:
        base = call(imports.preview_import, actor=actor, data=data, filename=upload.name,
                    kind=kind, preset=preset, overrides=saved_overrides, tz=tz,
                    date_format=date_format)
        with st.expander("Column mapping", expanded=True, icon=":material/tune:"):
            st.caption("Each canonical field takes one column of the file; columns left "
                       "unmapped go to the lead's attributes.")
            chosen = mapping_editor(base.columns, base.mapping)
        changed = {f: c for f, c in chosen.items() if base.mapping.get(f, [None])[0] != c}
        overrides = {**saved_overrides, **changed} if (preset or saved_overrides) else chosen
        preview = call(imports.preview_import, actor=actor, data=data, filename=upload.name,
                       kind=kind, preset=preset, overrides=overrides, tz=tz,
                       date_format=date_format)
    except imports.FILE_REFUSALS as refusal:
        st.error(f"This file cannot be imported: {literal(refusal)}")  # names its columns
        st.stop()

    for note in preview.notes:
        st.info(literal(note))
    st.subheader("Preview")
    st.caption(f"{preview.read:,} rows read; {preview.rejected:,} would be rejected. "
               "First rows after mapping:")
    st.dataframe(preview.rows, hide_index=True, width="stretch", key="import_preview")
    if preview.errors:
        problems = f"{len(preview.errors):,} problem{'s' if len(preview.errors) != 1 else ''}"
        with st.expander(f"{problems} found", icon=":material/warning:"):
            show_errors(preview.errors, "import_preview_errors")

    save_left, save_right = st.columns([3, 1], vertical_alignment="bottom")
    name = save_left.text_input("Save this mapping as", key=f"import_save_name_{kind}")
    if save_right.button("Save mapping", key=f"import_save_{kind}"):
        run_service(imports.save_mapping, f"Mapping '{name}' saved.", actor=actor, name=name,
                    kind=kind, mapping={f: c for f, c in chosen.items()}, preset=preset)
        st.rerun()

    if st.button(f"Import {preview.read - preview.rejected:,} rows", type="primary",
                 key="import_run"):
        bar = st.progress(0.0, text="Starting")
        service = imports.import_leads if kind == "leads" else imports.import_touches
        summary = run_service(
            service, "Import finished.", actor=actor, data=data, filename=upload.name,
            overrides=overrides, tz=tz, date_format=date_format, source=source, preset=preset,
            progress=lambda fraction, message: bar.progress(fraction, text=message))
        if summary is not None:
            st.session_state["import_last"] = summary
            st.session_state["import_last_months"] = call(
                imports.batch_months, actor=actor, batch_id=summary.batch_id) \
                if summary.batch_id else []
        st.rerun()

if summary := st.session_state.get("import_last"):
    st.subheader("Last import")
    for column, (label, value) in zip(st.columns(5), [
        ("Read", summary.read), ("Inserted", summary.inserted), ("Updated", summary.updated),
        ("Unchanged", summary.unchanged), ("Rejected", summary.rejected)], strict=True):
        column.metric(label, f"{value:,}")
    if summary.batch_id:
        st.caption(f"Batch {summary.batch_id}: `python -m core.cli import undo "
                   f"{summary.batch_id}` reverts it.")
    if summary.errors:
        show_errors(summary.errors, "import_last_errors")
    if months := st.session_state.get("import_last_months"):
        where_the_rows_went(months)

st.subheader("Import history")
batches = call(imports.list_batches, actor=actor)
if not batches:
    st.caption("Nothing imported yet.")
else:
    names, zone = data.people(actor=actor), data.zone(actor=actor)
    counts = {name: st.column_config.NumberColumn(name, format="localized")
              for name in ("Read", "Inserted", "Updated", "Unchanged", "Rejected")}
    st.dataframe(pd.DataFrame({
        "Batch": [b.id for b in batches],  # what `import undo BATCH` takes
        "When": [local_time(b.at, zone) for b in batches],
        "Who": [names.get(b.actor, b.actor) for b in batches],
        "What": [KINDS.get(b.kind, b.kind) for b in batches],
        "File": [b.file_name for b in batches], "Source": [b.source for b in batches],
        "Read": [b.read for b in batches], "Inserted": [b.inserted for b in batches],
        "Updated": [b.updated for b in batches], "Unchanged": [b.unchanged for b in batches],
        "Rejected": [b.rejected for b in batches],
        "SHA-256": [b.file_hash[:12] for b in batches],
    }), hide_index=True, width="stretch", key="import_history", column_config=counts)
