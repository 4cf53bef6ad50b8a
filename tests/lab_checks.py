"""How a lab reports its checks: lines ``<what was checked>: True`` (several values separated by spaces
allowed), read from what its cells printed."""

import re

CHECK = re.compile(r"^(?P<what>[^:\n]+): (?P<values>(?:True|False)(?: (?:True|False))*)$", re.M)


def checks_and_failures(printed: str) -> tuple[list[str], list[str]]:
    """Every check line in ``printed``, and those among them that are not all ``True``."""
    found = list(CHECK.finditer(printed))
    return [m.group(0) for m in found], [m.group(0) for m in found if "False" in m["values"]]
