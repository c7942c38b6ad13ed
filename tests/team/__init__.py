"""The team deployment: app replicas and workers over PostgreSQL and Redis behind HAProxy."""
