# Helpers for the switch tests on the real cluster (sourced after
# tests/lib/common.sh or test-lib.sh and tests/lib/e2e.sh; test harness
# only, nothing here is product behaviour).

# The real kubectl that finds plugins on PATH (google-cloud-sdk's dispatcher).
KUBECTL_DISPATCH=${KUBECTL_DISPATCH:-/usr/bin/kubectl}
PLUGIN=${PLUGIN:-$RS_ROOT/build/release/kubectl-runtime_switch}
WORK=${WORK:-$(mktemp -d /tmp/rs-switch-e2e.XXXXXX)}
NODE=${NODE:-node-1}
# The plugin's working namespace (its default; it creates it).
WORK_NS=kubectl-runtime-switch
# Flags the seeded node-1 needs to drain (a bare pod, an emptyDir pod), and
# a bound on the drain: a budget that can never allow an eviction (a node
# an earlier failure left cordoned holds the pods' only other place) fails
# the switch instead of waiting for ever, as kubectl drain's default would.
DRAIN_FLAGS=(--force --delete-emptydir-data --timeout=300s)

# Files of the node the switch may change (compared byte for byte after a
# failed switch or a rollback), and units whose state it may change.
NODE_FILES=(/etc/containerd/config.toml /var/lib/kubelet/kubeadm-flags.env /var/lib/kubelet/config.yaml
	/var/lib/kubelet/instance-config.yaml /etc/default/kubelet /etc/sysconfig/kubelet
	/etc/docker/daemon.json /etc/crictl.yaml /etc/containerd/certs.d/docker.io/hosts.toml)
NODE_UNITS=(docker.service docker.socket containerd.service cri-docker.service cri-docker.socket kubelet.service)

k() { "$KUBECTL" "$@"; }

# The plugin through the real kubectl: a PATH entry holding only it.
BIN=$WORK/bin
mkdir -p "$BIN"
ln -sf "$PLUGIN" "$BIN/kubectl-runtime_switch"
kplugin() { PATH="$BIN:$PATH" "$KUBECTL_DISPATCH" runtime-switch "$@"; }

node_exec() { cluster exec "$NODE" -- "$@"; }
runtime_of() { k get node "${1:-$NODE}" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}'; }
node_ready() { [[ $(k get node "${1:-$NODE}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
node_unschedulable() { [[ $(k get node "${1:-$NODE}" -o jsonpath='{.spec.unschedulable}') == true ]]; }
node_annotation() { k get node "${2:-$NODE}" -o json | jq -r --arg k "$1" '.metadata.annotations[$k] // empty'; }
on_runtime() { [[ $(runtime_of) == "$1"://* ]] && node_ready; }

# Checksums of the node's switchable files ("absent" for missing ones) and
# the state of its units: what "byte-identical" is measured against.
node_fingerprint() {
	local f
	for f in "${NODE_FILES[@]}"; do
		printf '%s %s\n' "$f" "$(node_exec sh -c "if [ -e '$f' ]; then sha256sum '$f' | cut -d' ' -f1; stat -c '%a %u %g' '$f'; else echo absent; fi" | tr '\n' ' ')"
	done
	local u
	for u in "${NODE_UNITS[@]}"; do
		printf '%s enabled=%s\n' "$u" "$(node_exec systemctl is-enabled "$u" 2>/dev/null || true)"
	done
}

# The helper's objects left in the working namespace, and the node locks.
leftovers() {
	k get jobs,configmaps,secrets,leases -n "$WORK_NS" -l app.kubernetes.io/managed-by=kubectl-runtime-switch -o name 2>/dev/null
}

# Every demo pod Running and Ready; the ones on the node on the expected
# runtime (from their containerIDs).
demo_running_on() { # demo_running_on RUNTIME
	local j
	j=$(k get pods -n demo -o json) || return 1
	jq -e --arg node "$NODE" --arg rt "$1://" '
		[.items[] | select(.metadata.deletionTimestamp == null)] as $p |
		($p | length) > 0 and
		all($p[]; .status.phase == "Running" and all(.status.containerStatuses[]?; .ready)) and
		all($p[] | select(.spec.nodeName == $node); all(.status.containerStatuses[]; .containerID | startswith($rt)))' \
		<<<"$j" >/dev/null
}

# PodDisruptionBudget sampler: every 0.5 s, the Ready web pods and the
# PDB's own view; one line each into $WORK/pdb.samples.
pdb_sampler_start() {
	: >"$WORK/pdb.samples"
	(
		while :; do
			r=$(k get pods -n demo -l app=web -o json 2>/dev/null | jq '[.items[] | select(.metadata.deletionTimestamp == null) |
				select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length')
			p=$(k get pdb web -n demo -o jsonpath='{.status.currentHealthy}/{.status.desiredHealthy}' 2>/dev/null)
			echo "$(date +%s.%N) ready=$r pdb=$p" >>"$WORK/pdb.samples"
			sleep 0.5
		done
	) &
	PDB_SAMPLER=$!
}
pdb_sampler_stop() {
	[[ -n ${PDB_SAMPLER:-} ]] && kill "$PDB_SAMPLER" 2>/dev/null && wait "$PDB_SAMPLER" 2>/dev/null
	PDB_SAMPLER=
}
# Never fewer Ready web pods than minAvailable (2), and the PDB never below
# its desired count.
pdb_never_violated() {
	local n bad
	n=$(wc -l <"$WORK/pdb.samples")
	bad=$(awk '{split($2, r, "="); split($3, p, "[=/]"); if (r[2] < 2 || (p[2] != "" && p[2] + 0 < p[3] + 0)) print}' "$WORK/pdb.samples" | head -3)
	note "PDB samples: $n; min ready web pods: $(awk '{split($2, r, "="); print r[2]}' "$WORK/pdb.samples" | sort -n | head -1)"
	[[ $n -ge 3 && -z $bad ]] || { note "violations: $bad"; return 1; }
}

# The seeded bare pod (a drain with --force deletes it for good).
restore_bare_pod() {
	k get pod bare -n demo >/dev/null 2>&1 && return 0
	k apply -f - >/dev/null <<-EOF
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
		    image: localhost/busybox:1
		    imagePullPolicy: Never
		    command: ["sleep", "1000000"]
	EOF
}

# Back to the seeded state: node-1 on Docker (reset from the image when it
# is not), uncordoned, no record of ours, the bare pod, nothing left over.
# restore_seeded any: the same, but node-1 Ready on containerd (as a switch
# left it) is kept as it is: no reset (about 30 s) for a case that can start
# from either runtime.
restore_seeded() {
	local rt=docker
	pdb_sampler_stop
	node_exec rm -f /etc/systemd/system/containerd.service.d/99-rsw-e2e-fail.conf /run/rsw-e2e-fail-once >/dev/null 2>&1 &&
		node_exec systemctl daemon-reload >/dev/null 2>&1
	[[ ${1:-} == any && $(runtime_of) == containerd://* ]] && rt=containerd
	if [[ $(runtime_of) != $rt://* ]] || ! node_ready; then
		note "resetting $NODE to the seeded Docker node"
		cluster reset-node "$NODE" >/dev/null 2>&1 || note "reset-node failed"
	fi
	k uncordon "$NODE" >/dev/null 2>&1
	k annotate node "$NODE" runtime-switch.kubectl.dev/state- runtime-switch.kubectl.dev/run- >/dev/null 2>&1
	# (the carrier's finalizer first: a killed run leaves it on)
	k get configmaps,secrets -n "$WORK_NS" -l app.kubernetes.io/managed-by=kubectl-runtime-switch -o name 2>/dev/null |
		xargs -r -n1 "$KUBECTL" patch -n "$WORK_NS" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
	k delete jobs,configmaps,secrets,leases -n "$WORK_NS" -l app.kubernetes.io/managed-by=kubectl-runtime-switch \
		--wait=false >/dev/null 2>&1
	restore_bare_pod
	wait_until 180 "demo pods Running on $rt" demo_running_on $rt >/dev/null || note "demo pods not all Running on $rt again"
}

# Run a command under GNU time: $WORK/time.<tag> gets user/sys CPU seconds
# and the peak RSS (KiB).
timed() { # timed TAG COMMAND...
	local tag=$1
	shift
	/usr/bin/time -f '%U %S %M %e' -o "$WORK/time.$tag" "$@"
}
