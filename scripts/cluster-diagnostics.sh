#!/usr/bin/env bash
# What a failed deploy or verify leaves to read: every event, every pod, the description
# and logs of each pod that is not Running and Ready, and the custom resources the
# verifier judges (described: their status and conditions). Writes to DIR (default
# build/diagnostics) and never fails, so it can run after anything has gone wrong.
#
#   scripts/cluster-diagnostics.sh [DIR]
. "$(dirname "$0")/lib.sh"
set +e  # collect whatever can be collected

out="${1:-$REPO_ROOT/build/diagnostics}"
mkdir -p "$out"
kubectl="$(command -v kubectl || echo "$TOOLS_DIR/bin/kubectl")"
# Kinds with a health status of their own (verify/health.py), plus the workloads.
kinds="deployments,statefulsets,daemonsets,jobs,clusters.postgresql.cnpg.io,poolers.postgresql.cnpg.io,rabbitmqclusters.rabbitmq.com,elasticsearches.elasticsearch.k8s.elastic.co,kibanas.kibana.k8s.elastic.co,beats.beat.k8s.elastic.co,certificates.cert-manager.io,clusterissuers.cert-manager.io,gateways.gateway.networking.k8s.io,httproutes.gateway.networking.k8s.io"

"$kubectl" get events -A --sort-by=.lastTimestamp >"$out/events.txt" 2>&1
"$kubectl" get pods -A -o wide >"$out/pods.txt" 2>&1
for kind in ${kinds//,/ }; do
  "$kubectl" describe "$kind" -A >"$out/describe-${kind%%.*}.txt" 2>&1
done
"$kubectl" get pods -A --no-headers \
  -o custom-columns='NS:.metadata.namespace,NAME:.metadata.name,PHASE:.status.phase,READY:.status.containerStatuses[*].ready' 2>/dev/null |
  awk '$3 != "Succeeded" && ($3 != "Running" || $4 ~ /false/) {print $1, $2}' |
  while read -r namespace pod; do
    "$kubectl" -n "$namespace" describe pod "$pod" >"$out/pod-$namespace-$pod.txt" 2>&1
    "$kubectl" -n "$namespace" logs "$pod" --all-containers --tail=300 >>"$out/pod-$namespace-$pod.txt" 2>&1
    "$kubectl" -n "$namespace" logs "$pod" --all-containers --previous --tail=100 >>"$out/pod-$namespace-$pod.txt" 2>&1
  done
log "diagnostics in ${out#"$REPO_ROOT"/}/"
tail -n 40 "$out/events.txt"
exit 0
