# Cluster flavour "default": Kubernetes v1.34.4 and etcd 3.6, all in kbin
# (tests/e2e/cluster/main.go), node-1 on Docker through cri-dockerd and node-2
# on containerd. Every suite of `make test` runs on it.
FLAVOUR_DESCRIPTION="Kubernetes $K8S_VERSION (kbin), etcd 3.6"
FLAVOUR_VERSION=$K8S_VERSION
FLAVOUR_NODES="node-1:docker node-2:containerd"
FLAVOUR_BUILD=(cluster/build.sh)
FLAVOUR_KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.33

# Binary (under RS_CACHE) and subcommand of each control-plane component.
FLAVOUR_ETCD=(bin/kbin etcd)
FLAVOUR_APISERVER=(bin/kbin apiserver)
FLAVOUR_CONTROLLER_MANAGER=(bin/kbin controller-manager)
FLAVOUR_SCHEDULER=(bin/kbin scheduler)
# The kubelet per role a node kind asks for (KIND_KUBELET): "PATH VERSION".
# kbin runs as the kubelet when installed as /usr/bin/kubelet.
FLAVOUR_KUBELET[cri]="bin/kbin $K8S_VERSION"

# Flags beyond the ones every supported version takes (cluster.sh passes
# those): what this version needs or offers that others lack.
FLAVOUR_ETCD_FLAGS=(--unsafe-no-fsync --log-level warn)
# PodSecurity admission: beta from 1.23, GA in 1.25.
FLAVOUR_APISERVER_FLAGS=(--enable-admission-plugins=NodeRestriction,PodSecurity)
FLAVOUR_CONTROLLER_MANAGER_FLAGS=()
FLAVOUR_SCHEDULER_FLAGS=()
