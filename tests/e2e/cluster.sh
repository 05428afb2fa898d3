#!/usr/bin/env bash
# The e2e test cluster of kubectl-runtime-switch: a real control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler) on this machine and
# two real systemd nodes (systemd-nspawn containers booting a Debian bookworm
# image) on a bridge of our own:
#
#   node-1  Docker 20.10 through cri-dockerd (the node the product switches)
#   node-2  containerd 1.6 with CRI on (the bystander that hosts drained pods)
#
# Usage: tests/e2e/cluster.sh COMMAND
#   build                 build kbin, cri-dockerd, the node image and helpers (cached)
#   up                    start everything and seed the workload (idempotent;
#                         cleans leftovers of a crashed run first)
#   down                  stop everything; leaves no process, mount, veth,
#                         bridge, cgroup or node behind
#   status                show processes and nodes
#   env                   print `export KUBECONFIG=...` (eval "$(cluster.sh env)")
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
# Everything marked "MACHINE ADAPTATION" below exists because of this test
# machine (cgroup v1 with read-only controllers in containers, a capability
# bounding set without CAP_SYS_RESOURCE, no systemd as PID 1); none of it is
# product behaviour.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/cluster/lib.sh"

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

# The runtime each node boots with, and its kubelet's CRI endpoint.
declare -A NODE_ROLE=([node-1]=docker [node-2]=containerd)
declare -A NODE_CRI=([node-1]=unix:///var/run/cri-dockerd.sock [node-2]=unix:///run/containerd/containerd.sock)

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

cmd_build() {
	require_root
	mkdir -p "$RS_CACHE/bin"
	"$E2E_DIR/node/build-image.sh"
	build_helpers
	"$E2E_DIR/cridockerd/build.sh"
	"$E2E_DIR/cluster/build.sh"
}

check_built() {
	local f
	for f in bin/kbin bin/cri-dockerd bin/pause bin/runc-adapt rootfs/current/.complete; do
		[[ -e $RS_CACHE/$f ]] || die "$RS_CACHE/$f missing: run 'tests/e2e/cluster.sh build' (make cluster-build) first"
	done
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
	for n in "${NODES[@]}"; do
		cert "$n" "/O=system:nodes/CN=system:node:$n"
	done
	# Service-account token signing key pair.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
	openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	kubeconfig "$KUBECONFIG_ADMIN" admin admin
	kubeconfig "$PKI/controller-manager.conf" controller-manager system:kube-controller-manager
	kubeconfig "$PKI/scheduler.conf" scheduler system:kube-scheduler
	for n in "${NODES[@]}"; do
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

start_control_plane() {
	local kbin=$RS_CACHE/bin/kbin
	log "starting etcd"
	start_proc etcd "$kbin" etcd --name rsw-e2e --data-dir "$RS_STATE/etcd" \
		--listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
		--listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
		--initial-cluster "rsw-e2e=http://$ETCD_PEER" --listen-metrics-urls "" \
		--unsafe-no-fsync --log-level warn
	wait_for etcd 60 curl -fsS "http://$ETCD_CLIENT/health" ||
		{ tail -n 20 "$LOGS/etcd.log" >&2; die "etcd did not become healthy"; }

	log "starting kube-apiserver on $APISERVER_URL"
	start_proc apiserver "$kbin" apiserver \
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
		--enable-admission-plugins=NodeRestriction,PodSecurity \
		--allow-privileged=true \
		--profiling=false
	wait_for apiserver 120 kc get --raw /readyz ||
		{ tail -n 30 "$LOGS/apiserver.log" >&2; die "kube-apiserver did not become ready"; }

	# The API server's client certificate for kubelets (logs, exec, port-forward).
	kc create clusterrolebinding rsw-e2e:apiserver-kubelet-client \
		--clusterrole=system:kubelet-api-admin --user=kube-apiserver-kubelet-client >/dev/null

	log "starting kube-controller-manager and kube-scheduler"
	start_proc controller-manager "$kbin" controller-manager \
		--kubeconfig="$PKI/controller-manager.conf" \
		--authentication-kubeconfig="$PKI/controller-manager.conf" \
		--authorization-kubeconfig="$PKI/controller-manager.conf" \
		--bind-address=127.0.0.1 \
		--controllers='*' --use-service-account-credentials --leader-elect=false \
		--root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
		--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
		--cluster-name=rsw-e2e
	start_proc scheduler "$kbin" scheduler \
		--kubeconfig="$PKI/scheduler.conf" \
		--authentication-kubeconfig="$PKI/scheduler.conf" \
		--authorization-kubeconfig="$PKI/scheduler.conf" \
		--bind-address=127.0.0.1 --leader-elect=false
	wait_for controller-manager 60 curl -fsSk https://127.0.0.1:10257/healthz ||
		{ tail -n 30 "$LOGS/controller-manager.log" >&2; die "kube-controller-manager is not healthy"; }
	wait_for scheduler 60 curl -fsSk https://127.0.0.1:10259/healthz ||
		{ tail -n 30 "$LOGS/scheduler.log" >&2; die "kube-scheduler is not healthy"; }
	# The namespace of the seeded workload exists before node-1's kubelet
	# starts, so the mirror pod of its static pod appears at once.
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

write_kubelet_files() {
	local node=$1 root=$2 role=${NODE_ROLE[$1]}
	install -d -m 755 "$root/etc/kubernetes/pki" "$root/etc/kubernetes/manifests" "$root/var/lib/kubelet"
	install -m 644 "$PKI/ca.crt" "$root/etc/kubernetes/pki/ca.crt"
	install -m 600 "$PKI/$node.conf" "$root/etc/kubernetes/kubelet.conf"
	cat >"$root/var/lib/kubelet/kubeadm-flags.env" <<-EOF
		KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=${NODE_CRI[$node]} --node-ip=${NODE_IP[$node]}"
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
		cgroupDriver: cgroupfs
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
		# cgroup v1 is allowed (a warning) up to 1.34; 1.35+ would need this.
		failCgroupV1: false
	EOF
	# Pod network of this node: Debian's CNI plugins (bridge + host-local; the
	# runtime adds loopback itself).
	install -d -m 755 "$root/etc/cni/net.d"
	cat >"$root/etc/cni/net.d/10-rsw-e2e.conflist" <<-EOF
		{
		  "cniVersion": "1.0.0",
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
		{ "cniVersion": "1.0.0", "name": "lo", "type": "loopback" }
	EOF
	if [[ $role == docker ]]; then
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
	local node=$1 role=${NODE_ROLE[$1]} root
	root=$(node_root "$node")
	rm -rf "$(node_dir "$node")"
	mkdir -p "$(node_dir "$node")"
	mkdir -p "$root.tmp"
	cp -a --reflink=auto "$RS_CACHE/rootfs/current/." "$root.tmp/"
	mv "$root.tmp" "$root"
	rm -f "$root/.complete"
	echo "$node" >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n%s %s\n%s rsw-e2e-apiserver\n' "${NODE_IP[$node]}" "$node" "$BRIDGE_ADDR" >"$root/etc/hosts"
	# The nodes are offline (no route out, no registry): a resolver on the
	# node's own loopback, where nothing listens, fails lookups at once instead
	# of letting a stray image pull hang on DNS timeouts.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$root/etc/resolv.conf"

	cp -a "$E2E_DIR/node/files/common/." "$root/"
	install -m 755 "$RS_CACHE/bin/kbin" "$root/usr/bin/kubelet"
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

	local -a enable=(rsw-e2e-net.service rsw-e2e-node-adapt.service kubelet.service containerd.service)
	local -a disable=()
	local -a mask=(apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
		dpkg-db-backup.timer)
	if [[ $role == docker ]]; then
		cp -a "$E2E_DIR/node/files/docker/." "$root/"
		install -m 755 "$RS_CACHE/bin/cri-dockerd" "$root/usr/bin/cri-dockerd"
		enable+=(docker.socket docker.service cri-docker.socket cri-docker.service)
	else
		# A containerd node: Docker is installed by the image but not in use.
		disable+=(docker.socket docker.service)
	fi
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
	log "booting $node (${NODE_ROLE[$node]})"
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

import_images() {
	local node=$1
	case ${NODE_ROLE[$node]} in
	docker)
		# Only Docker gets the images; node-1's containerd starts with none.
		wait_for docker 60 node_exec "$node" docker info ||
			die "$node: docker is not answering"
		node_exec "$node" sh -c "docker import -c 'ENTRYPOINT [\"/pause\"]' /var/lib/rsw-e2e/images/pause.tar $PAUSE_IMAGE >/dev/null &&
			docker import -c 'CMD [\"sh\"]' /var/lib/rsw-e2e/images/busybox.tar $WORKLOAD_IMAGE >/dev/null &&
			docker save -o /var/lib/rsw-e2e/images/images.docker.tar $PAUSE_IMAGE $WORKLOAD_IMAGE"
		;;
	containerd)
		# The archive Docker wrote on node-1 (docker save), imported into the
		# k8s.io namespace that CRI uses; pause also under Debian containerd's
		# default sandbox name (registry.k8s.io/pause:3.6).
		local src
		src=$(node_root node-1)/var/lib/rsw-e2e/images/images.docker.tar
		[[ -f $src ]] || die "no image archive from node-1 ($src)"
		install -m 644 "$src" "$(node_root "$node")/var/lib/rsw-e2e/images/images.docker.tar"
		wait_for containerd 60 node_exec "$node" ctr version ||
			die "$node: containerd is not answering"
		node_exec "$node" sh -c "ctr -n k8s.io images import /var/lib/rsw-e2e/images/images.docker.tar >/dev/null &&
			ctr -n k8s.io images tag $PAUSE_IMAGE registry.k8s.io/pause:3.6 >/dev/null"
		;;
	esac
}

annotate_node() {
	local node=$1
	# As kubeadm records it on the Node object.
	kc annotate --overwrite node "$node" "kubeadm.alpha.kubernetes.io/cri-socket=${NODE_CRI[$node]}" >/dev/null
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

# Is PID (from a pidfile) still a control-plane process of ours?
pid_of_control_plane() {
	local exe
	[[ -n $1 ]] || return 1
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	[[ $exe == "$RS_CACHE"/bin/kbin-* ]]
}

# Stop one node: clean poweroff, then force. Leaves its cgroups empty.
stop_node() {
	local node=$1 npid pid1 i h dir
	npid=$(cat "$RUN/node-$node.pid" 2>/dev/null || true)
	pid1=$(cat "$RUN/node-$node.pid1" 2>/dev/null || true)
	pid_of_node "$npid" "$node" || npid=
	pid_of_node "$pid1" "$node" || pid1=
	if [[ -n $npid ]] && kill -0 "$npid" 2>/dev/null; then
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
		      # Spread over both nodes; a cordoned node (tainted unschedulable)
		      # leaves the count, so a drained node's pods fit on the other one.
		      topologySpreadConstraints:
		      - maxSkew: 1
		        topologyKey: kubernetes.io/hostname
		        whenUnsatisfiable: DoNotSchedule
		        nodeTaintsPolicy: Honor
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
		  nodeSelector: {kubernetes.io/hostname: node-1}
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
		          preferredDuringSchedulingIgnoredDuringExecution:
		          - weight: 100
		            preference:
		              matchExpressions:
		              - {key: kubernetes.io/hostname, operator: In, values: [node-1]}
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
	# 3 web + 2 node-agent + bare + scratch + static-web mirror = 8
	[[ $(grep -c ' Running ' <<<"$out") -ge 8 ]] && ! grep -qv ' Running ' <<<"$out"
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
	for node in "${NODES[@]}"; do
		proc_alive "node-$node" && node_pid1 "$node" >/dev/null || return 1
		node_ready "$node" || return 1
	done
}

cmd_up() {
	require_root
	require_cmd systemd-nspawn nsenter ip openssl curl setsid gcc busybox
	find_kubectl
	check_built
	if [[ -f $RUN/up.done ]] && healthy; then
		log "cluster already up"
		cmd_env
		return
	fi
	cmd_down quiet
	local start since
	start=$(date +%s)
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	mkdir -p "$PKI" "$LOGS" "$RUN" "$RS_STATE/images" "$NODES_DIR"
	make_pki
	setup_bridge
	make_image_tars
	local node
	for node in "${NODES[@]}"; do
		prepare_node_rootfs "$node"
	done
	start_control_plane
	for node in "${NODES[@]}"; do
		boot_node "$node"
	done
	for node in "${NODES[@]}"; do
		wait_node_booted "$node"
		log "$node booted; importing images"
		import_images "$node"
	done
	RS_READY_SINCE=$since wait_nodes_ready "${NODES[@]}"
	log "both nodes Ready after $(($(date +%s) - start)) s"
	seed_workload
	wait_workload
	touch "$RUN/up.done"
	log "cluster up in $(($(date +%s) - start)) s"
	kc get nodes -o wide
	cmd_env
}

# Restart a node's container, keeping its root filesystem: a reboot of
# the node (what runs after it is only what the node enables at boot).
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

cmd_restart_node() {
	local node=${1:-} state i
	[[ -n ${NODE_ROLE[$node]:-} ]] || die "usage: cluster.sh restart-node node-1|node-2"
	require_root
	find_kubectl
	[[ -f $KUBECONFIG_ADMIN ]] || die "cluster is not up"
	log "restarting $node (its root filesystem is kept)"
	stop_node "$node"
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
	[[ -n ${NODE_ROLE[$node]:-} ]] || die "usage: cluster.sh reset-node node-1|node-2"
	require_root
	find_kubectl
	[[ -f $KUBECONFIG_ADMIN ]] || die "cluster is not up"
	log "resetting $node from the node image"
	local since
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	stop_node "$node"
	start_node "$node"
	wait_node_booted "$node"
	[[ ${NODE_ROLE[$node]} == docker ]] || [[ -f $(node_root node-1)/var/lib/rsw-e2e/images/images.docker.tar ]] ||
		die "node-1 must run to provide images"
	import_images "$node"
	# The kubelet re-registers an existing Node object; wait for a fresh heartbeat.
	RS_READY_SINCE=$since wait_nodes_ready "$node"
	kc uncordon "$node" >/dev/null
}

cmd_down() {
	local quiet=${1:-}
	require_root
	[[ -n $quiet ]] || log "stopping the e2e cluster"
	local node p pid
	for node in "${NODES[@]}"; do
		stop_node "$node" &
	done
	wait
	for p in scheduler controller-manager apiserver etcd; do
		pid=$(cat "$RUN/$p.pid" 2>/dev/null || true)
		if pid_of_control_plane "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			wait_for "$p exit" 10 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	# A crash may have lost the pidfiles: our kbin processes, found by the
	# binary they run (only this cluster's cached kbin), by id.
	local exe
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		[[ $exe == "$RS_CACHE"/bin/kbin-* ]] && kill -KILL "$pid" 2>/dev/null || true
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
	for p in etcd apiserver controller-manager scheduler; do
		if proc_alive "$p"; then
			echo "$p: running (pid $(cat "$RUN/$p.pid"))"
		else
			echo "$p: not running"
			rc=1
		fi
	done
	for node in "${NODES[@]}"; do
		if proc_alive "node-$node" && node_pid1 "$node" >/dev/null; then
			echo "$node: running (${NODE_ROLE[$node]}, PID 1 = $(node_pid1 "$node"), $(node_exec "$node" systemctl is-system-running 2>/dev/null || true))"
		else
			echo "$node: not running"
			rc=1
		fi
	done
	if [[ -f $KUBECONFIG_ADMIN ]] && proc_alive apiserver; then
		find_kubectl
		kc get nodes -o wide || rc=1
	fi
	return $rc
}

cmd_env() {
	echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
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
		node_exec "$node" "$@"
		;;
	pid1) node_pid1 "${1:-}" || die "${1:-?} is not running" ;;
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
