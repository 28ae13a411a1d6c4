"""Hosts, from node exporter: CPU, memory, filesystems, disk and network I/O; and the
certificates of TLS endpoints, from blackbox exporter probes."""

from __future__ import annotations

from observability.config import Config
from observability.dashboards.spec import (
    DashboardSpec,
    PanelSpec,
    Row,
    Target,
    bad_warn_ok,
    env_matchers,
    matchers,
    ok_warn_bad,
)
from observability.rules.hosts import fstype_matcher

RATE = "[$__rate_interval]"


def dashboard(config: Config) -> DashboardSpec:
    m = matchers(config, config.jobs.node)
    idle = matchers(config, config.jobs.node, 'mode="idle"')
    fs = matchers(config, config.jobs.node, fstype_matcher(config))
    net = matchers(config, config.jobs.node, 'device!="lo"')
    limits = config.thresholds
    resources = Row(
        "Resources",
        (
            PanelSpec(
                "CPU busy",
                (
                    Target(
                        f"1 - avg by (instance) (rate(node_cpu_seconds_total{idle}{RATE}))",
                        "{{instance}}",
                    ),
                ),
                unit="percentunit",
                min=0,
                max=1,
                thresholds=ok_warn_bad(limits.host_cpu_ratio * 0.8, limits.host_cpu_ratio),
            ),
            PanelSpec(
                "Load (1m) per CPU",
                (
                    Target(
                        f"node_load1{m} / on (instance) "
                        f"count by (instance) (node_cpu_seconds_total{idle})",
                        "{{instance}}",
                    ),
                ),
                unit="short",
                min=0,
            ),
            PanelSpec(
                "Memory used",
                (
                    Target(
                        f"1 - node_memory_MemAvailable_bytes{m} / node_memory_MemTotal_bytes{m}",
                        "{{instance}}",
                    ),
                ),
                unit="percentunit",
                min=0,
                max=1,
                thresholds=ok_warn_bad(0.8, 1 - limits.host_memory_available_ratio),
            ),
            PanelSpec(
                "Filesystem used",
                (
                    Target(
                        f"1 - node_filesystem_avail_bytes{fs} / node_filesystem_size_bytes{fs}",
                        "{{instance}} {{mountpoint}}",
                    ),
                ),
                unit="percentunit",
                min=0,
                max=1,
                thresholds=ok_warn_bad(0.8, 1 - limits.host_filesystem_available_ratio),
            ),
        ),
    )
    io = Row(
        "I/O",
        (
            PanelSpec(
                "Disk throughput",
                (
                    Target(
                        f"sum by (instance) (rate(node_disk_read_bytes_total{m}{RATE}))",
                        "read {{instance}}",
                    ),
                    Target(
                        f"sum by (instance) (rate(node_disk_written_bytes_total{m}{RATE}))",
                        "written {{instance}}",
                    ),
                ),
                unit="Bps",
            ),
            PanelSpec(
                "Network throughput",
                (
                    Target(
                        f"sum by (instance) (rate(node_network_receive_bytes_total{net}{RATE}))",
                        "in {{instance}}",
                    ),
                    Target(
                        f"sum by (instance) (rate(node_network_transmit_bytes_total{net}{RATE}))",
                        "out {{instance}}",
                    ),
                ),
                unit="Bps",
            ),
        ),
    )
    probes = env_matchers(config, f'job="{config.jobs.blackbox}"')
    tls = Row(
        "TLS endpoints",
        (
            PanelSpec(
                "Certificate validity left",
                (
                    Target(
                        f"probe_ssl_earliest_cert_expiry{probes} - time()",
                        "{{instance}}",
                    ),
                ),
                unit="s",
                width=24,
                thresholds=bad_warn_ok(limits.certificate_days * 86400, 30 * 86400),
                description="From the blackbox exporter's TLS probes (job blackbox).",
            ),
        ),
    )
    return DashboardSpec(
        uid="orgo-hosts",
        title="Orgo / Hosts",
        description="Resources of the hosts that run Orgo and its data services.",
        instance_jobs=(config.jobs.node,),
        rows=(resources, io, tls),
    )
