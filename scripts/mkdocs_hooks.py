"""MkDocs hooks of the documentation site (mkdocs.yml): README.md is the home page and
web/README.md a page, their links rewritten to the site's pages, and the HTTP API
reference rendered from docs/api/openapi.json (the document a test keeps equal to the app's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
LINKS = {"](docs/": "](", "](web/README.md": "](web.md"}
METHODS = ("get", "post", "put", "patch", "delete")


def _page(path: str) -> str:
    text = (REPO / path).read_text(encoding="utf-8")
    for old, new in LINKS.items():
        text = text.replace(old, new)
    return text


def _schema_name(content: dict[str, Any]) -> str:
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    return f"`{ref.rsplit('/', 1)[-1]}`" if ref else ""


def api_reference(document: dict[str, Any]) -> str:
    """One section per operation: method and path, summary, parameters, body, responses."""
    lines = [f"# HTTP API reference ({document['info']['version']})", ""]
    lines += ["Rendered from `docs/api/openapi.json` (`make api-client` writes it).", ""]
    for path, item in document["paths"].items():
        for method in (m for m in METHODS if m in item):
            operation = item[method]
            lines += [f"## `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
            for parameter in operation.get("parameters", []):
                lines.append(f"- {parameter['in']} `{parameter['name']}`")
            body = operation.get("requestBody", {}).get("content", {})
            if body:
                lines.append(f"- body: {_schema_name(body) or ', '.join(body)}")
            lines += ["", "| status | meaning | body |", "|---|---|---|"]
            for status, response in operation.get("responses", {}).items():
                schema = _schema_name(response.get("content", {}))
                lines.append(f"| {status} | {response.get('description', '')} | {schema} |")
            lines.append("")
    return "\n".join(lines)


def on_files(files: Files, config: Any) -> Files:
    document = json.loads((REPO / "docs/api/openapi.json").read_text(encoding="utf-8"))
    generated = {
        "index.md": _page("README.md"),
        "web.md": _page("web/README.md"),
        "api/reference.md": api_reference(document),
    }
    for name, content in generated.items():
        files.append(File.generated(config, name, content=content))
    return files
