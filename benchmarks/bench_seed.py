"""How long the first `make run` spends on migrations and the demo seed (SQLite file database).

Usage: python benchmarks/bench_seed.py [LEADS ...]     (default: 12000 100000)
Prints wall time and peak memory (RSS) per step; not part of `make test`.
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(label: str, step) -> None:
    """Run one step and print its wall time."""
    started = time.perf_counter()
    result = step()
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<34} {elapsed:8.2f} s   peak RSS so far {peak_mb:7.0f} MB   {result or ''}")


def main(sizes: list[int]) -> None:
    """Migrate and seed a fresh database per size."""
    from db import migrate
    from db.engine import get_session

    for leads in sizes:
        with tempfile.TemporaryDirectory() as workdir:
            os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.db"
            measure("db upgrade (empty database)", migrate.upgrade)

            def seed(leads=leads):
                from core.demo import seed_demo

                with get_session() as session:
                    summary = seed_demo(session, leads=leads)
                return f"{summary.leads_added:,} leads, {summary.touches_added:,} touches"

            measure(f"demo seed --leads {leads}", seed)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [12_000, 100_000])
