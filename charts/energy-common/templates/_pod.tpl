{{/*
Pieces shared by the Deployment and the migration Job. Security defaults follow the
Restricted Pod Security Standard (values: podSecurityContext, containerSecurityContext);
writable paths are emptyDirs because the root filesystem is read-only.
*/}}

{{/* Pod-level fields (service account, pull secrets, security context, scheduling). */}}
{{- define "energy-common.pod.spec" -}}
serviceAccountName: {{ include "energy-common.names.serviceAccount" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with (concat (.Values.global.imagePullSecrets | default list) (.Values.image.pullSecrets | default list)) }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The container security context (Restricted by default). */}}
{{- define "energy-common.pod.containerSecurityContext" -}}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end -}}

{{/* volumeMounts of the main container: one emptyDir per writable path, then extras. */}}
{{- define "energy-common.pod.volumeMounts" -}}
{{- range $i, $path := .Values.writableDirs }}
- name: {{ printf "writable-%d" $i }}
  mountPath: {{ $path | quote }}
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* volumes of the pod, matching energy-common.pod.volumeMounts. */}}
{{- define "energy-common.pod.volumes" -}}
{{- range $i, $path := .Values.writableDirs }}
- name: {{ printf "writable-%d" $i }}
  emptyDir: {}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}
