"""Every bound on the work one input can cause, in one place (docs/limits.md lists them).

A limit that is reached refuses the input with an error that names the limit; nothing stored
changes. Limits are checked before the expensive step they protect (a zip member's size before
it is inflated, an alias graph before it is expanded).
"""

# --- SLA documents (YAML upload, "Apply YAML", `agreement import`) ---------------------------
YAML_MAX_BYTES = 256 * 1024  # an SLA is a few kilobytes
YAML_MAX_ALIASES = 100  # `*anchor` references in one document
YAML_MAX_DEPTH = 20  # nesting of mappings and lists (an SLA needs 6), aliases expanded
YAML_MAX_NODES = 20_000  # keys, values and items of the document with every alias expanded
# Characters of every key and value with every alias expanded: aliases may save typing, not
# multiply what is validated and stored.
YAML_MAX_EXPANDED_CHARS = 1_000_000
# Any integer in the document. 40, not 15: criteria and filters compare with any integer a lead
# attribute may hold, and the round-trip property test writes 128-bit ones (39 digits); int()
# and base-60 integers stay trivial at this size. Targets have their own maximums below.
YAML_MAX_INTEGER_DIGITS = 40
WITHIN_MAX_SECONDS = 365 * 24 * 3600  # `within` of a commitment: a year of business time
WITHIN_MAX_DAYS = 365  # `within: Nd`
TEXT_MAX_CHARS = 10_000  # descriptions, consequences, comments, dispute notes
TITLE_MAX_CHARS = 200  # agreement titles (the column's width)
ID_MAX_CHARS = 64  # commitment and goal ids: "shared_goals[<id>]" fits comments.clause (120)
ESCALATIONS_MAX = 50  # escalation rules of one document: the worker checks each on every lead
ESCALATION_RECIPIENTS_MAX = 20  # `notify` entries of one escalation rule
TEAM_MAX_CHARS = 64  # a team an escalation names (`team:<name>`): the width of users.team
# A key, or the lead field a criterion or a filter names (a column name, as HEADER_MAX_CHARS).
# Every error below a key repeats it: 12,000 errors under a 130,000-character key took 12 GB.
KEY_MAX_CHARS = 200
COUNT_TARGET_MAX = 1_000_000_000  # volume targets, attempts, won-count and SQL-count goals
MONEY_MAX = 1_000_000_000_000  # money targets and lead amounts: a trillion
# The goal planner: a revenue goal is an amount (up to MONEY_MAX); below these, the funnel it
# computes grows past any real company (a rate of 1e-300 asked for 10^300 MQLs).
PLAN_RATE_MIN = 0.001  # a stage-to-stage conversion rate
PLAN_AVG_WON_MIN = 0.01  # the average won amount: a cent
# Dates of the document: clocks and reports work in nanoseconds since 1970 (pandas: 1677-2262).
DATE_FIRST_YEAR = 1900
DATE_LAST_YEAR = 2199
# A draft's working copy, kept in the database on every edit (core.services.working_copies): the
# document as compact JSON. Twice YAML_MAX_BYTES: JSON quotes and escapes what YAML need not, and
# a document the YAML limit lets in must fit.
WORKING_COPY_MAX_BYTES = 2 * YAML_MAX_BYTES

# --- lead and touch files (Import page, `import leads|touches`) ------------------------------
FILE_MAX_BYTES = 512 * 1024 * 1024
MAX_COLUMNS = 500
CSV_MAX_ROWS = 2_000_000
# openpyxl reads about 45,000 cells a second here (2-core machine, defusedxml's pure-Python
# parser): 200,000 rows of 10 columns take about 45 s. Larger sheets: save as CSV.
XLSX_MAX_ROWS = 200_000
# Cells of the first sheet: bounds the time a small, highly compressed workbook can cost, which
# neither the row nor the column limit does (200,000 rows of 500 empty cells).
XLSX_MAX_CELLS = 2_000_000
CELL_MAX_CHARS = 10_000
HEADER_MAX_CHARS = 200  # one column name
XLSX_MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024  # all members of the workbook, inflated
XLSX_MAX_SHARED_STRINGS = 2_000_000
SCORE_MAX_ABS = 1_000_000_000
# Rows given as values (a REST API batch, a connector's page): one transaction each
ROWS_MAX_PER_BATCH = 10_000

# --- the REST API (api/) ---------------------------------------------------------------------
# A request body: 10,000 rows of a few hundred bytes each, with room to spare
API_BODY_MAX_BYTES = 8 * 1024 * 1024

# Widths of the stored text fields: checked as row errors before the database sees a value
# (PostgreSQL would abort the whole import; SQLite would store it silently). They are the
# widths of db.models' columns (tests/unit/test_limits.py keeps them equal).
LEAD_FIELD_MAX_CHARS = {
    "source": 64, "external_id": 128, "rejection_reason": 64, "owner": 64, "channel": 64,
    "segment": 64, "region": 64, "country": 64, "company": 200, "name": 200, "email": 254,
}
TOUCH_FIELD_MAX_CHARS = {"lead_external_id": 128, "rep": 64}
