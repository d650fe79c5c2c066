{{/* Chart name, truncated to the 63 characters DNS names allow. */}}
{{- define "soakmon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart unless the release name already contains it. */}}
{{- define "soakmon.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "soakmon.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels; "component" tells the daemon, jobs and the reference target apart. */}}
{{- define "soakmon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "soakmon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "soakmon.labels" -}}
helm.sh/chart: {{ include "soakmon.chart" . }}
{{ include "soakmon.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: soakmon
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "soakmon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "soakmon.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "soakmon.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else -}}
{{ printf "%s:%s" .Values.image.repository $tag }}
{{- end -}}
{{- end }}

{{/* Where the chart mounts things: the daemon and `soakmon run` read these paths. */}}
{{- define "soakmon.configDir" -}}/etc/soakmon{{- end }}
{{- define "soakmon.secretDir" -}}/var/run/secrets/soakmon{{- end }}
{{- define "soakmon.workDir" -}}/var/lib/soakmon{{- end }}

{{/* The daemon config as the daemon reads it: values' config (templated) plus the server
section the chart owns, so the port always matches the container port and the probes. */}}
{{- define "soakmon.daemonConfig" -}}
{{- $cfg := fromYaml (tpl (toYaml .Values.config) .) -}}
{{- $_ := set $cfg "server" (dict "host" "0.0.0.0" "port" (int .Values.daemon.port)) -}}
{{- with .Values.runbookBaseUrl -}}
{{- $alerting := $cfg.alerting | default dict -}}
{{- if not (hasKey $alerting "runbook_base_url") -}}
{{- $_ := set $alerting "runbook_base_url" . -}}
{{- $_ := set $cfg "alerting" $alerting -}}
{{- end -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end }}

{{/* Namespaces whose pod metrics the kubernetes probes read (empty: no probe needs the API). */}}
{{- define "soakmon.probeNamespaces" -}}
{{- $ns := list -}}
{{- range .Values.config.probes | default list -}}
{{- if eq (toString .kind) "kubernetes" -}}
{{- $ns = append $ns (tpl (toString .namespace) $) -}}
{{- end -}}
{{- end -}}
{{- toYaml ($ns | uniq | sortAlpha) -}}
{{- end }}

{{- define "soakmon.chaosNamespaces" -}}
{{- if .Values.chaos.enabled -}}
{{- toYaml (.Values.chaos.namespaces | default (list .Release.Namespace) | uniq | sortAlpha) -}}
{{- else -}}
[]
{{- end -}}
{{- end }}

{{/* True when some enabled feature calls the Kubernetes API (then the token is mounted). */}}
{{- define "soakmon.needsApi" -}}
{{- if or (fromYamlArray (include "soakmon.probeNamespaces" .)) .Values.chaos.enabled -}}true{{- end -}}
{{- end }}

{{- define "soakmon.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "soakmon.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/* Target URL of one-shot runs: run.target, else the bundled reference target. */}}
{{- define "soakmon.runTarget" -}}
{{- if .Values.run.target -}}
{{- tpl .Values.run.target . -}}
{{- else if .Values.referenceTarget.enabled -}}
{{- printf "http://%s-reference:%d" (include "soakmon.fullname" .) (int .Values.referenceTarget.port) -}}
{{- else -}}
{{- fail "run.target is required when job, cronJob or shardedJob is enabled (or enable referenceTarget)" -}}
{{- end -}}
{{- end }}

{{/* Arguments of `soakmon run` shared by the Job, the CronJob and the sharded Job. */}}
{{/* Arguments of the chaos Job: one experiment of chaos.experimentFiles, once. */}}
{{- define "soakmon.chaosArgs" -}}
- chaos
- run
- {{ printf "%s/experiments/%s" (include "soakmon.configDir" .) .Values.chaos.job.experiment | quote }}
{{- if .Values.chaos.job.dryRun }}
- --dry-run
{{- end }}
- --json
- {{ printf "%s/report.json" (include "soakmon.workDir" .) | quote }}
- --junit
- {{ printf "%s/report.xml" (include "soakmon.workDir" .) | quote }}
{{- range .Values.chaos.job.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* Where the journal of active faults lives: the work emptyDir, which outlives a crashed
container (the next start reverts what it left), not a deleted pod; in the daemon, a
PersistentVolumeClaim mounted here with chaos.journal.persistence.enabled. */}}
{{- define "soakmon.chaosStateDir" -}}{{ include "soakmon.workDir" . }}/chaos{{- end }}

{{/* The claim holding the daemon's journal when chaos.journal.persistence is enabled. */}}
{{- define "soakmon.journalClaim" -}}
{{- .Values.chaos.journal.persistence.existingClaim | default (printf "%s-chaos-journal" (include "soakmon.fullname" .)) -}}
{{- end }}

{{- define "soakmon.runArgs" -}}
- run
{{- range .Values.run.suites }}
- {{ . | quote }}
{{- end }}
- --target
- {{ include "soakmon.runTarget" . | quote }}
- --profile
- {{ .Values.run.profile | quote }}
{{- range .Values.run.scenarios }}
- --scenario
- {{ . | quote }}
{{- end }}
{{- range $k, $v := .Values.run.params }}
- --param
- {{ printf "%s=%v" $k $v | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.run.seed) }}
- --seed
- {{ .Values.run.seed | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.run.attempts) }}
- --attempts
- {{ .Values.run.attempts | quote }}
{{- end }}
{{- if .Values.run.attemptsAll }}
- --attempts-all
{{- end }}
{{- if not (kindIs "invalid" .Values.run.maxSpreadUs) }}
- --max-spread-us
- {{ .Values.run.maxSpreadUs | quote }}
{{- end }}
{{- if .Values.run.pushgateway.url }}
- --pushgateway
- {{ tpl .Values.run.pushgateway.url . | quote }}
- --push-job
- {{ .Values.run.pushgateway.job | quote }}
{{- end }}
- --json
- {{ printf "%s/report.json" (include "soakmon.workDir" .) | quote }}
- --junit
- {{ printf "%s/report.xml" (include "soakmon.workDir" .) | quote }}
{{- range .Values.run.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* Volumes every soakmon pod mounts: config, secret, extra config maps, writable dirs. */}}
{{- define "soakmon.volumes" -}}
- name: config
  configMap:
    name: {{ include "soakmon.fullname" . }}
    items:
      - key: daemon.yaml
        path: daemon.yaml
      {{- range $name, $_ := .Values.suiteFiles }}
      - key: suite.{{ $name }}
        path: suites/{{ $name }}
      {{- end }}
      {{- range $name, $_ := .Values.profileFiles }}
      - key: profile.{{ $name }}
        path: profiles/{{ $name }}
      {{- end }}
      {{- range $name, $_ := .Values.chaos.experimentFiles }}
      - key: experiment.{{ $name }}
        path: experiments/{{ $name }}
      {{- end }}
- name: work
  emptyDir:
    sizeLimit: {{ .Values.workDirSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.workDirSizeLimit }}
{{- if .Values.existingSecret }}
- name: credentials
  secret:
    secretName: {{ tpl .Values.existingSecret . }}
    defaultMode: 0440
{{- end }}
{{- range .Values.extraConfigMaps }}
- name: extra-{{ .name }}
  configMap:
    name: {{ tpl .name $ }}
{{- end }}
{{- end }}

{{- define "soakmon.volumeMounts" -}}
- name: config
  mountPath: {{ include "soakmon.configDir" . }}
  readOnly: true
- name: work
  mountPath: {{ include "soakmon.workDir" . }}
- name: tmp
  mountPath: /tmp
{{- if .Values.existingSecret }}
- name: credentials
  mountPath: {{ include "soakmon.secretDir" . }}
  readOnly: true
{{- end }}
{{- range .Values.extraConfigMaps }}
- name: extra-{{ .name }}
  mountPath: {{ .mountPath | default (printf "%s/extra/%s" (include "soakmon.configDir" $) .name) }}
  readOnly: true
{{- end }}
{{- end }}


{{/* config.grace_period in seconds (number, or a duration string such as 20s, 1m, 1m30s). */}}
{{- define "soakmon.graceSeconds" -}}
{{- $g := .Values.config.grace_period | default 20 -}}
{{- if kindIs "string" $g -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9.]+[a-z]+" $g -1 -}}
{{- $n := float64 (regexFind "[0-9.]+" .) -}}
{{- $u := regexFind "[a-z]+$" . -}}
{{- $total = addf $total (mulf $n (get (dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0) $u)) -}}
{{- end -}}
{{- if regexMatch "^[0-9.]+$" $g }}{{ $total = float64 $g }}{{ end -}}
{{- $total -}}
{{- else -}}
{{- float64 $g -}}
{{- end -}}
{{- end }}

{{/* RBAC rules, equal to the tables the code declares (a test compares them). */}}
{{- define "soakmon.rules.probe" -}}
# kubernetes probe: CoreV1Api.list_namespaced_pod (the pods of the selector), then
# CustomObjectsApi.list_namespaced_custom_object(metrics.k8s.io/v1beta1 pods)
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: ["metrics.k8s.io"]
  resources: ["pods"]
  verbs: ["list"]
{{- end }}

{{- /* One block per chaos action kind (monitor/chaos/access.py ACCESS): only the kinds in
chaos.actions are granted. */ -}}
{{- define "soakmon.rules.chaos" -}}
{{- $actions := .Values.chaos.actions | default (list "pod-kill") -}}
{{- if has "pod-kill" $actions -}}
# pod-kill: list the pods of the selector (victims, replacements), delete the victims
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["delete", "list"]
{{- end }}
{{- if has "rollout-restart" $actions }}
# rollout-restart: patch the pod template's restartedAt, read the rollout's progress
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "patch"]
{{- end }}
{{- if has "scale" $actions }}
# scale: read and set replicas through the scale subresource, read readiness
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get"]
- apiGroups: ["apps"]
  resources: ["statefulsets/scale"]
  verbs: ["get", "patch"]
{{- end }}
{{- if has "chaos-mesh" $actions }}
# chaos-mesh: create the resource, read it, delete it on revert (discovery needs no rule)
- apiGroups: ["chaos-mesh.org"]
  resources: ["podchaos", "networkchaos", "stresschaos", "iochaos", "httpchaos"]
  verbs: ["create", "delete", "get"]
{{- end }}
{{- end }}

{{/* "true" when a prometheus-operator object is wanted: enabled true, or "auto" and the
cluster serves monitoring.coreos.com/v1. */}}
{{- define "soakmon.operatorEnabled" -}}
{{- $flag := toString .flag -}}
{{- if or (eq $flag "true") (and (eq $flag "auto") (.root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}true{{- end -}}
{{- end }}
