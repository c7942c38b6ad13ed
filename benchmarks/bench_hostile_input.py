"""Time and peak memory of the inputs that try to make the server work hard.

Every amplification case of the hostile corpus (tests/hostile: billion laughs and other YAML,
zip and XML bombs, huge sheets and CSVs) goes through the service a user reaches (an import,
an SLA upload) in a fresh process over an in-memory SQLite database, as a head of marketing.
The process reports its wall time and peak RSS; "baseline" is the same process handed nothing
(the interpreter with Handoff imported). Each case must stay within 10 s and 500 MB.

    .venv/bin/python benchmarks/bench_hostile_input.py
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile import import_cases, yaml_cases  # noqa: E402

TIME_LIMIT_S, MEMORY_LIMIT_MB = 10, 500
CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine
import db.models
from core import services
from core.agreement import InvalidAgreement
from core.errors import InvalidInput
from core.ingest import FileRefused
from core.permissions import Role
from core.services import agreements, imports

kind, path, filename = sys.argv[1:4]
engine = create_engine("sqlite://", poolclass=StaticPool)
SQLModel.metadata.create_all(engine)
outcome = "nothing"
with Session(engine) as session:
    services.add_user(session=session, actor=services.OPERATOR, username="marco",
                      display_name="Marco", email="marco@example.com",
                      role=Role.MARKETING_HEAD, password="a long password")
    marco = services.get_actor(session=session, username="marco")
    data = open(path, "rb").read() if path != "-" else None
    try:
        if kind == "yaml":
            agreements.import_yaml(session=session, actor=marco, text=data, source=filename)
            outcome = "accepted"
        elif kind == "import":
            summary = imports.import_leads(session=session, actor=marco, data=data,
                                           filename=filename, tz="UTC")
            outcome = f"imported: {summary.rejected:,} rows rejected"
    except (InvalidAgreement, FileRefused, InvalidInput) as error:
        outcome = "refused: " + str(error).splitlines()[0][:110]
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "outcome": outcome}))
"""


def measure(kind: str, content: bytes | None, filename: str) -> dict:
    """Run one case in a fresh process; its report, plus the wall time seen from outside."""
    with tempfile.NamedTemporaryFile(suffix=Path(filename).suffix) as handle:
        path = "-"
        if content is not None:
            handle.write(content)
            handle.flush()
            path = handle.name
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", CHILD, kind, path, filename], cwd=ROOT,
                                capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
    if result.returncode != 0:
        return {"seconds": wall, "peak_mb": float("nan"),
                "outcome": "crashed: " + result.stderr.strip().splitlines()[-1][:100]}
    return {**json.loads(result.stdout), "wall": wall}


def as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def main() -> None:
    cases = [("baseline", "none", None, "nothing")]
    cases += [(name, "yaml", as_bytes(build()), "sla.yaml")
              for name, build in yaml_cases.AMPLIFICATION.items()]
    cases += [(name, "import", build(), import_cases.AMPLIFICATION_FILES.get(name, "leads.csv"))
              for name, build in import_cases.AMPLIFICATION.items()]
    print("| case | input | wall time | peak RSS | outcome |\n|---|---|---|---|---|")
    worst = []
    for name, kind, content, filename in cases:
        size = "" if content is None else f"{len(content) / 1e6:,.2f} MB"
        figures = measure(kind, content, filename)
        within = (figures.get("wall", figures["seconds"]) <= TIME_LIMIT_S
                  and figures["peak_mb"] <= MEMORY_LIMIT_MB)
        worst.append(within or kind == "none")
        print(f"| {name} | {size} | {figures.get('wall', figures['seconds']):.2f} s | "
              f"{figures['peak_mb']:.0f} MB | {figures['outcome']} |", flush=True)
    verdict = "every case" if all(worst) else "NOT every case"
    print(f"\n{verdict} stayed within {TIME_LIMIT_S} s and {MEMORY_LIMIT_MB} MB")


if __name__ == "__main__":
    main()
