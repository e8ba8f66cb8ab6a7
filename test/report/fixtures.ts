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

/**
 * `kubectl get all -o yaml`-shaped: a Deployment (3 replicas) with its current ReplicaSet (3), an
 * old one scaled to 0 and 3 Pods; a CronJob with one Job (parallelism 2) and its 2 Pods; a bare
 * Pod. 3 + 2 + 1 pods exist. Each ownerReferences sits on one line, so that a test can drop them.
 */
export const GET_ALL_YAML = `apiVersion: v1
items:
- apiVersion: node.k8s.io/v1
  kind: RuntimeClass
  metadata: {name: kata, uid: 0c000000-0000-4000-8000-000000000001}
  handler: kata-qemu
  overhead: {podFixed: {cpu: 250m, memory: 320Mi}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop, uid: 0d000000-0000-4000-8000-000000000001}
  spec:
    replicas: 3
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        runtimeClassName: kata
        containers: [{name: app, image: nginx:1.27, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: web-7d4b9c6f5
    namespace: shop
    labels: {app: web, pod-template-hash: 7d4b9c6f5}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: 0d000000-0000-4000-8000-000000000001, controller: true}]
    uid: 0a000000-0000-4000-8000-000000000002
  spec:
    replicas: 3
    selector: {matchLabels: {app: web, pod-template-hash: 7d4b9c6f5}}
    template:
      metadata: {labels: {app: web, pod-template-hash: 7d4b9c6f5}}
      spec:
        runtimeClassName: kata
        containers: [{name: app, image: nginx:1.27, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: web-5f8c7b9d4
    namespace: shop
    labels: {app: web, pod-template-hash: 5f8c7b9d4}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: 0d000000-0000-4000-8000-000000000001, controller: true}]
    uid: 0a000000-0000-4000-8000-000000000001
  spec:
    replicas: 0
    selector: {matchLabels: {app: web, pod-template-hash: 5f8c7b9d4}}
    template:
      metadata: {labels: {app: web, pod-template-hash: 5f8c7b9d4}}
      spec:
        runtimeClassName: kata
        containers: [{name: app, image: nginx:1.26, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
${['2xkqz', 'h8v4n', 'q9m7c'].map((suffix, i) => `- apiVersion: v1
  kind: Pod
  metadata:
    generateName: web-7d4b9c6f5-
    labels: {app: web, pod-template-hash: 7d4b9c6f5}
    name: web-7d4b9c6f5-${suffix}
    namespace: shop
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c6f5, uid: 0a000000-0000-4000-8000-000000000002, controller: true}]
    uid: 0b000000-0000-4000-8000-00000000000${i}
  spec:
    runtimeClassName: kata
    overhead: {cpu: 250m, memory: 320Mi}
    nodeName: node-${i}
    containers: [{name: app, image: nginx:1.27, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
  status: {phase: Running}
`).join('')}- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: resize, namespace: shop, uid: 0e000000-0000-4000-8000-000000000001}
  spec:
    schedule: "*/5 * * * *"
    jobTemplate:
      spec:
        parallelism: 2
        template:
          metadata: {labels: {app: resize}}
          spec:
            restartPolicy: Never
            containers: [{name: resize, image: resize:1, resources: {requests: {cpu: 500m, memory: 256Mi}}}]
- apiVersion: batch/v1
  kind: Job
  metadata:
    name: resize-29410230
    namespace: shop
    ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: resize, uid: 0e000000-0000-4000-8000-000000000001, controller: true}]
    uid: 0f000000-0000-4000-8000-000000000001
  spec:
    parallelism: 2
    template:
      metadata: {labels: {app: resize, batch.kubernetes.io/job-name: resize-29410230, job-name: resize-29410230}}
      spec:
        restartPolicy: Never
        containers: [{name: resize, image: resize:1, resources: {requests: {cpu: 500m, memory: 256Mi}}}]
${['x7k2p', 'm4r8t'].map((suffix, i) => `- apiVersion: v1
  kind: Pod
  metadata:
    labels: {app: resize, batch.kubernetes.io/job-name: resize-29410230, job-name: resize-29410230}
    name: resize-29410230-${suffix}
    namespace: shop
    ownerReferences: [{apiVersion: batch/v1, kind: Job, name: resize-29410230, uid: 0f000000-0000-4000-8000-000000000001, controller: true}]
    uid: 0b000000-0000-4000-8000-00000000001${i}
  spec:
    restartPolicy: Never
    nodeName: node-${i}
    containers: [{name: resize, image: resize:1, resources: {requests: {cpu: 500m, memory: 256Mi}}}]
`).join('')}- apiVersion: v1
  kind: Pod
  metadata: {name: debug, namespace: shop, uid: 0b000000-0000-4000-8000-000000000099}
  spec:
    containers: [{name: shell, image: busybox, resources: {requests: {cpu: 50m, memory: 16Mi}}}]
kind: List
metadata:
  resourceVersion: ""
`;
