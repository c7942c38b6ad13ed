"""The team deployment: several app replicas and workers over PostgreSQL and Redis behind HAProxy."""
