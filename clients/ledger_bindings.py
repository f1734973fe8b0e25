"""Kept so existing imports work: everything here now lives in `clients.bindings`."""

from clients.bindings import *  # noqa: F403
from clients.bindings import __all__ as __all__
