"""Register :class:`~pyrun_docs.config.PyrunConfig` fields as flat ``pyrun_*`` Sphinx values."""

from __future__ import annotations

from dataclasses import MISSING, fields

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from pyrun_docs.config import PyrunConfig, conf_py_settings, example_paths

logger = logging.getLogger(__name__)

PREFIX = "pyrun_"


#: settings Sphinx itself has (``trim_doctest_flags``): read from there, no ``pyrun_`` copy
SPHINX_OWN = frozenset({"trim_doctest_flags"})
#: what the host decides, not a setting: a Sphinx site's transcripts run as sphinx.ext.doctest's
NOT_SETTINGS = frozenset({"doctest_main"})


def register(app: Sphinx) -> None:
    for f in fields(PyrunConfig):
        if f.name in SPHINX_OWN or f.name in NOT_SETTINGS:
            continue
        default = f.default if f.default is not MISSING else None
        if isinstance(default, tuple):  # conf.py writes lists; Sphinx warns on a type change
            default = list(default)
        app.add_config_value(PREFIX + f.name, default, "env")


def on_config_inited(app: Sphinx, config: Config) -> None:
    """Validate early; a bad ``pyrun_*`` value is a ``pyrun.config`` warning and its default is used.

    (Raising ``ConfigError`` from an extension makes Sphinx print a traceback, which is exactly
    what an author with a typo should not see.)
    """
    values = _values(app, config)
    pyrun_config, errors = PyrunConfig.from_mapping_lenient(values, prefix=PREFIX)
    for err in errors:
        logger.warning(f"pyrun: {err.message} (in conf.py)", type="pyrun", subtype="config")
    app.pyrun_config = pyrun_config  # type: ignore[attr-defined]


def get_config(app: Sphinx) -> PyrunConfig:
    cached = getattr(app, "pyrun_config", None)
    if isinstance(cached, PyrunConfig):
        return cached
    return PyrunConfig.from_mapping_lenient(_values(app, app.config), prefix=PREFIX)[0]


def _values(app: Sphinx, config: Config) -> dict[str, object]:
    """The ``pyrun_*`` values; with ``sphinx.ext.doctest`` loaded, its ``doctest_default_flags``
    judge transcripts (so the check and ``sphinx-build -b doctest`` use the same flags)."""
    values = {
        f.name: getattr(config, f.name if f.name in SPHINX_OWN else PREFIX + f.name)
        for f in fields(PyrunConfig)
        if f.name not in NOT_SETTINGS
    }
    doctest = "sphinx.ext.doctest" in app.extensions
    if doctest:
        values["doctest_flags"] = config.doctest_default_flags
    values["path"] = example_paths(
        values["path"], config.doctest_path if doctest else None, app.confdir
    )
    # a misspelt one (``pyrun_chek = "error"``) was ignored in silence: reported as unknown
    known = {f.name for f in fields(PyrunConfig)}
    found = conf_py_settings(getattr(config, "_raw_config", {}))
    values.update({name: value for name, value in found.items() if name not in known})
    return values
