{{/*
An optional PodDisruptionBudget (useful for the aggregator's 2+ workers).
Usage: {{ include "energy-common.pdb.manifest" . }}
*/}}
{{- define "energy-common.pdb.manifest" -}}
{{- if .Values.pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "energy-common.names.fullname" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "energy-common.labels.standard" . | nindent 4 }}
spec:
  {{- if .Values.pdb.minAvailable }}
  minAvailable: {{ .Values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "energy-common.labels.matchLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
