{{/* The pod template of one-shot runs. Call with (dict "root" $ "shards" N) (N 0: unsharded);
"chaos" true makes it the chaos Job's (`soakmon chaos run`, with the API token). */}}
{{- define "soakmon.runPodTemplate" -}}
{{- $ := .root -}}
metadata:
  labels:
    {{- include "soakmon.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ if .chaos }}chaos{{ else }}run{{ end }}
    {{- with $.Values.run.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") $ | sha256sum }}
    {{- with $.Values.run.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "soakmon.serviceAccountName" $ }}
  {{- if .chaos }}
  # `soakmon chaos run`: the chaos actions call the Kubernetes API (the chaos Role).
  automountServiceAccountToken: true
  {{- else }}
  # `soakmon run` calls no Kubernetes API.
  automountServiceAccountToken: false
  {{- end }}
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "soakmon.podSecurityContext" $ | nindent 4 }}
  containers:
    - name: soakmon
      image: {{ include "soakmon.image" $ }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args:
        {{- if .chaos }}
        {{- include "soakmon.chaosArgs" $ | nindent 8 }}
        {{- else }}
        {{- include "soakmon.runArgs" $ | nindent 8 }}
        {{- end }}
        {{- if .shards }}
        - --shard
        - "$(JOB_COMPLETION_INDEX)/{{ .shards }}"
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- if .chaos }}
        - name: SOAKMON_STATE_DIR
          value: {{ include "soakmon.chaosStateDir" $ | quote }}
        {{- end }}
        {{- if .shards }}
        # Set by Kubernetes for Indexed Jobs; repeated here so $(...) expansion sees it.
        - name: JOB_COMPLETION_INDEX
          valueFrom:
            fieldRef:
              fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
        {{- end }}
        {{- with $.Values.run.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      resources:
        {{- toYaml $.Values.run.resources | nindent 8 }}
      securityContext:
        {{- include "soakmon.containerSecurityContext" $ | nindent 8 }}
      volumeMounts:
        {{- include "soakmon.volumeMounts" $ | nindent 8 }}
  volumes:
    {{- include "soakmon.volumes" $ | nindent 4 }}
  {{- with $.Values.run.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.run.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.run.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Job spec fields shared by the Job, the CronJob's jobTemplate and the sharded Job. */}}
{{- define "soakmon.runJobSpec" -}}
backoffLimit: {{ .Values.run.backoffLimit }}
activeDeadlineSeconds: {{ .Values.run.activeDeadlineSeconds }}
ttlSecondsAfterFinished: {{ .Values.run.ttlSecondsAfterFinished }}
# soakmon run's exit codes (monitor.errors.ExitCode): 1 a check failed, 2 a configuration
# error -> fail at once; 3 the target was unreachable, 4 a check could not be evaluated ->
# count against backoffLimit; evictions do not count.
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        containerName: soakmon
        operator: In
        values: [1, 2]
    - action: Count
      onExitCodes:
        containerName: soakmon
        operator: In
        values: [3, 4]
    - action: Ignore
      onPodConditions:
        - {type: DisruptionTarget, status: "True"}
{{- end }}
