"""The built-in CUSTOM\\i layouts, installed as the package ``printserver.layouts``.

A package (not a bare data directory) so that both a wheel and an editable install let
``importlib.resources`` find the ``<i>.toml`` files beside this one; see pyproject.toml.
"""
