{{/*
An optional networking.k8s.io/v1 Ingress to the Service's "http" port (used by api).
Usage: {{ include "energy-common.ingress.manifest" . }}
*/}}
{{- define "energy-common.ingress.manifest" -}}
{{- include "energy-common.ingress.named" (dict "root" . "key" "ingress") -}}
{{- end -}}

{{/*
The same Ingress from another values key (a service with a second audience, e.g. the
federation gateway's peers, whose routes must not ride on the api's `ingress` block).
Usage: {{ include "energy-common.ingress.named" (dict "root" . "key" "federationIngress") }}
*/}}
{{- define "energy-common.ingress.named" -}}
{{- $root := .root -}}
{{- $ing := index $root.Values .key -}}
{{- if $ing.enabled -}}
{{- $fullname := include "energy-common.names.fullname" $root -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "energy-common.labels.standard" $root | nindent 4 }}
  {{- with $ing.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $ing.className }}
  ingressClassName: {{ . | quote }}
  {{- end }}
  {{- with $ing.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range $ing.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ $fullname }}
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end -}}
{{- end -}}
