"""In a real browser: upload a CRM export, check the mapping preview, import it, see the counts."""

from core.demo import DEMO_PASSWORD
from tests.browser.conftest import log_in
from tests.browser.serving import settle

EXPORT = (
    "mql_id,first_contact_date,landing_page_id,origin\r\n"
    "web-001,01-02-2018,lp1,social\r\n"
    "web-002,20-10-2017,lp2,paid_search\r\n"
    ",21-10-2017,lp3,email\r\n"
)


def test_a_marketer_imports_a_file_and_sees_the_counts(page, app_url, tmp_path):
    export = tmp_path / "olist_mqls.csv"
    export.write_text(EXPORT, encoding="utf-8-sig")
    log_in(page, f"{app_url}/import", "mia", DEMO_PASSWORD)
    # log_in settles the page (the login's cookie write reruns it once more): an upload during
    # that rerun could be dropped.
    page.get_by_role("heading", name="Import", exact=True).wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(export))
    page.get_by_text("first_contact_date: read as day-first").wait_for()
    page.get_by_text("3 rows read; 1 would be rejected").wait_for()
    page.get_by_role("button", name="Import 2 rows").click()
    page.get_by_role("heading", name="Last import").wait_for()
    page.locator('[data-testid="stMetric"]').nth(4).wait_for()
    settle(page)
    page.screenshot(path=str(tmp_path / "import.png"), full_page=True)
    metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
    assert [m.split("\n")[0] for m in metrics] == ["Read", "Inserted", "Updated", "Unchanged",
                                                   "Rejected"]
    assert [m.split("\n")[-1] for m in metrics] == ["3", "2", "0", "0", "1"]
    page.get_by_text("olist_mqls.csv").first.wait_for()
