"""Mitogen's linear strategy, taken from the pinned `mitogen` package (uv.lock).

Mitogen keeps one Python interpreter per host for the whole run instead of copying and
starting a module per task: on this project's podman hosts an unchanged converge goes from
minutes to well under one. ansible.cfg selects it; the plugin path is this directory so
that no path into the virtualenv has to be written down.
"""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

__all__ = ["StrategyModule"]
