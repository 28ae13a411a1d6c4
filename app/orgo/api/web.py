"""The built web UI (`make web` writes web/dist), served at `/` next to the API when
ORGO_WEB_DIR names it: `make run`, and the browser tests. Kubernetes serves the same files
from the web image (web/Containerfile), hosts from nginx.

One route, added after every API route, so API requests are matched before it is ever
tried. It never answers the API's paths (RESERVED_PATHS keep their own 404s and 405s). Files
are listed once at start-up, so nothing outside the directory can be named; a page path
(`/tasks`, `/users`, no file extension) is answered with index.html, the single-page app's
router then shows the page. Hashed assets are cached for good, everything else revalidated;
every response carries the security headers of WEB_HEADERS_FILE, the file nginx includes
too.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import URLPath
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from orgo.api.docs import OPENAPI_URL

# Never the UI's, whatever the file tree holds: the API and the operations endpoints (the
# docs' too, served or not).
RESERVED_PATHS = ("/api", "/healthz", "/readyz", "/metrics", "/docs", OPENAPI_URL)
# In nginx syntax (`add_header NAME "VALUE" always;`), so nginx includes this very file.
WEB_HEADERS_FILE = Path(__file__).with_name("web-security-headers.conf")
# Vite names every file under assets/ after its content's hash.
HASHED_ASSETS = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
INDEX = "index.html"
# The route template in metrics and logs: one label for every UI path.
WEB_ROUTE = "/{web_ui_path:path}"

_ADD_HEADER = re.compile(r'^add_header\s+([A-Za-z0-9-]+)\s+"([^"]*)"\s+always;$')


def read_security_headers(path: Path = WEB_HEADERS_FILE) -> tuple[tuple[str, str], ...]:
    """The headers of an nginx `add_header` file; anything else in it is an error."""
    headers = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ADD_HEADER.match(line)
        if match is None:
            raise ValueError(
                f'{path}:{number}: expected `add_header Name "value" always;`, got: {line}'
            )
        headers.append((match[1], match[2]))
    return tuple(headers)


@dataclass(frozen=True)
class _File:
    path: Path
    media_type: str
    cache_control: str


def _files(directory: Path) -> dict[str, _File]:
    files = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        url = "/" + path.relative_to(directory).as_posix()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        cache = IMMUTABLE if url.startswith(HASHED_ASSETS) else REVALIDATE
        files[url] = _File(path, media_type, cache)
    return files


def is_reserved(path: str) -> bool:
    """The path or anything under it is the API's (the prefix alone must be a whole segment:
    /apis is a page path, /api/ and /openapi.json/ are not)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PATHS)


class WebAssets(BaseRoute):
    """GET and HEAD of every path but the reserved ones: a file of the build, index.html
    for a page path, 404 for a missing file."""

    path = WEB_ROUTE

    def __init__(self, directory: Path, headers: tuple[tuple[str, str], ...]) -> None:
        self._files = _files(directory)
        if f"/{INDEX}" not in self._files:
            raise ValueError(f"{directory} has no {INDEX}: build the UI first (make web)")
        self._headers = dict(headers)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and not is_reserved(scope["path"])
        ):
            return Match.FULL, {"route": self}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: object) -> URLPath:
        raise NoMatchFound(name, path_params)  # the UI has no named routes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._response(scope["path"])(scope, receive, send)

    def _response(self, path: str) -> Response:
        found = self._files.get(path)
        if found is None and "." not in path.rsplit("/", 1)[-1]:
            found = self._files[f"/{INDEX}"]
        if found is None:
            return Response("Not Found", 404, headers=self._headers, media_type="text/plain")
        return FileResponse(
            found.path,
            media_type=found.media_type,
            headers={**self._headers, "Cache-Control": found.cache_control},
        )
