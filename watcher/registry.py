"""Find adapters: every module in the `sources` package, then the `watcher.sources` entry points.

A duplicate adapter name stops start-up and names both modules.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType

from watcher.adapter import SourceAdapter
from watcher.errors import WatcherError

__all__ = ["AdapterRegistry", "load_registry"]

AnyAdapter = type[SourceAdapter]  # type: ignore[type-arg]


@dataclass(frozen=True)
class AdapterRegistry:
    adapters: dict[str, AnyAdapter]
    origins: dict[str, str]  # adapter name -> module it came from

    def get(self, name: str) -> AnyAdapter:
        try:
            return self.adapters[name]
        except KeyError:
            known = ", ".join(sorted(self.adapters))
            raise WatcherError(f"unknown adapter {name!r}; known adapters: {known}") from None

    def names(self) -> list[str]:
        return sorted(self.adapters)


def _adapters_in(module: ModuleType) -> list[AnyAdapter]:
    found = []
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(obj, SourceAdapter)
            and obj.__module__ == module.__name__
            and not inspect.isabstract(obj)
            and "name" in obj.__dict__
        ):
            found.append(obj)
    return found


def _add(registry: AdapterRegistry, adapter: AnyAdapter, origin: str) -> None:
    name = adapter.name
    if name in registry.adapters:
        raise WatcherError(
            f"two adapters are named {name!r}: {registry.origins[name]} and {origin}; rename one"
        )
    registry.adapters[name] = adapter
    registry.origins[name] = origin


_cache: AdapterRegistry | None = None


def load_registry(*, refresh: bool = False) -> AdapterRegistry:
    """Scan `sources/` and the `watcher.sources` entry-point group (cached after the first call)."""
    global _cache
    if _cache is not None and not refresh:
        return _cache
    registry = AdapterRegistry({}, {})
    import sources

    for info in sorted(pkgutil.iter_modules(sources.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"sources.{info.name}")
        for adapter in _adapters_in(module):
            _add(registry, adapter, module.__name__)
    for ep in entry_points(group="watcher.sources"):
        loaded = ep.load()
        candidates = _adapters_in(loaded) if inspect.ismodule(loaded) else [loaded]
        for adapter in candidates:
            _add(registry, adapter, f"{ep.value} (entry point {ep.name})")
    _cache = registry
    return registry
