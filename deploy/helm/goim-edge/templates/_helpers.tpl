{{/*
Templates use a small subset of Helm's functions (include, toYaml, toJson,
quote, default, required, fail, nindent, trunc, trimSuffix, contains, list,
dict) so the chart's Go test (app TestHelmChartRenders) can render
them without helm; keep to it, or teach the test the new function.
*/}}

{{/* The release's name prefix, at most 63 characters. */}}
{{- define "goim-edge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "goim-edge.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one role: call with (list . "edge"). */}}
{{- define "goim-edge.selector" -}}
app.kubernetes.io/name: {{ (index . 0).Chart.Name }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "goim-edge.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The sections every role's TOML starts with. */}}
{{- define "goim-edge.commonConfig" -}}
[log]
level = {{ .Values.log.level | quote }}
format = {{ .Values.log.format | quote }}
[node]
env = {{ .Values.node.env | quote }}
region = {{ .Values.node.region | quote }}
[registry]
kind = "etcd"
[registry.etcd]
endpoints = {{ required "registry.endpoints is required" .Values.registry.endpoints | toJson }}
{{- if .Values.registry.username }}
username = {{ .Values.registry.username | quote }}
{{- end }}
[trace]
enabled = {{ .Values.trace.enabled }}
sample_ratio = {{ .Values.trace.sampleRatio }}
{{- end -}}

{{/* [queue] for logic and job. */}}
{{- define "goim-edge.queueConfig" -}}
[queue]
kind = {{ .Values.queue.kind | quote }}
{{- if eq .Values.queue.kind "redis" }}
[queue.redis]
addr = {{ required "redis.addr is required" .Values.redis.addr | quote }}
{{- else if eq .Values.queue.kind "kafka" }}
[queue.kafka]
brokers = {{ .Values.queue.kafka.brokers | toJson }}
topic = {{ .Values.queue.kafka.topic | quote }}
group = {{ .Values.queue.kafka.group | quote }}
{{- else }}
{{- fail "queue.kind must be redis or kafka" }}
{{- end }}
{{- end -}}

{{/* Environment every role's container gets: node id, advertised IP, secrets. */}}
{{- define "goim-edge.env" -}}
- name: GOIM_NODE_ID
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: GOIM_NODE_ADVERTISE_HOST
  valueFrom: { fieldRef: { fieldPath: status.podIP } }
- name: GOIM_RPC_SECRET
  valueFrom: { secretKeyRef: { name: {{ required "secrets.existingSecret is required" .Values.secrets.existingSecret }}, key: GOIM_RPC_SECRET } }
{{- if .Values.registry.passwordSecret }}
- name: GOIM_REGISTRY_ETCD_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ .Values.registry.passwordSecret }}, key: GOIM_REGISTRY_ETCD_PASSWORD } }
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Probes on the admin port. */}}
{{- define "goim-edge.probes" -}}
readinessProbe:
  httpGet: { path: /readyz, port: admin }
  periodSeconds: 5
livenessProbe:
  httpGet: { path: /healthz, port: admin }
  periodSeconds: 10
  failureThreshold: 3
{{- end -}}
