"""The package's layout: what it exports is what a reader needs to call it."""

from __future__ import annotations

import inspect
import typing

import mlnotes


def _mlnotes_classes(annotation: object) -> set[type]:
    """The public mlnotes classes named anywhere in a type annotation (inside unions, generics, ...)."""
    found = set()
    if inspect.isclass(annotation) and annotation.__module__.startswith("mlnotes"):
        if not annotation.__name__.startswith("_"):
            found.add(annotation)
    for arg in typing.get_args(annotation):
        found |= _mlnotes_classes(arg)
    return found


def _annotated(obj: object) -> list[object]:
    """The functions whose signatures a caller of ``obj`` meets: itself, or a class's public methods."""
    if not inspect.isclass(obj):
        return [obj]
    members = [obj.__init__] if "__init__" in vars(obj) else []
    for name, member in vars(obj).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            member = member.fget
        elif isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if inspect.isfunction(member):
            members.append(member)
    return members


def test_the_package_exports_every_type_its_public_functions_take_and_return():
    missing = {}
    for name in mlnotes.__all__:
        for fn in _annotated(getattr(mlnotes, name)):
            hints = typing.get_type_hints(fn)
            for cls in set().union(*map(_mlnotes_classes, hints.values())):
                if getattr(mlnotes, cls.__name__, None) is not cls:
                    missing.setdefault(cls.__qualname__, set()).add(f"{name}.{fn.__name__}")
    assert not missing, f"add to mlnotes.__all__ (and import in mlnotes/__init__.py): {missing}"
