{{/*
Configuration reaches the services as environment variables only (pydantic-settings):
  - KAFKA_*, POSTGRES_*, SECRECY_* and SEN1_SECRET_KEY from .Values.global (shared by
    every chart: every door aggregates leave by applies one secrecy rule);
  - <envPrefix>HTTP_HOST/HTTP_PORT/LOG_* so the ops endpoint listens on the pod IP;
  - .Values.env (plain values), .Values.secretEnv (one key of a named Secret),
    .Values.extraEnv (raw EnvVar list).
Secrets are always referenced by name (secretKeyRef / envFrom), never inlined.
*/}}

{{/* KAFKA_*, POSTGRES_DSN, SECRECY_* and SEN1_SECRET_KEY: what every SEN1 process reads. */}}
{{- define "energy-common.env.platform" -}}
{{- $kafka := .Values.global.kafka -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "global.kafka.bootstrapServers is required" $kafka.bootstrapServers | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $kafka.securityProtocol | quote }}
{{- with $kafka.saslMechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ . | quote }}
{{- end }}
{{- with $kafka.sasl.existingSecret }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $kafka.sasl.usernameKey | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $kafka.sasl.passwordKey | quote }}
{{- end }}
- name: KAFKA_ENABLE_IDEMPOTENCE
  value: {{ $kafka.enableIdempotence | toString | quote }}
- name: KAFKA_ACKS
  value: {{ $kafka.acks | toString | quote }}
{{- with $kafka.topicPrefix }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- with $kafka.compressionType }}
- name: KAFKA_COMPRESSION_TYPE
  value: {{ . | quote }}
{{- end }}
- name: POSTGRES_DSN
  valueFrom:
    secretKeyRef:
      name: {{ required "global.postgres.existingSecret is required (a Secret holding the DSN)" .Values.global.postgres.existingSecret | quote }}
      key: {{ .Values.global.postgres.dsnKey | quote }}
{{- with .Values.global.postgres.poolMaxSize }}
- name: POSTGRES_POOL_MAX_SIZE
  value: {{ . | toString | quote }}
{{- end }}
- name: SECRECY_MIN_POINTS
  value: {{ .Values.global.secrecy.minPoints | toString | quote }}
- name: SECRECY_MAX_SHARE
  value: {{ .Values.global.secrecy.maxShare | toString | quote }}
- name: SEN1_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "global.secretKey.existingSecret is required (a Secret holding the Fernet key)" .Values.global.secretKey.existingSecret | quote }}
      key: {{ .Values.global.secretKey.key | quote }}
{{- end -}}

{{/* <prefix>HTTP_HOST/PORT and logging: the ops endpoint must listen on the pod IP for probes. */}}
{{- define "energy-common.env.service" -}}
{{- $prefix := required "envPrefix is required (e.g. REGISTRY_)" .Values.envPrefix -}}
- name: {{ printf "%sHTTP_HOST" $prefix }}
  value: "0.0.0.0"
- name: {{ printf "%sHTTP_PORT" $prefix }}
  value: {{ .Values.containerPorts.http | toString | quote }}
- name: {{ printf "%sLOG_LEVEL" $prefix }}
  value: {{ .Values.logLevel | quote }}
- name: {{ printf "%sLOG_JSON" $prefix }}
  value: "true"
{{- end -}}

{{/* Service-specific values: plain env, single Secret keys, then raw EnvVars (last wins). */}}
{{- define "energy-common.env.extra" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "secretEnv.%s.name is required" $name) $ref.name | quote }}
      key: {{ required (printf "secretEnv.%s.key is required" $name) $ref.key | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The whole env list of the main container. */}}
{{- define "energy-common.env.all" -}}
{{ include "energy-common.env.platform" . }}
{{ include "energy-common.env.service" . }}
{{- include "energy-common.env.extra" . }}
{{- end -}}

{{/* envFrom: whole Secrets / ConfigMaps by name. Empty when none. */}}
{{- define "energy-common.env.from" -}}
{{- range .Values.envFromSecrets }}
- secretRef:
    name: {{ . | quote }}
{{- end }}
{{- range .Values.envFromConfigMaps }}
- configMapRef:
    name: {{ . | quote }}
{{- end }}
{{- end -}}
