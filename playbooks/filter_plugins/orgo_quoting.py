"""Filters that put inventory values (passwords above all) into files without breaking them.

    {{ value | systemd_env_quote }}   a double-quoted value for an EnvironmentFile= line
    {{ password | url_userinfo }}     a password or user name escaped for a URL's userinfo

Both are exact for any string: systemd unescapes only \\, ", ` and $ inside double quotes
(every other backslash stays), and a URL's userinfo may hold no reserved character
unescaped (Ansible's urlencode leaves '/', which ends the authority).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

# What systemd's environment file parser unescapes inside double quotes (shell's set).
SYSTEMD_ESCAPED = '\\"`$'


def systemd_env_quote(value: object) -> str:
    text = str(value)
    if "\n" in text:
        raise ValueError("an EnvironmentFile= value cannot hold a line break")
    return '"' + "".join("\\" + c if c in SYSTEMD_ESCAPED else c for c in text) + '"'


def url_userinfo(value: object) -> str:
    return quote(str(value), safe="")


class FilterModule:
    def filters(self) -> dict[str, Callable[[object], str]]:
        return {"systemd_env_quote": systemd_env_quote, "url_userinfo": url_userinfo}
