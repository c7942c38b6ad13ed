"""The pages measure a period on the columns measuring needs (measurement.page_columns); the
names and companies a drill-down lists are read for the leads it lists, and match a full read."""

import pandas as pd
from sqlmodel import Session

from core import agreement as sla
from core.services import agreements, measurement
from tests.service.test_fresh_rows import AS_OF, world  # noqa: F401  (a fixture)


def test_a_drill_down_reads_the_columns_the_measured_rows_leave_out(world):  # noqa: F811
    engine, people = world
    sofia = people["sofia"]
    with Session(engine) as session:
        scope = measurement.scope(session=session, actor=sofia, period="2026-03", as_of=AS_OF)
        columns = measurement.page_columns(session=session, agreement_id=scope.agreement_id)
        assert "name" not in columns and "external_id" not in columns
        lean = measurement.RowCache().rows(session, scope.period, columns=columns)
        full = measurement.read_rows(session, scope.period)
        assert set(lean.leads.columns) < set(full.leads.columns)
        measured = measurement.evaluate(scope, lean)
        assert measured.report() == measurement.evaluate(scope, full).report()
        shown = measurement.leads_behind(session=session, actor=sofia, evaluation=measured,
                                         chart="volume", pick={"day": "2026-03-02"})
        expected = measurement.leads_behind(session=session, actor=sofia,
                                            evaluation=measurement.evaluate(scope, full),
                                            chart="volume", pick={"day": "2026-03-02"})
    assert len(shown) > 0 and shown.attrs["total"] == expected.attrs["total"]
    pd.testing.assert_frame_equal(shown, expected)
    assert shown["external_id"].str.startswith("L").all()


def test_columns_a_version_names_are_measured(world):  # noqa: F811
    """A criterion on a column outside REPORT_COLUMNS (here: country) keeps it in the rows."""
    engine, people = world
    with Session(engine) as session:
        scope = measurement.scope(session=session, actor=people["sofia"], period="2026-03",
                                  as_of=AS_OF)
        version = scope.versions[-1].document
        assert "country" not in measurement.page_columns(session=session,
                                                         agreement_id=scope.agreement_id)
        data = sla.to_dict(version)
        data["stages"]["mql"]["criteria"] = [{"field": "country", "op": "==", "value": "DE"}]
        agreements.new_version(session=session, actor=people["sofia"],
                               agreement_id=scope.agreement_id, document=sla.from_dict(data))
        session.commit()
        assert "country" in measurement.page_columns(session=session,
                                                     agreement_id=scope.agreement_id)
