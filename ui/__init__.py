"""Streamlit helpers shared by the pages: login wiring, navigation, widgets."""
