"""Shared fixtures: a private cupsd with a loopback socket sink lives in tests/cups_harness.py."""

pytest_plugins = ["tests.cups_harness"]
