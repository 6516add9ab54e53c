"""Put an interpreter back the way it was before a page ran, or say why that cannot be done.

Loaded *inside* Pyodide by the check harness (as the module ``pyrun_isolation``, beside the
executor), so it is standard library only and importable on its own; it is plain CPython too, which
is how it is unit-tested.

Why: a fresh interpreter per page (a memory-snapshot restore) costs ~0.3-1 s, which for 50 pages
dwarfs running 500 snippets (~1 ms each). So after a page the harness asks :meth:`Baseline.restore`
to undo what the page did to the shared interpreter: modules it imported are forgotten, module and
class attributes it replaced are put back (``json.dumps = ...``, ``builtins.print = ...``), and
``os.environ``, the working directory, ``sys.path`` and friends, hooks, warning filters, the
recursion limit, ``decimal`` and ``logging`` settings and the files it created are restored;
``random`` is reseeded. What cannot be undone safely is *reported*, and the harness then gives the
next page a freshly restored interpreter instead: a file that existed before and was changed or
deleted, a module imported from outside the standard library (a package, a C extension, a file the
page wrote), and a class attribute that cannot be set back. Objects of the standard library mutated
in place (rather than replaced) are not compared; ``docs/check.rst`` says so.
"""

from __future__ import annotations

import gc
import linecache
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any

#: where Pyodide keeps the standard library; modules from elsewhere make an interpreter "dirty"
STDLIB_PREFIXES = ("/lib/python3", "<frozen")
_SKIP_DIRS = ("/dev", "/proc", "/sys")
_SYS_LISTS = ("path", "meta_path", "path_hooks", "argv", "warnoptions")
_SYS_HOOKS = (
    "displayhook",
    "excepthook",
    "unraisablehook",
    "breakpointhook",
    "stdin",
    "stdout",
    "stderr",
)
_MISSING = object()


def _files(roots: tuple[str, ...]) -> dict[str, tuple[float, int]]:
    """``{path: (mtime, size)}`` of every file and folder under *roots*."""
    found: dict[str, tuple[float, int]] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in _SKIP_DIRS]
            for name in dirs + files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                found[path] = (info.st_mtime, info.st_size if name in files else -1)
    return found


def _is_abc(cls: type) -> bool:
    import abc

    return isinstance(cls, abc.ABCMeta) and hasattr(cls, "_abc_registry_clear")


def _registered(cls: type) -> set[type]:
    """The classes registered with the abstract base class *cls* (``register``)."""
    import abc

    refs = abc._get_dump(cls)[0]  # type: ignore[attr-defined]  # (registry, cache, ...): weakrefs
    return {found for found in (ref() for ref in refs) if found is not None}


def _heap_classes(modules: dict[str, Any]) -> list[type]:
    """Classes defined in Python or extension heap types: the ones whose attributes can change."""
    seen: set[int] = set()
    classes: list[type] = []
    for module in modules.values():
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, type) and id(value) not in seen:
                seen.add(id(value))
                if not value.__flags__ & (1 << 8):  # Py_TPFLAGS_IMMUTABLETYPE
                    classes.append(value)
    return classes


class Baseline:
    """The interpreter's state when it was fresh; :meth:`restore` returns to it."""

    def __init__(self, roots: tuple[str, ...] = ("/",)) -> None:
        self.roots = roots
        self.modules = dict(sys.modules)
        self.dicts = [
            (module.__dict__, dict(module.__dict__))
            for module in self.modules.values()
            if isinstance(getattr(module, "__dict__", None), dict)
        ]
        self.classes = [(cls, dict(cls.__dict__)) for cls in _heap_classes(self.modules)]
        #: each abstract base class with the classes registered with it
        self.abcs = [(cls, _registered(cls)) for cls, _ in self.classes if _is_abc(cls)]
        #: set by :meth:`watch_targets`: address -> (is a class, index in classes or dicts)
        self._targets: dict[int, tuple[bool, int]] | None = None
        self._unwatched: list[int] = []
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.lists = {name: list(getattr(sys, name, [])) for name in _SYS_LISTS}
        self.hooks = {name: getattr(sys, name, None) for name in _SYS_HOOKS}
        self.importer_cache = dict(sys.path_importer_cache)
        self.recursion = sys.getrecursionlimit()
        self.digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
        self.filters = list(warnings.filters)
        self.trace = (sys.gettrace(), sys.getprofile())
        self.gc_enabled = gc.isenabled()
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.files = _files(roots)
        decimal = sys.modules.get("decimal")
        self.decimal = decimal.getcontext().copy() if decimal is not None else None
        logging = sys.modules.get("logging")
        self.logging = None
        if logging is not None:
            root = logging.root
            self.logging = (root.handlers[:], root.level, set(root.manager.loggerDict))
        # The fresh interpreter's objects live as long as it does: keep the garbage collector from
        # walking them again and again while snippets run (pages pay ~0.5 ms a snippet, not ~3).
        gc.freeze()

    def watch_targets(self) -> list[int]:
        """The addresses (``id``) of the namespaces :meth:`restore` compares: each module's dict
        and each class's own dict (behind its read-only ``__dict__`` proxy).

        The harness watches these dicts with CPython's dict watchers (3.12 and newer, from
        JavaScript, so no Python runs inside a dict operation) and tells :meth:`restore` which
        ones changed: comparing all ~1,200 of them with their saved copies was ~4 ms of a page's
        ~4.5 ms reset. A class whose own dict cannot be found is compared after every page."""
        if self._targets is None:
            targets: dict[int, tuple[bool, int]] = {}
            unwatched: list[int] = []
            for index, (namespace, _) in enumerate(self.dicts):
                targets[id(namespace)] = (False, index)
            for index, (cls, _) in enumerate(self.classes):
                own = gc.get_referents(cls.__dict__)  # a mappingproxy refers to its dict only
                if len(own) == 1 and type(own[0]) is dict:
                    targets[id(own[0])] = (True, index)
                else:
                    unwatched.append(index)
            self._targets, self._unwatched = targets, unwatched
        return list(self._targets)

    def restore(self, files: bool = True, changed: Iterable[int] | None = None) -> list[str]:
        """Undo what ran since the baseline; return what could not be undone (empty: clean).

        *files*: whether the files may have changed (the harness knows when nothing wrote any,
        and the walk of the whole file system is then skipped). *changed*: the addresses, among
        :meth:`watch_targets`, of the namespaces that may have changed (the others are known to
        be as saved and are not compared); None compares them all."""
        problems: list[str] = []
        self._modules(problems)
        namespaces, classes = self._suspects(changed)
        for namespace, saved in namespaces:
            if _changed(namespace, saved):
                _restore_dict(namespace, saved)
        for cls, saved in classes:
            if _changed(cls.__dict__, saved):
                self._class(cls, saved, problems)
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        try:
            os.chdir(self.cwd)
        except OSError as exc:
            problems.append(f"cannot return to {self.cwd}: {exc}")
        for name, items in self.lists.items():
            if hasattr(sys, name):
                getattr(sys, name)[:] = items
        for name, value in self.hooks.items():
            setattr(sys, name, value)
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(self.importer_cache)
        sys.setrecursionlimit(self.recursion)
        if self.digits:
            sys.set_int_max_str_digits(self.digits)
        warnings.filters[:] = self.filters  # type: ignore[index]
        getattr(warnings, "_filters_mutated", lambda: None)()
        sys.settrace(self.trace[0])
        sys.setprofile(self.trace[1])
        (gc.enable if self.gc_enabled else gc.disable)()
        self._settings()
        self._abcs()
        if files:
            self._files(problems)
        for key in [k for k in linecache.cache if k.startswith("<example")]:
            del linecache.cache[key]
        random = sys.modules.get("random")
        if random is not None:
            random.seed()
        gc.collect(1)  # the page's young cycles: their finalizers run now, not in the next page
        return problems

    def _suspects(
        self, changed: Iterable[int] | None
    ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[tuple[type, dict[str, Any]]]]:
        """The module namespaces and classes to compare: all, or those whose dicts are among the
        *changed* addresses (in the baseline's order) and the classes that cannot be watched."""
        if changed is None or self._targets is None:
            return self.dicts, self.classes
        found = sorted(self._targets[a] for a in set(changed) if a in self._targets)
        namespaces = [self.dicts[index] for is_class, index in found if not is_class]
        picked = sorted({index for is_class, index in found if is_class} | set(self._unwatched))
        return namespaces, [self.classes[index] for index in picked]

    def _modules(self, problems: list[str]) -> None:
        for name in list(sys.modules):
            if name in self.modules:
                continue
            module = sys.modules.pop(name)
            origin = str(getattr(module, "__file__", None) or "")
            if origin and not origin.startswith(STDLIB_PREFIXES):
                problems.append(f"module {name} was imported from {origin}")

        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module

    def _class(self, cls: type, saved: dict[str, Any], problems: list[str]) -> None:
        current = cls.__dict__
        try:
            for key in [k for k in current if k not in saved]:
                delattr(cls, key)
            for key, value in saved.items():
                if current.get(key, _MISSING) is not value:
                    setattr(cls, key, value)
        except (AttributeError, TypeError) as exc:
            problems.append(f"cannot restore {cls.__qualname__}: {exc}")

    def _abcs(self) -> None:
        """The abstract base classes as they were: what a page registered with one forgotten,
        and their caches of subclass answers emptied (they held the page's classes: a later page
        importing pure-Python zope.interface again found its predecessor's declarations through
        ``MutableSequence``'s cache and hit a RecursionError, 23 of zope.component's examples)."""
        for cls, registered in self.abcs:
            if _registered(cls) != registered:
                cls._abc_registry_clear()  # type: ignore[attr-defined]
                for subclass in registered:
                    cls.register(subclass)  # type: ignore[attr-defined]
            cls._abc_caches_clear()  # type: ignore[attr-defined]

    def _settings(self) -> None:
        # process-wide settings a module keeps in C: its module forgotten, they stayed (the
        # next page's files were made with the umask, its sockets timed out, as the page set)
        os.umask(self.umask)
        sockets = sys.modules.get("_socket")
        if sockets is not None:
            sockets.setdefaulttimeout(None)
        decimal = sys.modules.get("decimal")
        if decimal is not None and self.decimal is not None:
            decimal.setcontext(self.decimal.copy())
        logging = sys.modules.get("logging")
        if logging is not None and self.logging is not None:
            handlers, level, names = self.logging
            root = logging.root
            root.handlers[:] = handlers
            root.setLevel(level)
            for name in [n for n in root.manager.loggerDict if n not in names]:
                del root.manager.loggerDict[name]

    def _files(self, problems: list[str]) -> None:
        now = _files(self.roots)
        for path in sorted((p for p in now if p not in self.files), reverse=True):
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.remove(path)
            except OSError as exc:
                problems.append(f"cannot remove {path}: {exc}")
        for path, stamp in self.files.items():
            current = now.get(path)
            if current is None:
                problems.append(f"{path} was deleted")
            elif stamp[1] >= 0 and current != stamp:
                problems.append(f"{path} was changed")


#: the baseline made just before the interpreter's memory was snapshotted (:func:`keep_baseline`)
_kept: Baseline | None = None


def keep_baseline(roots: tuple[str, ...] = ("/",)) -> None:
    """Make the baseline now, just before the interpreter's memory is snapshotted.

    Every interpreter restored from that snapshot starts in exactly this state, so it can take the
    kept baseline (:func:`fresh_baseline`) instead of copying ~1,100 namespaces again: making one
    is ~0.1 s of a restore's ~0.5 s, paid by every fresh interpreter (the first page's, and each
    after a page that loaded packages). The caller must leave the interpreter as a restore does
    (the harness runs the same reseeding code first).
    """
    global _kept
    _kept = None  # not part of the state the baseline saves
    _kept = Baseline(roots)


def fresh_baseline(kept: bool, roots: tuple[str, ...] = ("/",)) -> Baseline:
    """The baseline of a freshly restored interpreter: the kept one when *kept* (nothing ran since
    the restore but what the snapshot's maker also ran), with the files stamped again (a memory
    snapshot holds no files: they were written back after the restore); else a new one."""
    global _kept
    baseline, _kept = _kept, None
    if baseline is None or not kept:
        return Baseline(roots)
    baseline.files = _files(baseline.roots)
    return baseline


def keep_compiled_stdlib() -> None:
    """Compile each standard-library module once per interpreter, not once per page (and read
    each installed module's bytecode once: :func:`_keep_installed_code`).

    Pyodide's standard library is a zip of sources, so importing a module compiles it, and pages
    forget the modules they imported (:meth:`Baseline.restore`): a project importing
    ``urllib.parse`` paid ~0.1 s for compiling it again on every page. The compiled code of each
    source is kept (code objects are immutable; each import still executes it into a new module),
    so every page still imports its own fresh modules. Idempotent.
    """
    import zipimport

    original = getattr(zipimport, "_compile_source", None)
    if original is None or getattr(original, "keeps_compiled", False):
        return
    kept: dict[tuple[str, int], Any] = {}

    def compile_once(pathname: str, source: bytes) -> Any:
        key = (pathname, hash(source))
        code = kept.get(key)
        if code is None:
            code = kept[key] = original(pathname, source)
        return code

    compile_once.keeps_compiled = True  # type: ignore[attr-defined]
    zipimport._compile_source = compile_once  # type: ignore[attr-defined]
    _keep_installed_code()


def _keep_installed_code() -> None:
    """Read each installed module's bytecode once per interpreter, not once per page.

    A page importing the project reads, checks and unmarshals every module's ``.pyc`` again (about
    a third of importing a small package in Pyodide). The code object read is kept, by the
    source's path, time and size, for files under a ``site-packages`` folder (installed, never
    written by pages: a changed file there makes the harness discard the interpreter anyway); each
    import still executes it into a new module. Part of the snapshot's baseline, as is the zip's.
    """
    from importlib import machinery

    loader = machinery.SourceFileLoader
    original = loader.get_code
    if getattr(original, "keeps_compiled", False):
        return
    kept: dict[tuple[str, int, int], Any] = {}

    def get_code(self: Any, fullname: str) -> Any:
        path = self.get_filename(fullname)
        try:
            info = os.stat(path) if "/site-packages/" in path else None
        except OSError:
            info = None
        if info is None:
            return original(self, fullname)
        key = (path, info.st_mtime_ns, info.st_size)
        code = kept.get(key)
        if code is None:
            code = original(self, fullname)
            if code is not None:
                kept[key] = code
        return code

    get_code.keeps_compiled = True  # type: ignore[attr-defined]
    loader.get_code = get_code  # type: ignore[method-assign]


def stdlib_imported_since(baseline: Baseline) -> list[str]:
    """The standard-library modules imported since *baseline*, in the order they were imported.

    The installed snapshot's maker imports the site's packages once (:func:`keep_compiled_stdlib`
    then has their code); the standard-library modules they pulled in are then imported again on
    their own and stay in the snapshot, so a page importing the project executes only the
    project's modules, not ``urllib.parse`` or ``ipaddress`` again (~6 ms a page for a project
    on ``mdurl``). Those modules are then part of every page's baseline, like ``json``: restored
    after each page the same way. Packages (``site-packages``) and anything else stay out.
    """
    import sysconfig

    roots = tuple(
        os.path.join(path, "")
        for path in {*(p for p in sys.path if p.endswith(".zip")), sysconfig.get_paths()["stdlib"]}
    )
    installed = tuple(
        os.path.join(sysconfig.get_paths()[key], "") for key in ("purelib", "platlib")
    )
    found = []
    for name, module in list(sys.modules.items()):
        if name in baseline.modules:
            continue
        origin = str(getattr(getattr(module, "__spec__", None), "origin", None) or "")
        if origin in ("built-in", "frozen") or (
            origin.startswith(roots) and not origin.startswith(installed)
        ):
            found.append(name)
    return found


def _changed(namespace: Any, saved: dict[str, Any]) -> bool:
    """Whether a module's or class's namespace differs from its saved copy.

    A dict comparison runs in C and, for each key, first compares identities, so an untouched
    namespace costs one hash lookup per name (~1.5 ms for the ~900 namespaces of a fresh
    interpreter, against ~9 ms for building identity tuples). A value replaced by an *equal* object
    counts as unchanged, which is harmless; a value whose ``==`` fails counts as changed.
    """
    try:
        return bool(namespace != saved)
    except Exception:
        return True


def _restore_dict(current: dict[str, Any], saved: dict[str, Any]) -> None:
    for key in [k for k in current if k not in saved]:
        del current[key]
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            current[key] = value
