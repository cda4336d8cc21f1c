{{/*
The Deployment of one SEN1 service: one container, one "http" port serving /healthz,
/readyz and /metrics (and the API itself for the api service).
Usage in a service chart: {{ include "energy-common.deployment.manifest" . }}
*/}}

{{/* An httpGet probe from {enabled, path, ...timings}; the keys enabled/path are not probe fields. */}}
{{- define "energy-common.deployment.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
{{- toYaml (omit . "enabled" "path") | nindent 0 }}
{{- end -}}

{{- define "energy-common.deployment.manifest" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "energy-common.names.fullname" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "energy-common.labels.standard" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "energy-common.labels.matchLabels" . | nindent 6 }}
  {{- with .Values.updateStrategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "energy-common.labels.standard" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "energy-common.pod.spec" . | nindent 6 }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ include "energy-common.names.name" . }}
          image: {{ include "energy-common.images.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ required "containerPorts.http is required (the service's reserved port)" .Values.containerPorts.http }}
              protocol: TCP
          env:
            {{- include "energy-common.env.all" . | nindent 12 }}
          {{- with (include "energy-common.env.from" . | trim) }}
          envFrom:
            {{- . | nindent 12 }}
          {{- end }}
          {{- if .Values.startupProbe.enabled }}
          startupProbe:
            {{- include "energy-common.deployment.probe" .Values.startupProbe | nindent 12 }}
          {{- end }}
          {{- if .Values.livenessProbe.enabled }}
          livenessProbe:
            {{- include "energy-common.deployment.probe" .Values.livenessProbe | nindent 12 }}
          {{- end }}
          {{- if .Values.readinessProbe.enabled }}
          readinessProbe:
            {{- include "energy-common.deployment.probe" .Values.readinessProbe | nindent 12 }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
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
