"""The limits the importer checks are the widths the database has (core.limits ↔ db.models)."""

import pytest

from core import limits
from db.models import Lead, Touch

WIDTHS = [(Lead, field, width) for field, width in limits.LEAD_FIELD_MAX_CHARS.items()] + [
    (Touch, "rep", limits.TOUCH_FIELD_MAX_CHARS["rep"]),
    (Lead, "external_id", limits.TOUCH_FIELD_MAX_CHARS["lead_external_id"]),
]


@pytest.mark.parametrize(("model", "field", "width"), WIDTHS,
                         ids=[f"{m.__tablename__}.{f}" for m, f, _ in WIDTHS])
def test_each_checked_width_is_the_columns_width(model, field, width):
    assert model.__table__.c[field].type.length == width
