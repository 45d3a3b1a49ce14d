"""Shared fixtures: a private cupsd with a loopback socket sink (tests/cups_harness.py) and the
print server run in-process or as its own process (tests/server_harness.py)."""

pytest_plugins = ["tests.cups_harness", "tests.server_harness"]
