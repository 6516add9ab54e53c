"""Register :class:`~pyrun_docs.config.PyrunConfig` fields as flat ``pyrun_*`` Sphinx values."""

from __future__ import annotations

from dataclasses import MISSING, fields

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError

PREFIX = "pyrun_"


def register(app: Sphinx) -> None:
    for f in fields(PyrunConfig):
        default = f.default if f.default is not MISSING else None
        app.add_config_value(PREFIX + f.name, default, "env")


def build(config: Config) -> PyrunConfig:
    values = {f.name: getattr(config, PREFIX + f.name) for f in fields(PyrunConfig)}
    return PyrunConfig.from_mapping(values, prefix=PREFIX)


def on_config_inited(app: Sphinx, config: Config) -> None:
    """Validate early: a bad ``pyrun_*`` value stops the build with one clear sentence."""
    try:
        app.pyrun_config = build(config)  # type: ignore[attr-defined]
    except PyrunError as exc:
        raise ConfigError(f"pyrun-docs: {exc.message} (in conf.py)") from None


def get_config(app: Sphinx) -> PyrunConfig:
    cached = getattr(app, "pyrun_config", None)
    return cached if isinstance(cached, PyrunConfig) else build(app.config)
