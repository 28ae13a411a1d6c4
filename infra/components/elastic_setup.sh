#!/bin/sh
# Loads what exists of observability/elastic/ (mounted at /assets) into Elasticsearch and
# Kibana, then the snapshot repository and SLM policy when the platform has a bucket.
# Idempotent: PUT and import with overwrite; safe to re-run on every deploy.
set -eu
es="https://orgo-es-http.elastic.svc:9200"
kb="http://orgo-kb-http.elastic.svc:5601"
auth="elastic:${ELASTIC_PASSWORD}"
es_curl() { curl -fsS --cacert /certs/ca.crt -u "$auth" "$@"; }
json='Content-Type: application/json'

until es_curl "$es/_cluster/health?wait_for_status=yellow&timeout=10s"; do sleep 5; done
if [ -f /assets/ilm-policy.json ]; then
  es_curl -X PUT -H "$json" "$es/_ilm/policy/orgo-logs" --data-binary @/assets/ilm-policy.json
fi
if [ -f /assets/index-template.json ]; then
  es_curl -X PUT -H "$json" "$es/_index_template/orgo-logs" \
    --data-binary @/assets/index-template.json
fi
until curl -fsS -u "$auth" "$kb/api/status" >/dev/null; do sleep 5; done
if [ -f /assets/kibana-objects.ndjson ]; then
  curl -fsS -u "$auth" -X POST -H 'kbn-xsrf: true' \
    "$kb/api/saved_objects/_import?overwrite=true" -F file=@/assets/kibana-objects.ndjson
fi
# Only with a bucket (snapshot-repository.json): last, so a repository Elasticsearch cannot
# reach yet (its verification fails) holds nothing else back while the Job retries.
if [ -f /assets/snapshot-repository.json ]; then
  es_curl -X PUT -H "$json" "$es/_snapshot/${SNAPSHOT_REPOSITORY}" \
    --data-binary @/assets/snapshot-repository.json
  es_curl -X PUT -H "$json" "$es/_slm/policy/${SNAPSHOT_POLICY}" \
    --data-binary @/assets/slm-policy.json
fi
echo loaded
