#!/usr/bin/env bash
# The Debian packages the tests start as throwaway instances or use as tools. Installs only
# what is missing and never starts a service (apt's policy may start none here anyway).
. "$(dirname "$0")/lib.sh"

services=(postgresql redis-server rabbitmq-server prometheus prometheus-node-exporter
  prometheus-alertmanager prometheus-postgres-exporter prometheus-redis-exporter
  prometheus-blackbox-exporter)
# skopeo and docker-registry: the image digest tests read a throwaway local registry.
containers=(podman runc debootstrap uidmap skopeo docker-registry)
# The web UI's end-to-end tests and benchmark drive Debian's Chromium (Playwright launches
# /usr/bin/chromium; no browser is downloaded), with a font to render its screenshots.
browser=(chromium fonts-dejavu-core)
apt_install "${services[@]}" "${containers[@]}" "${browser[@]}" wrk

# Tools that may come from elsewhere than Debian (e.g. Node.js with its own npm): only
# installed when the command is missing, so a packaged duplicate never conflicts.
for tool in curl:curl openssl:openssl npm:npm unzip:unzip; do
  command -v "${tool%%:*}" >/dev/null || apt_install "${tool#*:}"
done
