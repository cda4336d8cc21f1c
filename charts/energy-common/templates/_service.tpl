{{/*
The ClusterIP Service in front of the "http" port (ops endpoints, and the API for api).
Usage: {{ include "energy-common.service.manifest" . }}
*/}}
{{- define "energy-common.service.manifest" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "energy-common.names.fullname" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "energy-common.labels.standard" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - name: http
      port: {{ .Values.service.port | default .Values.containerPorts.http }}
      targetPort: http
      protocol: TCP
  selector:
    {{- include "energy-common.labels.matchLabels" . | nindent 4 }}
{{- end -}}
