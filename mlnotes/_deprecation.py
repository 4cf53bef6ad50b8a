"""Old names kept for one release: each use warns once per call site and gives the new name's value."""

from __future__ import annotations

import warnings
from collections.abc import Callable


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """A ``DeprecationWarning`` saying that ``old`` is now ``new``, pointed at the caller's caller."""
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=stacklevel)


def renamed_attribute(cls_name: str, old: str, new: str) -> property:
    """A read-only property ``old`` that warns and returns the attribute ``new``."""

    def get(self: object) -> object:
        warn_renamed(f"{cls_name}.{old}", new)
        return getattr(self, new)

    return property(get, doc=f"Deprecated: ``{new}``.")


def module_getattr(module: str, renamed: dict[str, tuple[str, object]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for names in ``renamed`` (old name: (new name, object))."""

    def __getattr__(name: str) -> object:
        if name in renamed:
            new, value = renamed[name]
            warn_renamed(name, new)
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
