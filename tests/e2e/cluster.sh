#!/usr/bin/env bash
# The e2e test cluster of kubectl-runtime-switch: a real control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler) on this machine and
# real systemd nodes (systemd-nspawn containers booting a Debian bookworm
# image) on a bridge of our own. By default (every suite of `make test`):
#
#   node-1  Docker 20.10 through cri-dockerd (the node the product switches)
#   node-2  containerd 1.6 with CRI on (the bystander that hosts drained pods)
#
# Usage: [CLUSTER=FLAVOUR] [NODES="NAME:KIND[@ZONE] ..."] tests/e2e/cluster.sh COMMAND
#   build                 build what `up` needs (kbin, cri-dockerd, node images,
#                         helpers; all cached)
#   up                    start everything and seed the workload (idempotent;
#                         cleans leftovers of a crashed run first); a running
#                         cluster of another flavour or node set is taken down first
#   down                  stop everything; leaves no process, mount, veth,
#                         bridge, cgroup or node behind
#   status                show the flavour, the node set, processes and nodes
#   env                   print `export KUBECONFIG=...` and, when up, the
#                         flavour and node set as RSW_E2E_CLUSTER, RSW_E2E_NODES
#                         (eval "$(cluster.sh env)")
#   exec NODE -- CMD...   run CMD inside NODE (all its namespaces, its PID 1's view)
#   pid1 NODE             print the machine PID of NODE's systemd (PID 1 inside)
#   reset-node NODE       restore NODE from the image (fresh runtime state) and
#                         wait for it to be Ready again
#   restart-node NODE     reboot NODE: restart its container, keeping its root
#                         filesystem, and wait for it to be Ready again
#   compact               compact etcd's history to its current revision, as the
#                         API server does every five minutes: a fresh cluster
#                         still has revision 1, an aged one answers 410 for it
#
# CLUSTER and NODES are read by `build` and `up` only; every other command acts
# on the running cluster (its flavour and node set are in $RS_STATE/cluster).
#   CLUSTER   the flavour (tests/e2e/cluster/flavours/FLAVOUR.sh: control-plane
#             binaries and version, default node set, kubelet per node kind);
#             default: "default" (Kubernetes v1.34.4, etcd 3.6)
#   NODES     the node set, in order: NAME:KIND[@ZONE] separated by spaces.
#             NAME: [a-z][a-z0-9-], at most 12 characters. KIND: a file
#             tests/e2e/node/kinds/KIND.sh (docker, containerd, ...; the
#             interface is in that folder's README.md). ZONE: the Node's
#             topology.kubernetes.io/zone label, default zone-a. The I-th node
#             (from 1) gets the address 10.77.0.(10+I) and the pod CIDR
#             10.244.I.0/24. At least one node must be of a kind that makes the
#             seeded images (docker). The first node holds the seeded static,
#             bare and emptyDir pods. Default: the flavour's set, for
#             "default" "node-1:docker node-2:containerd".
#   e.g.  NODES="node-1:docker node-2:containerd node-3:docker@zone-b node-4:docker@zone-b" cluster.sh up
#
# Everything marked "MACHINE ADAPTATION" below exists because of this test
# machine (cgroup v1 with read-only controllers in containers, a capability
# bounding set without CAP_SYS_RESOURCE, no systemd as PID 1); none of it is
# product behaviour.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cluster/lib.sh"
. "$E2E_DIR/cluster/nodeset.sh"

PKI=$RS_STATE/pki
LOGS=$RS_STATE/logs
RUN=$RS_STATE/run
KUBECONFIG_ADMIN=$RS_STATE/admin.conf
NODES_DIR=$RS_CACHE/nodes
APISERVER_URL=https://$BRIDGE_ADDR:6443
ETCD_CLIENT=127.0.0.1:32379
ETCD_PEER=127.0.0.1:32380
CGROUP_HIERARCHIES=(cpu cpuacct cpuset memory devices freezer blkio pids systemd unified)
UP_TIMEOUT=${UP_TIMEOUT:-300}

kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# ---------------------------------------------------------------- build ---

build_helpers() {
	# pause (the sandbox image's only program) and runc-adapt, static C.
	require_cmd gcc
	local src name key out
	for name in pause runc-adapt; do
		src=$E2E_DIR/node/$name.c
		key=$(hash_files "$src")
		out=$RS_CACHE/bin/$name-$key
		if [[ ! -x $out ]]; then
			gcc -static -O2 -Wall -Wextra -Werror -o "$out.tmp" "$src"
			mv "$out.tmp" "$out"
			find "$RS_CACHE/bin" -maxdepth 1 -name "$name-*" ! -name "$name-$key" -delete
		fi
		ln -sfn "$name-$key" "$RS_CACHE/bin/$name"
	done
}

# The kinds of the node set, each once, in order.
set_kinds() {
	local node kind out=()
	for node in "${NODE_NAMES[@]}"; do
		kind=${NODE_KIND[$node]}
		[[ " ${out[*]} " == *" $kind "* ]] || out+=("$kind")
	done
	echo "${out[*]}"
}

# The build scripts (relative to tests/e2e) of the set's kinds, then of the
# flavour, each once; a missing one is an error naming who declares it.
build_scripts() {
	local kind s seen=" "
	for kind in $(set_kinds); do
		for s in ${KIND_BUILDS[$kind]}; do
			[[ -f $E2E_DIR/$s ]] || die "node kind $kind: its build script tests/e2e/$s does not exist"
			[[ $seen == *" $s "* ]] || { echo "$s"; seen+="$s "; }
		done
	done
	for s in "${FLAVOUR_BUILD[@]}"; do
		[[ -f $E2E_DIR/$s ]] ||
			die "cluster flavour $FLAVOUR: its build script tests/e2e/$s does not exist yet ($FLAVOURS_DIR/$FLAVOUR.sh)"
		[[ $seen == *" $s "* ]] || { echo "$s"; seen+="$s "; }
	done
}

# The root filesystem a kind's nodes are copied from.
image_root() {
	local v=${KIND_IMAGE_OF[$1]}
	if [[ $v == base ]]; then
		echo "$RS_CACHE/rootfs/current"
	else
		echo "$RS_CACHE/rootfs/v-$v"
	fi
}

# Image variants of the set's kinds (node/build-variant.sh), each once.
build_variants() {
	local kind v seen=" "
	declare -A what=()
	for kind in $(set_kinds); do
		v=${KIND_IMAGE_OF[$kind]}
		[[ $v == base ]] && continue
		if [[ -n ${what[$v]:-} ]]; then
			[[ ${what[$v]} == "${KIND_IMAGE_PKGS[$kind]}|${KIND_IMAGE_BINS[$kind]}" ]] ||
				die "node kinds of this set declare image variant $v twice, differently (kind $kind)"
			continue
		fi
		what[$v]="${KIND_IMAGE_PKGS[$kind]}|${KIND_IMAGE_BINS[$kind]}"
		"$E2E_DIR/node/build-variant.sh" "$v" "${KIND_IMAGE_PKGS[$kind]}" "${KIND_IMAGE_BINS[$kind]}"
	done
}

cmd_build() {
	require_root
	use_requested
	log "building for cluster flavour $FLAVOUR, nodes $NODESET"
	mkdir -p "$RS_CACHE/bin"
	"$E2E_DIR/node/build-image.sh"
	build_helpers
	local s
	for s in $(build_scripts); do
		"$E2E_DIR/$s"
	done
	build_variants
}

check_built() {
	local f kind hint="run 'tests/e2e/cluster.sh build' (make cluster-build) first"
	[[ -z ${CLUSTER:-} && -z ${NODES:-} ]] || hint="run '${CLUSTER:+CLUSTER=$CLUSTER }${NODES:+NODES=\"$NODES\" }tests/e2e/cluster.sh build' first"
	for f in bin/pause bin/runc-adapt rootfs/current/.complete; do
		[[ -e $RS_CACHE/$f ]] || die "$RS_CACHE/$f missing: $hint"
	done
	for kind in $(set_kinds); do
		for f in ${KIND_BINS[$kind]} ${KIND_IMAGE_BINS[$kind]}; do
			[[ -e $RS_CACHE/${f%%:*} ]] || die "node kind $kind needs $RS_CACHE/${f%%:*}: $hint"
		done
		f=$(image_root "$kind")/.complete
		[[ -e $f ]] || die "node kind $kind needs its image variant ($f): $hint"
		f=$(kubelet_of "$kind")
		f=${f%% *}
		[[ -e $RS_CACHE/$f ]] ||
			die "cluster flavour $FLAVOUR needs $RS_CACHE/$f (kubelet for node kind $kind): $(flavour_hint "$hint")"
	done
	while read -r f; do
		[[ -e $RS_CACHE/$f ]] ||
			die "cluster flavour $FLAVOUR needs $RS_CACHE/$f (control plane $FLAVOUR_VERSION): $(flavour_hint "$hint")"
	done < <(flavour_control_plane)
}

# How the flavour's binaries get built: HINT, or that its build script does
# not exist (yet).
flavour_hint() {
	local s
	for s in "${FLAVOUR_BUILD[@]}"; do
		[[ -f $E2E_DIR/$s ]] || {
			echo "it is built by tests/e2e/$s, which does not exist yet ($FLAVOURS_DIR/$FLAVOUR.sh)"
			return
		}
	done
	echo "$1 (${FLAVOUR_BUILD[*]})"
}

# ------------------------------------------------------------------ PKI ---

# cert NAME SUBJECT [SAN] -- key + certificate signed by the cluster CA.
cert() {
	local name=$1 subj=$2 san=${3:-} ext
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	ext=$PKI/$name.ext
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [[ -n $san ]]; then
			echo "extendedKeyUsage=serverAuth,clientAuth"
			echo "subjectAltName=$san"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"$ext"
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 30 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
	rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig FILE CERTNAME USER -- self-contained kubeconfig for the API server.
kubeconfig() {
	local file=$1 name=$2 user=$3
	cat >"$file" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: rsw-e2e
		  cluster:
		    server: $APISERVER_URL
		    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
		users:
		- name: $user
		  user:
		    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
		    client-key-data: $(base64 -w0 "$PKI/$name.key")
		contexts:
		- name: $user@rsw-e2e
		  context:
		    cluster: rsw-e2e
		    user: $user
		current-context: $user@rsw-e2e
	EOF
	chmod 600 "$file"
}

make_pki() {
	log "creating PKI and kubeconfigs in $PKI"
	mkdir -p "$PKI"
	chmod 700 "$PKI"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=rsw-e2e-ca" -days 30 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-out "$PKI/ca.crt" 2>/dev/null
	cert apiserver "/CN=kube-apiserver" \
		"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$BRIDGE_ADDR,IP:127.0.0.1,IP:$SERVICE_IP"
	cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client"
	cert admin "/O=system:masters/CN=admin"
	cert controller-manager "/CN=system:kube-controller-manager"
	cert scheduler "/CN=system:kube-scheduler"
	local n
	for n in "${NODE_NAMES[@]}"; do
		cert "$n" "/O=system:nodes/CN=system:node:$n"
	done
	# Service-account token signing key pair.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
	openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	kubeconfig "$KUBECONFIG_ADMIN" admin admin
	kubeconfig "$PKI/controller-manager.conf" controller-manager system:kube-controller-manager
	kubeconfig "$PKI/scheduler.conf" scheduler system:kube-scheduler
	for n in "${NODE_NAMES[@]}"; do
		kubeconfig "$PKI/$n.conf" "$n" "system:node:$n"
	done
}

# ------------------------------------------------------- control plane ---

# start_proc NAME CMD... -- run in the background, own session, pidfile + log.
start_proc() {
	local name=$1
	shift
	# No descriptor but stdin, stdout and stderr lives on in the long-running
	# process: a lock held through one (fd 9, the command lock; a caller's
	# flock(1) without -o) would stay held for as long as the cluster runs.
	(
		local fd
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			((fd <= 2)) || eval "exec $fd>&-"
		done
		exec setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1
	) &
	echo $! >"$RUN/$name.pid"
}

# Alive and not a zombie (a killed process nobody has reaped yet).
pid_alive() {
	local stat
	[[ -n $1 ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

proc_alive() {
	local pid
	pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
	pid_alive "$pid"
}

# wait_for WHAT SECONDS CMD... -- poll CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# The command of a control-plane component: its flavour declaration
# (binary under RS_CACHE, subcommand...) as a command line in the named array.
component_cmd() {
	local -n decl=$1 out=$2
	out=("$RS_CACHE/${decl[0]}" "${decl[@]:1}")
}

# Every flag below is taken by each supported version (v1.24 to v1.34, etcd
# 3.5 and 3.6); what differs by version is in the flavour's FLAVOUR_*_FLAGS.
start_control_plane() {
	local -a etcd apiserver kcm sched
	component_cmd FLAVOUR_ETCD etcd
	component_cmd FLAVOUR_APISERVER apiserver
	component_cmd FLAVOUR_CONTROLLER_MANAGER kcm
	component_cmd FLAVOUR_SCHEDULER sched
	log "starting etcd"
	start_proc etcd "${etcd[@]}" --name rsw-e2e --data-dir "$RS_STATE/etcd" \
		--listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
		--listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
		--initial-cluster "rsw-e2e=http://$ETCD_PEER" --listen-metrics-urls "" \
		"${FLAVOUR_ETCD_FLAGS[@]}"
	wait_for etcd 60 curl -fsS "http://$ETCD_CLIENT/health" ||
		{ tail -n 20 "$LOGS/etcd.log" >&2; die "etcd did not become healthy"; }

	log "starting kube-apiserver $FLAVOUR_VERSION on $APISERVER_URL"
	start_proc apiserver "${apiserver[@]}" \
		--advertise-address="$BRIDGE_ADDR" --bind-address="$BRIDGE_ADDR" --secure-port=6443 \
		--etcd-servers="http://$ETCD_CLIENT" \
		--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
		--client-ca-file="$PKI/ca.crt" \
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
		--service-cluster-ip-range="$SERVICE_CIDR" \
		--authorization-mode=Node,RBAC \
		--allow-privileged=true \
		--profiling=false \
		"${FLAVOUR_APISERVER_FLAGS[@]}"
	wait_for apiserver 120 kc get --raw /readyz ||
		{ tail -n 30 "$LOGS/apiserver.log" >&2; die "kube-apiserver did not become ready"; }

	# The API server's client certificate for kubelets (logs, exec, port-forward).
	kc create clusterrolebinding rsw-e2e:apiserver-kubelet-client \
		--clusterrole=system:kubelet-api-admin --user=kube-apiserver-kubelet-client >/dev/null

	log "starting kube-controller-manager and kube-scheduler"
	start_proc controller-manager "${kcm[@]}" \
		--kubeconfig="$PKI/controller-manager.conf" \
		--authentication-kubeconfig="$PKI/controller-manager.conf" \
		--authorization-kubeconfig="$PKI/controller-manager.conf" \
		--bind-address=127.0.0.1 \
		--controllers='*' --use-service-account-credentials --leader-elect=false \
		--root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
		--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
		--cluster-name=rsw-e2e "${FLAVOUR_CONTROLLER_MANAGER_FLAGS[@]}"
	start_proc scheduler "${sched[@]}" \
		--kubeconfig="$PKI/scheduler.conf" \
		--authentication-kubeconfig="$PKI/scheduler.conf" \
		--authorization-kubeconfig="$PKI/scheduler.conf" \
		--bind-address=127.0.0.1 --leader-elect=false "${FLAVOUR_SCHEDULER_FLAGS[@]}"
	wait_for controller-manager 60 curl -fsSk https://127.0.0.1:10257/healthz ||
		{ tail -n 30 "$LOGS/controller-manager.log" >&2; die "kube-controller-manager is not healthy"; }
	wait_for scheduler 60 curl -fsSk https://127.0.0.1:10259/healthz ||
		{ tail -n 30 "$LOGS/scheduler.log" >&2; die "kube-scheduler is not healthy"; }
	# The namespace of the seeded workload exists before the first node's
	# kubelet starts, so the mirror pod of its static pod appears at once.
	kc create namespace demo >/dev/null
}

# --------------------------------------------------------------- network ---

setup_bridge() {
	log "creating bridge $BRIDGE ($BRIDGE_CIDR)"
	ip link add "$BRIDGE" type bridge
	ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
	ip link set "$BRIDGE" up
}

# ----------------------------------------------------------------- nodes ---

node_dir() { echo "$NODES_DIR/$1"; }
node_root() { echo "$NODES_DIR/$1/rootfs"; }

node_pid1() {
	local pid
	pid=$(cat "$RUN/node-$1.pid1" 2>/dev/null) || return 1
	pid_alive "$pid" || return 1
	echo "$pid"
}

# Run a command inside a node: every namespace of its PID 1, clean environment.
node_exec() {
	local node=$1 pid
	shift
	pid=$(node_pid1 "$node") || die "$node is not running"
	nsenter -t "$pid" -m -u -i -n -p -C -- /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM="${TERM:-dumb}" \
		"$@"
}

# The machine-side cgroup (per hierarchy) that holds a node.
node_cgroup() { echo "/sys/fs/cgroup/$1/$CGROUP_PARENT/$2"; }

# kubelet_runtime_flags KIND VERSION -- the runtime flags kubeadm writes
# into kubeadm-flags.env for a kubelet of VERSION on a node of KIND: the
# kind's own (kind_kubelet_flags) or, for a CRI runtime, the endpoint
# (with --container-runtime=remote before v1.24, where "docker" was the default).
kubelet_runtime_flags() {
	local kind=$1 version=$2 cri=${KIND_CRI_OF[$1]}
	if kind_has "$kind" kubelet_flags; then
		kind_call "$kind" kubelet_flags "$version" "$cri"
	elif (($(minor_of "$version") < 24)); then
		echo "--container-runtime=remote --container-runtime-endpoint=$cri"
	else
		echo "--container-runtime-endpoint=$cri"
	fi
}

write_kubelet_files() {
	local node=$1 root=$2 kind=${NODE_KIND[$1]} kubelet version flags
	kubelet=$(kubelet_of "$kind")
	version=${kubelet#* }
	flags=$(kubelet_runtime_flags "$kind" "$version")
	install -d -m 755 "$root/etc/kubernetes/pki" "$root/etc/kubernetes/manifests" "$root/var/lib/kubelet"
	install -m 644 "$PKI/ca.crt" "$root/etc/kubernetes/pki/ca.crt"
	install -m 600 "$PKI/$node.conf" "$root/etc/kubernetes/kubelet.conf"
	cat >"$root/var/lib/kubelet/kubeadm-flags.env" <<-EOF
		KUBELET_KUBEADM_ARGS="$flags --node-ip=${NODE_IP[$node]}"
	EOF
	cat >"$root/var/lib/kubelet/config.yaml" <<-EOF
		apiVersion: kubelet.config.k8s.io/v1beta1
		kind: KubeletConfiguration
		authentication:
		  anonymous:
		    enabled: false
		  webhook:
		    enabled: true
		    cacheTTL: 0s
		  x509:
		    clientCAFile: /etc/kubernetes/pki/ca.crt
		authorization:
		  mode: Webhook
		  webhook:
		    cacheAuthorizedTTL: 0s
		    cacheUnauthorizedTTL: 0s
		cgroupDriver: ${KIND_CGROUP[$kind]}
		clusterDomain: cluster.local
		failSwapOn: false
		healthzBindAddress: 127.0.0.1
		healthzPort: 10248
		readOnlyPort: 0
		rotateCertificates: false
		resolvConf: /etc/resolv.conf
		staticPodPath: /etc/kubernetes/manifests
		# Imported images have no registry to come back from: never collect them.
		imageGCHighThresholdPercent: 100
		imageGCLowThresholdPercent: 99
		# The nodes share the machine's disk: no disk-pressure evictions.
		evictionHard:
		  imagefs.available: "0%"
		  imagefs.inodesFree: "0%"
		  nodefs.available: "0%"
		  nodefs.inodesFree: "0%"
		  memory.available: "100Mi"
	EOF
	# (a field of 1.31+)
	(($(minor_of "$version") < 31)) || cat >>"$root/var/lib/kubelet/config.yaml" <<-EOF
		# cgroup v1 is allowed (a warning) up to 1.34; 1.35+ would need this.
		failCgroupV1: false
	EOF
	[[ -z ${KIND_KCONFIG[$kind]} ]] || printf '%s\n' "${KIND_KCONFIG[$kind]}" >>"$root/var/lib/kubelet/config.yaml"
	# Pod network of this node: Debian's CNI plugins (bridge + host-local; the
	# runtime adds loopback itself).
	# The v1.23 kubelet's dockershim reads CNI configurations up to 0.4.0.
	local cni_version=1.0.0
	[[ ${KIND_KUBELET_ROLE[$kind]} != dockershim ]] || cni_version=0.4.0
	install -d -m 755 "$root/etc/cni/net.d"
	cat >"$root/etc/cni/net.d/10-rsw-e2e.conflist" <<-EOF
		{
		  "cniVersion": "$cni_version",
		  "name": "rsw-e2e-pods",
		  "plugins": [
		    {
		      "type": "bridge",
		      "bridge": "cni0",
		      "isGateway": true,
		      "ipMasq": true,
		      "hairpinMode": true,
		      "ipam": {
		        "type": "host-local",
		        "ranges": [[{ "subnet": "${POD_CIDR[$node]}" }]],
		        "routes": [{ "dst": "0.0.0.0/0" }]
		      }
		    },
		    { "type": "portmap", "capabilities": { "portMappings": true } }
		  ]
		}
	EOF
	cat >"$root/etc/cni/net.d/99-loopback.conf" <<-EOF
		{ "cniVersion": "$cni_version", "name": "lo", "type": "loopback" }
	EOF
	if [[ $node == "$(subject_node)" ]]; then
		# A static pod, as a kubeadm control-plane node would have.
		cat >"$root/etc/kubernetes/manifests/static-web.yaml" <<-EOF
			apiVersion: v1
			kind: Pod
			metadata:
			  name: static-web
			  namespace: demo
			  labels: {app: static-web}
			spec:
			  containers:
			  - name: web
			    image: $WORKLOAD_IMAGE
			    imagePullPolicy: Never
			    command: ["sleep", "1000000"]
		EOF
	fi
}

# Copy the cached image to the node's own root filesystem and configure it.
prepare_node_rootfs() {
	local node=$1 kind=${NODE_KIND[$1]} root kubelet
	root=$(node_root "$node")
	rm -rf "$(node_dir "$node")"
	mkdir -p "$(node_dir "$node")"
	mkdir -p "$root.tmp"
	cp -a --reflink=auto "$(image_root "$kind")/." "$root.tmp/"
	mv "$root.tmp" "$root"
	rm -f "$root/.complete"
	echo "$node" >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n%s %s\n%s rsw-e2e-apiserver\n' "${NODE_IP[$node]}" "$node" "$BRIDGE_ADDR" >"$root/etc/hosts"
	# The nodes are offline (no route out, no registry): a resolver on the
	# node's own loopback, where nothing listens, fails lookups at once instead
	# of letting a stray image pull hang on DNS timeouts.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$root/etc/resolv.conf"

	cp -a "$E2E_DIR/node/files/common/." "$root/"
	local f
	for f in ${KIND_FILES_OF[$kind]}; do
		cp -a "$E2E_DIR/node/files/$f/." "$root/"
	done
	kubelet=$(kubelet_of "$kind")
	install -m 755 "$RS_CACHE/${kubelet%% *}" "$root/usr/bin/kubelet"
	for f in ${KIND_BINS[$kind]}; do
		install -D -m 755 "$RS_CACHE/${f%%:*}" "$root${f#*:}"
	done
	# MACHINE ADAPTATION: /usr/local/sbin/runc (first in every service's PATH)
	# fits containers to the machine's capability bounding set and oom_score_adj
	# floor, then runs Debian's /usr/sbin/runc (see node/runc-adapt.c).
	install -m 755 "$RS_CACHE/bin/runc-adapt" "$root/usr/local/sbin/runc"
	write_kubelet_files "$node" "$root"

	# Node address on the bridge (host0 is the veth nspawn gives the node).
	# A oneshot unit with iproute2: systemd-networkd would wait forever for a
	# udev that a container does not run.
	cat >"$root/etc/systemd/system/rsw-e2e-net.service" <<-EOF
		[Unit]
		Description=e2e harness: node address ${NODE_IP[$node]}/24 on host0
		DefaultDependencies=no
		After=local-fs.target
		Before=network.target network-online.target
		Wants=network.target

		[Service]
		Type=oneshot
		RemainAfterExit=yes
		ExecStart=/sbin/ip link set host0 up
		ExecStart=/sbin/ip addr replace ${NODE_IP[$node]}/24 dev host0
		ExecStart=/sbin/ip route replace default via $BRIDGE_ADDR

		[Install]
		WantedBy=network-online.target multi-user.target
	EOF

	# shellcheck disable=SC2206
	local -a enable=(rsw-e2e-net.service rsw-e2e-node-adapt.service kubelet.service ${KIND_ENABLE_OF[$kind]})
	# shellcheck disable=SC2206
	local -a disable=(${KIND_DISABLE_OF[$kind]})
	local -a mask=(apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
		dpkg-db-backup.timer)
	systemctl --root="$root" --quiet enable "${enable[@]}"
	((${#disable[@]} == 0)) || systemctl --root="$root" --quiet disable "${disable[@]}"
	systemctl --root="$root" --quiet mask "${mask[@]}"

	# Images for the node, imported once it runs.
	install -d "$root/var/lib/rsw-e2e/images"
	install -m 644 "$RS_STATE/images/pause.tar" "$RS_STATE/images/busybox.tar" "$root/var/lib/rsw-e2e/images/"
}

# Root filesystems of the two local images (no registry): our static pause
# program, and busybox-static with its applet links.
make_image_tars() {
	local d=$RS_STATE/images/build
	rm -rf "$d"
	mkdir -p "$d/pause" "$d/busybox/bin" "$d/busybox/tmp" "$d/busybox/etc"
	install -m 755 "$RS_CACHE/bin/pause" "$d/pause/pause"
	tar -C "$d/pause" -cf "$RS_STATE/images/pause.tar" .
	local bb
	bb=$(command -v busybox) || die "busybox (busybox-static) is not installed"
	install -m 755 "$bb" "$d/busybox/bin/busybox"
	local applet
	for applet in $("$d/busybox/bin/busybox" --list); do
		[[ $applet == busybox ]] || ln -sf busybox "$d/busybox/bin/$applet"
	done
	chmod 1777 "$d/busybox/tmp"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$d/busybox/etc/passwd"
	echo 'root:x:0:' >"$d/busybox/etc/group"
	tar -C "$d/busybox" -cf "$RS_STATE/images/busybox.tar" .
	rm -rf "$d"
}

make_node_cgroups() {
	# MACHINE ADAPTATION: each node lives in its own cgroup (every hierarchy)
	# and systemd-nspawn gives it a cgroup namespace rooted there, so the
	# controllers the node re-mounts read-write show only its own subtree and
	# two kubelets never share /kubepods. cpuset needs cpus/mems copied down.
	local node=$1 h dir f
	for h in "${CGROUP_HIERARCHIES[@]}"; do
		[[ -d /sys/fs/cgroup/$h ]] || continue
		dir=$(node_cgroup "$h" "$node")
		mkdir -p "$dir"
		if [[ $h == cpuset ]]; then
			for f in cpuset.cpus cpuset.mems; do
				cat "/sys/fs/cgroup/cpuset/$f" >"/sys/fs/cgroup/cpuset/$CGROUP_PARENT/$f"
				cat "/sys/fs/cgroup/cpuset/$f" >"$dir/$f"
			done
		fi
	done
}

boot_node() {
	local node=$1 root pid launcher
	root=$(node_root "$node")
	make_node_cgroups "$node"
	launcher=$RUN/node-$node.launch
	# The launcher moves itself into the node's cgroups, then becomes nspawn.
	{
		echo 'set -e'
		local h
		for h in "${CGROUP_HIERARCHIES[@]}"; do
			[[ -d /sys/fs/cgroup/$h ]] && echo "echo \$\$ >$(node_cgroup "$h" "$node")/cgroup.procs"
		done
		echo "export SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 SYSTEMD_SECCOMP=0"
		echo "exec systemd-nspawn --quiet --boot --directory=$root --machine=$node" \
			"--register=no --keep-unit --capability=all --network-bridge=$BRIDGE" \
			"--resolv-conf=off --timezone=off --link-journal=no --console=read-only"
	} >"$launcher"
	log "booting $node (${NODE_KIND[$node]}, ${NODE_ZONE[$node]})"
	start_proc "node-$node" bash "$launcher"
	# The veth's machine side (vb-<name>) must be brought up by hand here.
	local veth=vb-$node i
	for ((i = 0; i < 100; i++)); do
		if ip link show "$veth" >/dev/null 2>&1; then
			ip link set "$veth" up
			break
		fi
		proc_alive "node-$node" || { tail -n 20 "$LOGS/node-$node.log" >&2; die "$node: systemd-nspawn exited"; }
		sleep 0.2
	done
	# PID 1 of the node: nspawn's child running systemd.
	local npid
	npid=$(cat "$RUN/node-$node.pid")
	for ((i = 0; i < 100; i++)); do
		pid=$(ps -o pid= --ppid "$npid" 2>/dev/null | head -n1 | tr -d ' ')
		if [[ -n $pid ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]]; then
			echo "$pid" >"$RUN/node-$node.pid1"
			return 0
		fi
		sleep 0.2
	done
	die "$node: cannot find the node's PID 1"
}

wait_node_booted() {
	local node=$1 state
	for ((i = 0; i < 120; i++)); do
		state=$(node_exec "$node" systemctl is-system-running 2>/dev/null || true)
		case $state in
		running) return 0 ;;
		degraded)
			node_exec "$node" systemctl --failed --no-legend >&2 || true
			die "$node booted degraded"
			;;
		esac
		sleep 1
	done
	die "$node did not finish booting (state: ${state:-unknown})"
}

# The docker-save archive of the seeded images that nodes of KIND_IMAGES=archive
# kinds import: the one the first node of a KIND_IMAGES=make kind saved, kept
# on the machine (so a reset node does not need that node to run).
image_archive() {
	local a=$RS_STATE/images/images.docker.tar node src
	if [[ ! -f $a ]]; then
		for node in "${NODE_NAMES[@]}"; do
			[[ ${KIND_IMAGES_OF[${NODE_KIND[$node]}]} == make ]] || continue
			src=$(node_root "$node")/var/lib/rsw-e2e/images/images.docker.tar
			[[ -f $src ]] || continue
			install -m 644 "$src" "$a.tmp"
			mv "$a.tmp" "$a"
			break
		done
	fi
	[[ -f $a ]] || die "no image archive: no node of a kind that makes the images (docker) has saved one"
	echo "$a"
}

# The seeded images into a booted node, as its kind says.
import_images() {
	local node=$1 kind=${NODE_KIND[$1]}
	if [[ ${KIND_IMAGES_OF[$kind]} == archive ]]; then
		install -m 644 "$(image_archive)" "$(node_root "$node")/var/lib/rsw-e2e/images/images.docker.tar"
	fi
	kind_call "$kind" import_images "$node"
	if [[ ${KIND_IMAGES_OF[$kind]} == make ]]; then
		[[ -f $(node_root "$node")/var/lib/rsw-e2e/images/images.docker.tar ]] ||
			die "$node: node kind $kind did not save /var/lib/rsw-e2e/images/images.docker.tar"
	fi
}

# Nodes of kinds that make the images first, then the ones that import them.
nodes_in_import_order() {
	local node
	for node in "${NODE_NAMES[@]}"; do
		[[ ${KIND_IMAGES_OF[${NODE_KIND[$node]}]} == make ]] && echo "$node"
	done
	for node in "${NODE_NAMES[@]}"; do
		[[ ${KIND_IMAGES_OF[${NODE_KIND[$node]}]} == make ]] || echo "$node"
	done
}

# The CRI socket as kubeadm records it on the Node object, and the node's zone.
annotate_node() {
	local node=$1
	kc patch node "$node" --type merge -p "{\"metadata\":{\"annotations\":{\"kubeadm.alpha.kubernetes.io/cri-socket\":\"${KIND_CRI_OF[${NODE_KIND[$node]}]}\"},\"labels\":{\"$ZONE_LABEL\":\"${NODE_ZONE[$node]}\"}}}" >/dev/null
}

node_ready() {
	[[ $(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

# node_ready_since NODE TIME -- Ready, with a heartbeat at or after TIME
# (UTC, RFC 3339): a restarted node's old status does not count.
node_ready_since() {
	local hb
	hb=$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}' 2>/dev/null) || return 1
	[[ ${hb%% *} == True && ! ${hb#* } < $2 ]]
}

# wait_nodes_ready NODE... -- each Ready with a heartbeat from after the
# call (RS_READY_SINCE overrides the reference time).
wait_nodes_ready() {
	local node since=${RS_READY_SINCE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
	for node in "$@"; do
		wait_for "$node" "$UP_TIMEOUT" node_ready_since "$node" "$since" || {
			node_exec "$node" journalctl -u kubelet --no-pager -n 30 >&2 || true
			die "$node did not become Ready"
		}
		annotate_node "$node"
		log "$node is Ready"
	done
}

start_node() {
	local node=$1
	prepare_node_rootfs "$node"
	boot_node "$node"
}

# Is PID (from a pidfile that may be stale) still one of NODE's processes?
# Its nspawn (by command line) or anything in the node's cgroup.
pid_of_node() {
	local pid=$1 node=$2
	[[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--machine=$node " && return 0
	grep -q ":/$CGROUP_PARENT/$node\(/\|$\)" "/proc/$pid/cgroup" 2>/dev/null
}

# Stop one node (with "poweroff", a clean poweroff first), by force. Leaves
# its cgroups empty.
stop_node() { # NODE [poweroff]
	local node=$1 poweroff=${2:-} npid pid1 i h dir
	npid=$(cat "$RUN/node-$node.pid" 2>/dev/null || true)
	pid1=$(cat "$RUN/node-$node.pid1" 2>/dev/null || true)
	pid_of_node "$npid" "$node" || npid=
	pid_of_node "$pid1" "$node" || pid1=
	# A node whose root filesystem is kept (restart-node) first gets 10 s to
	# power off; one that is thrown away (down, reset-node) is killed at
	# once (its poweroff never ended in 10 s anyway: Docker's stop takes longer).
	if [[ -n $poweroff && -n $npid ]] && kill -0 "$npid" 2>/dev/null; then
		kill -TERM "$npid" 2>/dev/null || true # nspawn asks the node's systemd to power off
		for ((i = 0; i < 20 && $(kill -0 "$npid" 2>/dev/null && echo 1 || echo 0); i++)); do
			sleep 0.5
		done
	fi
	# Forced path: killing the node's PID 1 ends its whole PID namespace.
	[[ -n $pid1 ]] && kill -KILL "$pid1" 2>/dev/null || true
	[[ -n $npid ]] && kill -KILL "$npid" 2>/dev/null || true
	# Anything still in the node's cgroups (processes a crash left behind).
	for ((i = 0; i < 20; i++)); do
		local left=0
		for h in "${CGROUP_HIERARCHIES[@]}"; do
			dir=$(node_cgroup "$h" "$node")
			[[ -d $dir ]] || continue
			while read -r pid; do
				[[ -n $pid ]] || continue
				kill -KILL "$pid" 2>/dev/null || true
				left=1
			done < <(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null)
		done
		((left)) || break
		sleep 0.5
	done
	for h in "${CGROUP_HIERARCHIES[@]}"; do
		dir=$(node_cgroup "$h" "$node")
		[[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	# nspawn's mount propagation directory (it says it cannot remove it).
	if [[ -d /run/systemd/nspawn/propagate/$node ]]; then
		mountpoint -q "/run/systemd/nspawn/propagate/$node" && umount -l "/run/systemd/nspawn/propagate/$node" || true
		rmdir "/run/systemd/nspawn/propagate/$node" 2>/dev/null || true
	fi
	# Mounts of the node's rootfs that leaked to the machine, if any.
	local m
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v p="$(node_dir "$node")" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r)
	ip link del "vb-$node" 2>/dev/null || true
	rm -f "$RUN/node-$node.pid" "$RUN/node-$node.pid1"
}

# ------------------------------------------------------------- workload ---

seed_workload() {
	local subject when
	subject=$(subject_node)
	# web's spread: a cordoned node leaves the count (nodeTaintsPolicy, on by
	# default from v1.26); before, it counts, and ScheduleAnyway lets a
	# drained node's pods go to the others all the same.
	when="DoNotSchedule
        nodeTaintsPolicy: Honor"
	(($(minor_of "$FLAVOUR_VERSION") >= 26)) || when=ScheduleAnyway
	log "seeding the demo workload"
	# Pods are admitted only once the namespace's service account exists.
	wait_for "demo/default" 60 kc get serviceaccount default -n demo ||
		die "no default service account in namespace demo"
	kc apply -f - >/dev/null <<-EOF
		apiVersion: apps/v1
		kind: Deployment
		metadata:
		  name: web
		  namespace: demo
		spec:
		  replicas: 3
		  selector:
		    matchLabels: {app: web}
		  template:
		    metadata:
		      labels: {app: web}
		    spec:
		      terminationGracePeriodSeconds: 5
		      # Spread over the nodes; a cordoned node (tainted unschedulable)
		      # leaves the count, so a drained node's pods fit on the others.
		      topologySpreadConstraints:
		      - maxSkew: 1
		        topologyKey: kubernetes.io/hostname
		        whenUnsatisfiable: $when
		        labelSelector:
		          matchLabels: {app: web}
		      containers:
		      - name: web
		        image: $WORKLOAD_IMAGE
		        imagePullPolicy: Never
		        command: ["sleep", "1000000"]
		---
		apiVersion: policy/v1
		kind: PodDisruptionBudget
		metadata:
		  name: web
		  namespace: demo
		spec:
		  minAvailable: 2
		  selector:
		    matchLabels: {app: web}
		---
		apiVersion: apps/v1
		kind: DaemonSet
		metadata:
		  name: node-agent
		  namespace: demo
		spec:
		  selector:
		    matchLabels: {app: node-agent}
		  template:
		    metadata:
		      labels: {app: node-agent}
		    spec:
		      terminationGracePeriodSeconds: 5
		      containers:
		      - name: agent
		        image: $WORKLOAD_IMAGE
		        imagePullPolicy: Never
		        command: ["sleep", "1000000"]
		---
		apiVersion: v1
		kind: Pod
		metadata:
		  name: bare
		  namespace: demo
		  labels: {app: bare}
		spec:
		  nodeSelector: {kubernetes.io/hostname: $subject}
		  terminationGracePeriodSeconds: 5
		  containers:
		  - name: bare
		    image: $WORKLOAD_IMAGE
		    imagePullPolicy: Never
		    command: ["sleep", "1000000"]
		---
		apiVersion: apps/v1
		kind: Deployment
		metadata:
		  name: scratch
		  namespace: demo
		spec:
		  replicas: 1
		  selector:
		    matchLabels: {app: scratch}
		  template:
		    metadata:
		      labels: {app: scratch}
		    spec:
		      terminationGracePeriodSeconds: 5
		      affinity:
		        nodeAffinity:
		          requiredDuringSchedulingIgnoredDuringExecution:
		            nodeSelectorTerms:
		            - matchExpressions:
		              - {key: kubernetes.io/hostname, operator: In, values: [$subject]}
		      containers:
		      - name: scratch
		        image: $WORKLOAD_IMAGE
		        imagePullPolicy: Never
		        command: ["sh", "-c", "date > /scratch/started; exec sleep 1000000"]
		        volumeMounts:
		        - {name: scratch, mountPath: /scratch}
		      volumes:
		      - name: scratch
		        emptyDir: {}
	EOF
}

all_demo_pods_running() {
	local out
	out=$(kc get pods -n demo --no-headers 2>/dev/null) || return 1
	# 3 web + a node-agent per node + bare + scratch + static-web mirror
	# (8 on the default two nodes)
	[[ $(grep -c ' Running ' <<<"$out") -ge $((6 + ${#NODE_NAMES[@]})) ]] && ! grep -qv ' Running ' <<<"$out"
}

wait_workload() {
	wait_for workload "$UP_TIMEOUT" all_demo_pods_running || {
		kc get pods -n demo -o wide >&2 || true
		die "seeded pods are not all Running"
	}
	log "seeded workload is Running"
}

# ------------------------------------------------------------- commands ---

healthy() {
	local p node
	for p in etcd apiserver controller-manager scheduler; do
		proc_alive "$p" || return 1
	done
	for node in "${NODE_NAMES[@]}"; do
		proc_alive "node-$node" && node_pid1 "$node" >/dev/null || return 1
		node_ready "$node" || return 1
	done
}

cmd_up() {
	require_root
	require_cmd systemd-nspawn nsenter ip openssl curl setsid gcc busybox
	use_requested
	find_kubectl
	check_built
	local down= node
	if read_state && [[ $STATE_FLAVOUR != "$FLAVOUR" || $STATE_NODES != "$NODESET" ]]; then
		log "the running cluster is flavour $STATE_FLAVOUR with nodes $STATE_NODES;"
		log "asked for flavour $FLAVOUR with nodes $NODESET: taking the running one down first"
		(cmd_down)
		down=1
	fi
	if [[ -z $down && -f $RUN/up.done ]] && healthy; then
		if [[ ! -f $STATE_FILE ]]; then
			# (transition: brought up before node sets; see read_state)
			write_state
			for node in "${NODE_NAMES[@]}"; do
				annotate_node "$node"
			done
		fi
		log "cluster already up ($FLAVOUR: $NODESET)"
		cmd_env
		return
	fi
	[[ -n $down ]] || (cmd_down quiet)
	local start since
	start=$(date +%s)
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	log "bringing up cluster flavour $FLAVOUR ($FLAVOUR_DESCRIPTION), nodes $NODESET"
	mkdir -p "$PKI" "$LOGS" "$RUN" "$RS_STATE/images" "$NODES_DIR"
	# First, so that a `down` after a failed `up` knows what to stop.
	write_state
	make_pki
	setup_bridge
	make_image_tars
	local node
	for node in "${NODE_NAMES[@]}"; do
		prepare_node_rootfs "$node"
	done
	start_control_plane
	for node in "${NODE_NAMES[@]}"; do
		boot_node "$node"
	done
	for node in $(nodes_in_import_order); do
		wait_node_booted "$node"
		log "$node booted; importing images"
		import_images "$node"
	done
	RS_READY_SINCE=$since wait_nodes_ready "${NODE_NAMES[@]}"
	log "${#NODE_NAMES[@]} nodes Ready after $(($(date +%s) - start)) s"
	seed_workload
	wait_workload
	touch "$RUN/up.done"
	log "cluster up in $(($(date +%s) - start)) s"
	kc get nodes -o wide -L "$ZONE_LABEL"
	cmd_env
}

cmd_compact() {
	local rev
	rev=$(curl -fsS -X POST "http://$ETCD_CLIENT/v3/kv/range" -d '{"key":"AA=="}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])') ||
		die "etcd at $ETCD_CLIENT did not answer"
	curl -fsS -X POST "http://$ETCD_CLIENT/v3/kv/compaction" \
		-d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null ||
		die "etcd refused to compact to revision $rev"
	log "etcd compacted to revision $rev"
}

# use_running_node COMMAND NODE -- the running cluster, and NODE one of its nodes.
use_running_node() {
	local cmd=$1 node=$2
	use_running || die "the cluster is not up"
	[[ -n $node && -n ${NODE_KIND[$node]:-} ]] ||
		die "usage: cluster.sh $cmd NODE (the running cluster's nodes: ${NODE_NAMES[*]})"
}

# Restart a node's container, keeping its root filesystem: a reboot of
# the node (what runs after it is only what the node enables at boot).
cmd_restart_node() {
	local node=${1:-} state i
	use_running_node restart-node "$node"
	require_root
	find_kubectl
	[[ -f $KUBECONFIG_ADMIN ]] || die "cluster is not up"
	log "restarting $node (its root filesystem is kept)"
	stop_node "$node" poweroff
	boot_node "$node"
	for ((i = 0; i < 120; i++)); do
		state=$(node_exec "$node" systemctl is-system-running 2>/dev/null || true)
		[[ $state == running || $state == degraded ]] && break
		sleep 1
	done
	log "$node booted ($state)"
	wait_for "$node" "$UP_TIMEOUT" node_ready "$node" || die "$node did not become Ready after the restart"
	log "$node is Ready"
}

cmd_reset_node() {
	local node=${1:-}
	use_running_node reset-node "$node"
	require_root
	find_kubectl
	[[ -f $KUBECONFIG_ADMIN ]] || die "cluster is not up"
	log "resetting $node from the node image"
	local since
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	# (before the node's root filesystem, which may hold it, is replaced)
	[[ ${KIND_IMAGES_OF[${NODE_KIND[$node]}]} == make ]] || image_archive >/dev/null
	stop_node "$node"
	start_node "$node"
	wait_node_booted "$node"
	import_images "$node"
	# The kubelet re-registers an existing Node object; wait for a fresh heartbeat.
	RS_READY_SINCE=$since wait_nodes_ready "$node"
	kc uncordon "$node" >/dev/null
}

# Nodes that may have something on the machine: the running set (state
# file) and any trace of another (node directories, pidfiles, cgroups of a
# crashed run).
nodes_to_stop() {
	local n f seen=" "
	if read_state; then
		for n in $STATE_NODES; do
			seen+="${n%%:*} "
		done
	fi
	for f in "$NODES_DIR"/*/ "$RUN"/node-*.pid /sys/fs/cgroup/*/"$CGROUP_PARENT"/*/; do
		[[ -e $f ]] || continue
		n=${f%/}
		n=${n##*/}
		if [[ $f == *.pid ]]; then
			n=${n#node-}
			n=${n%.pid}
		fi
		[[ $n =~ ^[a-z][a-z0-9-]{0,11}$ ]] || continue
		[[ $seen == *" $n "* ]] || seen+="$n "
	done
	echo "$seen"
}

# Is PID one of this cluster's control-plane processes: a binary under
# RS_CACHE (of any flavour: content-keyed files, maybe deleted since) whose
# command line names this cluster's state directory.
pid_of_control_plane() {
	local exe
	[[ -n $1 ]] || return 1
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	[[ $exe == "$RS_CACHE"/* ]] || return 1
	local arg
	while IFS= read -r -d '' arg; do
		[[ $arg == "$RS_STATE"/* || $arg == --*="$RS_STATE"/* ]] && return 0
	done <"/proc/$1/cmdline" 2>/dev/null
	return 1
}

cmd_down() {
	local quiet=${1:-}
	require_root
	# (the state file only: a down must work whatever the kinds and flavours now say)
	if [[ -z $quiet ]]; then
		if read_state; then
			log "stopping the e2e cluster ($STATE_FLAVOUR: $STATE_NODES)"
		else
			log "stopping the e2e cluster"
		fi
	fi
	local node p pid
	for node in $(nodes_to_stop); do
		stop_node "$node" &
	done
	wait
	# The control plane: all asked at once, 3 s to exit, then killed (its
	# state is thrown away; the API server's graceful shutdown can take 10 s+).
	local -a cp=()
	for p in scheduler controller-manager apiserver etcd; do
		pid=$(cat "$RUN/$p.pid" 2>/dev/null || true)
		pid_of_control_plane "$pid" && cp+=("$pid") && kill -TERM "$pid" 2>/dev/null || true
	done
	local i left
	for ((i = 0; i < 15; i++)); do
		left=
		for pid in "${cp[@]}"; do
			pid_alive "$pid" && left=1
		done
		[[ -n $left ]] || break
		sleep 0.2
	done
	for pid in "${cp[@]}"; do
		pid_of_control_plane "$pid" && kill -KILL "$pid" 2>/dev/null || true
	done
	# A crash may have lost the pidfiles: our control-plane processes, by id.
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		pid_of_control_plane "$pid" && kill -KILL "$pid" 2>/dev/null || true
	done
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE"
	fi
	local h
	for h in "${CGROUP_HIERARCHIES[@]}"; do
		[[ -d /sys/fs/cgroup/$h/$CGROUP_PARENT ]] &&
			find "/sys/fs/cgroup/$h/$CGROUP_PARENT" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	# Keep the last logs for post-mortems, drop the rest of the state: only
	# what the cluster made (the directory may hold others' files, as locks).
	if [[ -d $LOGS ]]; then
		rm -rf "$RS_CACHE/last-logs"
		cp -a "$LOGS" "$RS_CACHE/last-logs" 2>/dev/null || true
	fi
	local e
	for e in "${STATE_ENTRIES[@]}"; do
		rm -rf "${RS_STATE:?}/$e"
	done
	rmdir "$RS_STATE" 2>/dev/null || true
	rm -rf "$NODES_DIR"
	[[ -n $quiet ]] || log "e2e cluster is down"
}

cmd_status() {
	local p node rc=0
	if use_running; then
		echo "cluster: $FLAVOUR ($FLAVOUR_DESCRIPTION)"
		echo "nodes: $NODESET"
	else
		echo "cluster: not up"
		rc=1
	fi
	for p in etcd apiserver controller-manager scheduler; do
		if proc_alive "$p"; then
			echo "$p: running (pid $(cat "$RUN/$p.pid"))"
		else
			echo "$p: not running"
			rc=1
		fi
	done
	for node in "${NODE_NAMES[@]}"; do
		if proc_alive "node-$node" && node_pid1 "$node" >/dev/null; then
			echo "$node: running (${NODE_KIND[$node]}@${NODE_ZONE[$node]}, PID 1 = $(node_pid1 "$node"), $(node_exec "$node" systemctl is-system-running 2>/dev/null || true))"
		else
			echo "$node: not running"
			rc=1
		fi
	done
	if [[ -f $KUBECONFIG_ADMIN ]] && proc_alive apiserver; then
		find_kubectl
		kc get nodes -o wide -L "$ZONE_LABEL" || rc=1
	fi
	return $rc
}

# check_running_node NODE -- NODE is in the running cluster's set (from the
# state file only: exec is called often).
check_running_node() {
	read_state || die "the cluster is not up"
	[[ " $STATE_NODES" == *" $1:"* ]] ||
		die "'$1' is not a node of the running cluster (nodes: $STATE_NODES)"
}

# (The state file is read, not the flavour and kinds loaded: suites call this often.)
cmd_env() {
	echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
	if read_state; then
		echo "export RSW_E2E_CLUSTER=$STATE_FLAVOUR RSW_E2E_NODES='$STATE_NODES'"
	fi
}

# One mutating command at a time (several test suites share the cluster).
lock() {
	mkdir -p "$RS_CACHE"
	exec 9>"$RS_CACHE/.cluster.lock"
	flock 9
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	build | up | down | reset-node | restart-node) require_root && lock ;;
	esac
	case $cmd in
	build) cmd_build ;;
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	exec)
		local node=${1:-}
		shift || true
		[[ ${1:-} == -- ]] && shift
		[[ -n $node && $# -gt 0 ]] || die "usage: cluster.sh exec NODE -- CMD..."
		require_root
		check_running_node "$node"
		node_exec "$node" "$@"
		;;
	pid1)
		check_running_node "${1:-}"
		node_pid1 "$1" || die "$1 is not running"
		;;
	reset-node) cmd_reset_node "$@" ;;
	restart-node) cmd_restart_node "$@" ;;
	compact) cmd_compact ;;
	*)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
