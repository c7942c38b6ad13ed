"""The inbound REST API (FastAPI): thin routes over core.services, like the pages."""
