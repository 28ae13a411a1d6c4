"""Host resource alerts from node exporter: CPU, memory, filesystem space."""

from __future__ import annotations

from observability.config import Config
from observability.rules.model import Alert, Group


def fstype_matcher(config: Config) -> str:
    """Leaves out pseudo and container filesystems."""
    return f'fstype!~"{config.ignored_fstypes}"'


def group(config: Config) -> Group:
    job, limits = config.jobs.node, config.thresholds
    by = f"{config.environment_label}, job, instance"
    where = "{{ $labels." + config.environment_label + " }} ({{ $labels.instance }})"
    fs = f'job="{job}",{fstype_matcher(config)}'
    rules = (
        Alert(
            name="HostCpuHigh",
            expr=(
                f"1 - avg by ({by}) (rate(node_cpu_seconds_total"
                f'{{job="{job}",mode="idle"}}[5m])) > {limits.host_cpu_ratio:g}'
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="A host's CPUs are nearly saturated.",
            description=f"{where} is {{{{ $value | humanizePercentage }}}} busy.",
        ),
        Alert(
            name="HostMemoryLow",
            expr=(
                f'node_memory_MemAvailable_bytes{{job="{job}"}}\n/ '
                f'node_memory_MemTotal_bytes{{job="{job}"}}\n< '
                f"{limits.host_memory_available_ratio:g}\n"
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="A host is running out of memory.",
            description=(
                f"{where} has only {{{{ $value | humanizePercentage }}}} of its memory available."
            ),
        ),
        Alert(
            name="HostFilesystemSpaceLow",
            expr=(
                f"node_filesystem_avail_bytes{{{fs}}}\n/ node_filesystem_size_bytes{{{fs}}}\n< "
                f"{limits.host_filesystem_available_ratio:g}\n"
                f"and\nnode_filesystem_readonly{{{fs}}} == 0\n"
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="A host filesystem is almost full.",
            description=(
                f"{{{{ $labels.mountpoint }}}} on {where} has "
                "{{ $value | humanizePercentage }} space left."
            ),
        ),
    )
    return Group(file="hosts", name="hosts", rules=rules)
