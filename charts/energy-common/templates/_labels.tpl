{{/*
Recommended Kubernetes labels. matchLabels is the immutable subset used by selectors.
*/}}

{{- define "energy-common.labels.standard" -}}
app.kubernetes.io/name: {{ include "energy-common.names.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sen1
helm.sh/chart: {{ include "energy-common.names.chart" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "energy-common.labels.matchLabels" -}}
app.kubernetes.io/name: {{ include "energy-common.names.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
