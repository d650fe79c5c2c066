"""The Kubernetes side of the chaos actions.

```
api.py        KubeChaosApi: every Kubernetes API call of the chaos kinds (the official client)
victims.py    which pods a pod-kill deletes (count/percent, maxUnavailable, never the monitor's)
identity.py   the monitor's own pod and namespace; which namespaces are refused
guard.py      the "kube-namespace" guard (the experiment's allowed namespaces)
chaosmesh.py  Chaos Mesh resources as soakmon creates them (name, labels, duration)
common.py     settings field types, the lazily made client, bounded waits
```

The kinds are in ``monitor.chaos.actions``: ``kube_pods`` (pod-kill), ``kube_workloads``
(rollout-restart, scale) and ``chaos_mesh``; their RBAC rules in :mod:`monitor.chaos.access`.
"""
