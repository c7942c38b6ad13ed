"""Running Handoff as a team: several replicas and workers behind a proxy (deploy.team)."""
