"""Turns a DashboardSpec into Grafana dashboard JSON with grafana-foundation-sdk."""

from __future__ import annotations

import json
import math
from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from observability.config import Config
from observability.dashboards.spec import DashboardSpec, PanelSpec

# Every panel reads the Prometheus data source picked in the $datasource variable, so the
# same JSON works with any data source name or uid (hosts, kube-prometheus-stack).
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
PANEL_HEIGHT = 8


def _thresholds(panel: PanelSpec) -> gd.ThresholdsConfig:
    steps = [
        model.Threshold(value=None if math.isinf(t.value) else t.value, color=t.color)
        for t in panel.thresholds
    ] or [model.Threshold(value=None, color="green")]
    return gd.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps)


def _panel(panel: PanelSpec) -> timeseries.Panel | stat.Panel:
    built: timeseries.Panel | stat.Panel
    if panel.kind == "stat":
        built = stat.Panel().graph_mode(common.BigValueGraphMode.AREA)
    else:
        built = (
            timeseries.Panel()
            .fill_opacity(10)
            .legend(
                common_builders.VizLegendOptions()
                .show_legend(True)
                .display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM)
            )
        )
    built = (
        built.title(panel.title)
        .description(panel.description)
        .datasource(DATASOURCE)
        .unit(panel.unit)
        .thresholds(_thresholds(panel))
        .span(panel.width)
        .height(PANEL_HEIGHT)
    )
    if panel.min is not None:
        built = built.min(panel.min)
    if panel.max is not None:
        built = built.max(panel.max)
    for ref, target in zip("ABCDEFGH", panel.targets, strict=False):
        query = prometheus.Dataquery().expr(target.expr).legend_format(target.legend or "__auto")
        built = built.with_target(query.ref_id(ref).datasource(DATASOURCE))
    return built


def _label_variable(name: str, label: str, query: str) -> gd.QueryVariable:
    """A multi-select variable whose "All" matches every value, and series without it."""
    everything = model.VariableOption(selected=True, text="All", value="$__all")
    return (
        gd.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(everything)
    )


def _variables(config: Config, spec: DashboardSpec) -> list[Any]:
    env = config.environment_label
    jobs = "|".join(spec.instance_jobs)
    return [
        gd.DatasourceVariable("datasource").label("Data source").type("prometheus"),
        _label_variable("env", "Environment", f"label_values(up, {env})"),
        _label_variable(
            "instance", "Instance", f'label_values(up{{job=~"{jobs}",{env}=~"$env"}}, instance)'
        ),
    ]


def build(config: Config, spec: DashboardSpec) -> dict[str, Any]:
    board = (
        gd.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(list(spec.tags))
        .editable()
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
    )
    for variable in _variables(config, spec):
        board = board.with_variable(variable)
    panel_id = 0  # Grafana links and embeds panels by id: keep them unique and stable
    for row in spec.rows:
        panel_id += 1
        board = board.with_row(gd.Row(row.title).id(panel_id))
        for panel in row.panels:
            panel_id += 1
            board = board.with_panel(_panel(panel).id(panel_id))
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return data
