"""Write every generated observability file.

    python -m observability.generate            # into observability/ (commit the result)
    python -m observability.generate --out DIR  # elsewhere, e.g. to compare or to test

`files()` is the single list of what is generated; tests compare it with the tree.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from observability import alertmanager, blackbox, dashboards, grafana_provisioning, rules
from observability.config import DEFAULT, Config
from observability.logs import elasticsearch, filebeat, kibana
from observability.render import to_json, to_ndjson, to_yaml

PACKAGE_DIR = Path(__file__).resolve().parent
RULES_DIR = "prometheus/rules"
DASHBOARDS_DIR = "grafana/dashboards"


def files(config: Config = DEFAULT) -> dict[str, str]:
    """{path relative to observability/: content}"""
    out = {
        f"{RULES_DIR}/{name}": to_yaml(content)
        for name, content in rules.rule_files(config).items()
    }
    out |= {
        f"{DASHBOARDS_DIR}/{name}": to_json(content)
        for name, content in dashboards.dashboard_files(config).items()
    }
    out |= {
        "alertmanager/routes.yml": to_yaml(alertmanager.routes(config)),
        "prometheus/blackbox.yml": to_yaml(blackbox.modules()),
        "grafana/provisioning/datasources/orgo.yml": to_yaml(grafana_provisioning.datasources()),
        "grafana/provisioning/dashboards/orgo.yml": to_yaml(
            grafana_provisioning.dashboard_providers()
        ),
        "elastic/index-template.json": to_json(elasticsearch.index_template(config)),
        "elastic/ilm-policy.json": to_json(elasticsearch.ilm_policy(config)),
        "elastic/kibana-objects.ndjson": to_ndjson(kibana.saved_objects()),
        "elastic/filebeat.yml": to_yaml(filebeat.filebeat(config)),
    }
    return out


def write(root: Path, config: Config = DEFAULT) -> list[Path]:
    written = []
    for relative, content in files(config).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=PACKAGE_DIR,
        help="directory to write into (default: the observability package)",
    )
    args = parser.parse_args(argv)
    written = write(args.out)
    print(f"wrote {len(written)} files under {args.out}")


if __name__ == "__main__":
    main()
