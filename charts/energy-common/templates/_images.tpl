{{/*
The container image: [global.imageRegistry or image.registry/]repository, then @digest if set, else :tag (default appVersion).
*/}}
{{- define "energy-common.images.image" -}}
{{- $repo := .Values.image.repository -}}
{{- $registry := coalesce .Values.global.imageRegistry .Values.image.registry -}}
{{- if $registry -}}
{{- $repo = printf "%s/%s" $registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}
