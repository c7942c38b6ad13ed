"""Handoff domain logic. Never imports streamlit."""
