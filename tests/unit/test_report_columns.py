"""A report reads only the lead columns it measures, plus every column an agreement names: a
field that is not a column would otherwise be looked up in the attributes instead."""

from datetime import date

from core import agreement as sla
from core.services import measurement


def document_naming(field: str, filter_key: str) -> sla.Document:
    data = sla.to_dict(sla.template(title="Named fields", start=date(2026, 1, 1),
                                    end=date(2027, 1, 1)))
    data["stages"]["mql"]["criteria"].append({"field": field, "op": "==", "value": "x"})
    volume = next(c for c in data["commitments"] if c["kind"] == "volume")
    volume["filter"] = {filter_key: "DE"}
    return sla.from_dict(data)


def test_the_columns_an_agreement_names_are_read_for_its_report():
    columns = measurement.report_columns([document_naming("company", "country")])
    assert {"company", "country"} <= set(columns)
    assert set(columns) <= set(measurement.LEAD_COLUMNS)
    assert "email" not in columns and "external_id" not in columns


def test_an_attribute_name_adds_no_column():
    columns = measurement.report_columns([document_naming("industry", "plan")])
    assert columns == measurement.REPORT_COLUMNS
