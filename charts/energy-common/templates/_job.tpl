{{/*
The schema migration Job, a Helm hook run before install and before every upgrade so
that new pods never meet an old schema. It reads POSTGRES_* and SEN1_SECRET_KEY like the
services do (secrets by name). Usage: {{ include "energy-common.job.migration" . }}
*/}}
{{- define "energy-common.job.migration" -}}
{{- if .Values.migration.enabled -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-migrate" (include "energy-common.names.fullname" . | trunc 55 | trimSuffix "-") }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "energy-common.labels.standard" . | nindent 4 }}
    app.kubernetes.io/component: migration
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: {{ .Values.migration.hookWeight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ .Values.migration.backoffLimit }}
  activeDeadlineSeconds: {{ .Values.migration.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "energy-common.labels.matchLabels" . | nindent 8 }}
        app.kubernetes.io/component: migration
    spec:
      {{- include "energy-common.pod.spec" . | nindent 6 }}
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ include "energy-common.images.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
            {{- toYaml .Values.migration.command | nindent 12 }}
          args:
            {{- toYaml .Values.migration.args | nindent 12 }}
          env:
            {{- include "energy-common.env.platform" . | nindent 12 }}
            {{- include "energy-common.env.service" . | nindent 12 }}
          resources:
            {{- toYaml .Values.migration.resources | nindent 12 }}
          {{- include "energy-common.pod.containerSecurityContext" . | nindent 10 }}
          {{- with (include "energy-common.pod.volumeMounts" . | trim) }}
          volumeMounts:
            {{- . | nindent 12 }}
          {{- end }}
      {{- with (include "energy-common.pod.volumes" . | trim) }}
      volumes:
        {{- . | nindent 8 }}
      {{- end }}
{{- end -}}
{{- end -}}
