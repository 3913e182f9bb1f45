"""Helpers for the end-to-end tests: a real JupyterLab server and Debian's headless Chromium."""
