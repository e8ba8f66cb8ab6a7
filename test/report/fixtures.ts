// Hand-written YAML for the report tests: one file with every problem the report finds.

/** A RuntimeClass, a conflicting Deployment, a Job on an undefined class, a Pod setting overhead, a duplicate class and a non-Kubernetes document. */
export const PROBLEMS_YAML = `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: kata
handler: kata-qemu
overhead:
  podFixed:
    cpu: 250m
    memory: 320Mi
scheduling:
  nodeSelector:
    runtimeclass.cdk8s.io/kata-qemu: ready
    pool: vm
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      runtimeClassName: kata
      nodeSelector:
        pool: general
      containers:
        - name: app
          image: nginx
          resources:
            requests: {cpu: 100m, memory: 128Mi}
---
apiVersion: batch/v1
kind: Job
metadata: {name: batch, namespace: shop}
spec:
  parallelism: 4
  completions: 2
  template:
    spec:
      runtimeClassName: gvisor
      containers:
        - name: worker
          resources: {limits: {cpu: 1, memory: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: manual}
spec:
  runtimeClassName: kata
  overhead: {cpu: 250m, memory: 320Mi}
  containers:
    - name: app
      resources: {requests: {memory: 64Mi}}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: kata}
handler: kata-clh
---
# a Helm values file that slipped in
replicaCount: 2
`;

/** No problem: a class, a DaemonSet and a Deployment on it, a plain Deployment. */
export const CLEAN_YAML = `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      runtimeClassName: gvisor
      containers:
        - {name: agent, resources: {requests: {cpu: 50m, memory: 64Mi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - {name: api, resources: {requests: {cpu: 200m, memory: 256Mi}}}
`;
