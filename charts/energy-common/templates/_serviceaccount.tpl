{{/*
An optional ServiceAccount. SEN1 services never call the Kubernetes API, so none is
created by default and no token is mounted. Usage: {{ include "energy-common.serviceaccount.manifest" . }}
*/}}
{{- define "energy-common.serviceaccount.manifest" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "energy-common.names.serviceAccount" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "energy-common.labels.standard" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- end -}}
{{- end -}}
