"""What each interactive figure must draw, computed by the mlnotes package (tests/test_widgets.py).

One module per widget, named after it (``error-surface`` is ``error_surface.py``). Each defines

- ``PAGE``: the chapter that shows it (``chapters/critical-points``);
- ``SETTINGS``: a list of settings to try, each a dict the widget's ``set()`` accepts;
- ``reference(settings)``: the numbers the widget must draw for those settings, as a dict whose keys
  are those of the widget's ``drawn()``, computed with mlnotes (float64) and no JavaScript;
- optionally ``UP_TO_SIGN``: keys whose vectors may differ by a sign (eigenvectors).
"""

import importlib
import pkgutil
from pathlib import Path


def load_all() -> dict:
    """Widget name -> its reference module."""
    found = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        found[info.name.replace("_", "-")] = importlib.import_module(f"widget_references.{info.name}")
    return found
