{{/* Objects are named after the release: orgo-api, orgo-worker, orgo-migrate, ... */}}
{{- define "orgo.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "orgo.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "orgo.labels" -}}
{{ include "orgo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/part-of: orgo
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* An image reference, never 'latest'. Args: dict "image" (repository, tag) "key" (its
values path) "pin" (its versions.yaml entry). */}}
{{- define "orgo.pinnedImage" -}}
{{- if eq .image.tag "latest" -}}
{{- fail (printf "%s.tag: 'latest' is not allowed, pin a version (versions.yaml %s)" .key .pin) -}}
{{- end -}}
{{- if .image.digest -}}
{{ printf "%s:%s@%s" .image.repository .image.tag .image.digest }}
{{- else -}}
{{ printf "%s:%s" .image.repository .image.tag }}
{{- end -}}
{{- end -}}

{{- define "orgo.image" -}}
{{ include "orgo.pinnedImage" (dict "image" .Values.image "key" "image" "pin" "images.orgo") }}
{{- end -}}

{{- define "orgo.webImage" -}}
{{ include "orgo.pinnedImage" (dict "image" .Values.web.image "key" "web.image" "pin" "images.orgo-web") }}
{{- end -}}

{{- define "orgo.envSecretName" -}}
{{- required "envSecretName: the Secret with the ORGO_* URLs and JWT secret" .Values.envSecretName -}}
{{- end -}}

{{/* ORGO_JWT_SECRET named on its own besides envFrom: a pod whose Secret lacks the key does
not start (CreateContainerConfigError) instead of running on the app's public dev secret. */}}
{{- define "orgo.requiredSecretEnv" -}}
- name: ORGO_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "orgo.envSecretName" . }}
      key: ORGO_JWT_SECRET
      optional: false
{{- end -}}

{{/* Settings shared by the ConfigMap (deployments) and the migration hook (inline env). */}}
{{- define "orgo.settings" -}}
ORGO_ENV: {{ .Values.environment | quote }}
ORGO_HOST: "0.0.0.0"
ORGO_PORT: {{ .Values.service.port | quote }}
ORGO_WEB_CONCURRENCY: {{ .Values.api.webConcurrency | quote }}
ORGO_LOG_LEVEL: {{ .Values.logLevel | quote }}
ORGO_JWT_ISSUER: {{ .Values.jwt.issuer | quote }}
ORGO_JWT_AUDIENCE: {{ .Values.jwt.audience | quote }}
ORGO_WORKER_METRICS_PORT: {{ .Values.worker.metricsPort | quote }}
ORGO_MAX_BODY_BYTES: {{ .Values.maxBodyBytes | int64 | quote }}
ORGO_DOCS_ENABLED: {{ .Values.docs.enabled | quote }}
{{- if and (or .Values.httpRoute.enabled .Values.ingress.enabled) (not .Values.forwardedAllowIps) }}
{{- fail "forwardedAllowIps is required with httpRoute or ingress: the addresses of the proxy pods (e.g. the cluster's pod CIDR, 10.244.0.0/16 on kind), so the API trusts X-Forwarded-For from them only" }}
{{- end }}
{{- with .Values.forwardedAllowIps }}
ORGO_FORWARDED_ALLOW_IPS: {{ join "," . | quote }}
{{- end }}
{{- if gt (int .Values.api.webConcurrency) 1 }}
PROMETHEUS_MULTIPROC_DIR: "/tmp"
{{- end }}
{{- end -}}

{{/* The API paths clients use, the only ones the HTTPRoute and the Ingress forward: not
/metrics, /readyz or anything else the API serves (the Gateway answers 404). */}}
{{- define "orgo.publicPaths" -}}
- {type: PathPrefix, value: /api}
- {type: Exact, value: /healthz}
{{- if .Values.docs.enabled }}
- {type: PathPrefix, value: /docs}
- {type: Exact, value: /openapi.json}
{{- end }}
{{- end -}}

{{/* The pods of the API, the worker and the migration job: every pod of the release but
the web UI's, which reach no data service and no DNS, and only the edge reaches. */}}
{{- define "orgo.appPodSelector" -}}
matchLabels:
  {{- include "orgo.selectorLabels" . | nindent 2 }}
matchExpressions:
  - {key: app.kubernetes.io/component, operator: NotIn, values: [web]}
{{- end -}}

{{- define "orgo.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "orgo.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod fields every Orgo pod shares: identity, security, the /tmp scratch volume. */}}
{{- define "orgo.podCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- include "orgo.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- end -}}

{{/* Spread replicas over nodes and zones; prefer different nodes. Arg: dict ctx component */}}
{{- define "orgo.spread" -}}
{{- $selector := dict "app.kubernetes.io/component" .component -}}
topologySpreadConstraints:
  {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ $key }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "orgo.selectorLabels" $.ctx | nindent 8 }}
        app.kubernetes.io/component: {{ $.component }}
  {{- end }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "orgo.selectorLabels" .ctx | nindent 14 }}
              app.kubernetes.io/component: {{ .component }}
{{- end -}}
