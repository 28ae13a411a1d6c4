"""The interactive docs (`/docs`, Swagger UI) and `/openapi.json`, served only while
ORGO_DOCS_ENABLED (on by default in dev alone).

Swagger UI runs on the API's origin, so its files are pinned: an exact swagger-ui-dist
version from jsDelivr, each file checked by the browser against its Subresource Integrity
hash (sha384 of the file in that version's npm package, which jsDelivr serves byte for
byte). ReDoc is not served: one docs UI means one set of third-party scripts to pin.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

SWAGGER_UI_VERSION = "5.35.0"
_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
SWAGGER_JS = f"{_CDN}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{_CDN}/swagger-ui.css"
SWAGGER_FAVICON = f"{_CDN}/favicon-32x32.png"
# Update with the version: `npm pack swagger-ui-dist@<v>`, then for each file
# `openssl dgst -sha384 -binary <file> | openssl base64 -A`.
INTEGRITY = {
    SWAGGER_JS: "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
    SWAGGER_CSS: "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
}
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def _with_integrity(html: str) -> str:
    for url, digest in INTEGRITY.items():
        pinned = f'"{url}" integrity="{digest}" crossorigin="anonymous"'
        if f'"{url}"' not in html:
            raise RuntimeError(f"Swagger UI page no longer loads {url}")
        html = html.replace(f'"{url}"', pinned)
    return html


def install_docs(app: FastAPI) -> None:
    """Adds /docs and its OAuth2 redirect page; /openapi.json is FastAPI's own route."""
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{app.title} - docs",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url=SWAGGER_FAVICON,
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        init_oauth=app.swagger_ui_init_oauth,
    )
    html = _with_integrity(bytes(page.body).decode())

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(html)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
