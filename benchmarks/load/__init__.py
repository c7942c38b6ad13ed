"""The load test (issue 17): a client of Streamlit's websocket protocol and the locust users
that drive Handoff's pages and REST API with it (README.md)."""
