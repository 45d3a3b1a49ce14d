"""The CUSTOM\\i Image Display Formats (PS3.3 C.13.3): one TOML file per layout, shipped in
``layouts/`` and optionally in the site's ``[server] layouts`` directory."""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import ValidationError

from printserver.config.errors import describe
from printserver.config.printer import LayoutConfig
from printserver.config.sections import ConfigError

BUILTIN_LAYOUTS = "printserver.layouts"
"""The package the repository's top-level ``layouts/`` is installed as (see pyproject.toml).

Read through importlib.resources, so a server installed from a wheel finds the layouts inside
its own package and an editable install finds them in the checkout.
"""


def builtin_layouts() -> Traversable:
    """The shipped layouts directory; missing only from a broken install, which must not serve."""
    try:
        return resources.files(BUILTIN_LAYOUTS)
    except ModuleNotFoundError:
        raise ConfigError(
            f"the built-in layouts (package {BUILTIN_LAYOUTS}) are not installed; "
            "reinstall printserver"
        ) from None


def custom_layouts(site: Path | None) -> dict[int, LayoutConfig]:
    """The CUSTOM\\i layouts (PS3.3 C.13.3): built-in, then the site's ``[server] layouts``.

    A site file replaces the built-in layout of the same number and adds the others.  A
    configured directory that is missing is an error: without it every film asking for one
    of the site's layouts would be refused while the server looks healthy.
    """
    layouts = load_layouts(builtin_layouts())
    if site is not None:
        if not site.is_dir():
            reason = "not a directory" if site.exists() else "no such directory"
            raise ConfigError(f"server.layouts: {reason}: {site}")
        layouts.update(load_layouts(site))
    return layouts


def load_layouts(directory: Traversable) -> dict[int, LayoutConfig]:
    """Every ``<i>.toml`` of a layouts directory: the CUSTOM\\i Image Display Formats.

    Checked at start-up: a bad file stops the server with a line naming it.  Other files
    (README.md, ``__init__.py``) are not layouts and are left alone.
    """
    try:
        entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot read the layouts: {exc.strerror}") from None
    layouts: dict[int, LayoutConfig] = {}
    for path in entries:
        stem, dot, suffix = path.name.rpartition(".")
        if not dot or suffix != "toml":
            continue
        if not (stem.isascii() and stem.isdigit()) or int(stem) == 0:
            raise ConfigError(f"{path}: a layout file is named by its number from 1, e.g. 1.toml")
        if int(stem) in layouts:
            raise ConfigError(f"{path}: layout {int(stem)} is declared by two files")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            layouts[int(stem)] = LayoutConfig.model_validate(raw)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except ValidationError as exc:
            raise ConfigError(f"{path}: {describe(exc)}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return layouts
