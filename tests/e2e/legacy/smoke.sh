#!/usr/bin/env bash
# Smoke test of the legacy binaries (tests/e2e/legacy/build.sh), apart from the
# shared e2e cluster: no bridge, no node, none of its ports (6443, 32379,
# 10257, 10259) or state. In a scratch directory with a throwaway PKI it runs
# etcd 3.5 + kube-apiserver + kube-controller-manager + kube-scheduler v1.24.17
# on loopback ports of their own, checks that each answers and does its job,
# stops them and removes everything. Then the two kubelets, without starting
# one: v1.23.17 offers dockershim, v1.24.17 refuses it.
#
#   tests/e2e/legacy/smoke.sh        (root not needed; KUBECTL=... to choose)
#
# Ports (loopback, below the ephemeral range): SMOKE_PORT_BASE (default 21000)
# + 379/380 etcd, +443 apiserver, +257 controller-manager, +259 scheduler.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$E2E_DIR/../lib/test-lib.sh"

BASE=${SMOKE_PORT_BASE:-21000}
ETCD=127.0.0.1:$((BASE + 379))
ETCD_PEER=127.0.0.1:$((BASE + 380))
API_PORT=$((BASE + 443))
KCM_PORT=$((BASE + 257))
SCHED_PORT=$((BASE + 259))
DIR=
PIDS=()
NAMES=()

# Stop in reverse order of start, each by its process group.
cleanup() {
	local i j pid
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		kill -TERM -- "-$pid" 2>/dev/null || continue
		for ((j = 0; j < 300; j++)); do
			kill -0 -- "-$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -KILL -- "-$pid" 2>/dev/null; then
			log "${NAMES[i]} did not stop within 30 s of SIGTERM: killed"
		else
			log "${NAMES[i]} stopped $((j / 10)).$((j % 10)) s after SIGTERM"
		fi
		wait "$pid" 2>/dev/null || true
	done
	[[ -z $DIR ]] || rm -rf "$DIR"
}

# run NAME CMD... -- in the background, in a process group of its own.
run() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$DIR/$name.log" 2>&1 &
	PIDS+=($!)
	NAMES+=("$name")
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# issue NAME SUBJECT [SAN] -- EC key and a certificate from the scratch CA.
issue() {
	local name=$1 subj=$2 san=${3:-} usage=clientAuth
	[[ -z $san ]] || usage=serverAuth,clientAuth
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
		-keyout "$DIR/$name.key" -out "$DIR/$name.csr" 2>/dev/null
	openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
		-days 1 -sha256 -out "$DIR/$name.crt" \
		-extfile <(printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=%s\n%s' \
			"$usage" "${san:+subjectAltName=$san}") 2>/dev/null
}

# conf NAME USER -- kubeconfig of the scratch API server for certificate NAME.
conf() {
	"$KUBECTL" config set-cluster smoke --server="https://127.0.0.1:$API_PORT" \
		--certificate-authority="$DIR/ca.crt" --embed-certs --kubeconfig="$DIR/$1.conf" >/dev/null
	"$KUBECTL" config set-credentials "$2" --client-certificate="$DIR/$1.crt" \
		--client-key="$DIR/$1.key" --embed-certs --kubeconfig="$DIR/$1.conf" >/dev/null
	"$KUBECTL" config set-context smoke --cluster=smoke --user="$2" --kubeconfig="$DIR/$1.conf" >/dev/null
	"$KUBECTL" config use-context smoke --kubeconfig="$DIR/$1.conf" >/dev/null
}

kc() { "$KUBECTL" --kubeconfig "$DIR/admin.conf" --request-timeout=20s "$@"; }

versions() {
	local c
	for c in apiserver controller-manager scheduler kubelet; do
		check "kbin-1.24 $c --version: Kubernetes $LEGACY_CP_VERSION" \
			test "$("$LEGACY_KBIN" "$c" --version)" = "Kubernetes $LEGACY_CP_VERSION"
	done
	check "kbin-1.24 etcd --version: ${LEGACY_ETCD_VERSION#v}" \
		grep -qx "etcd Version: ${LEGACY_ETCD_VERSION#v}" <("$LEGACY_KBIN" etcd --version)
	check "kubelet-1.23 --version: Kubernetes $LEGACY_KUBELET_VERSION" \
		test "$("$LEGACY_KUBELET" --version)" = "Kubernetes $LEGACY_KUBELET_VERSION"
}

kubelets() {
	local help out rc
	help=$("$LEGACY_KUBELET" --help 2>&1 || true)
	check "kubelet-1.23 offers --container-runtime=docker" \
		grep -q -- "--container-runtime string .*Possible values: 'docker', 'remote'" <<<"$help"
	check "kubelet-1.23 has the dockershim flags (--network-plugin, --docker-endpoint)" \
		grep -q -- "--network-plugin string" <<<"$help"
	rc=0
	out=$(timeout 30 "$LEGACY_KBIN" kubelet --container-runtime=docker --root-dir="$DIR/kubelet" 2>&1) || rc=$?
	check "kubelet-1.24 --container-runtime=docker exits 1 (got $rc)" test "$rc" = 1
	check "kubelet-1.24 --container-runtime=docker: unsupported CRI runtime" \
		grep -qF 'Error: failed to validate kubelet flags: unsupported CRI runtime: "docker", only "remote" is currently supported' <<<"$out"
	rc=0
	out=$(timeout 30 "$LEGACY_KBIN" kubelet --container-runtime=docker --network-plugin=cni \
		--root-dir="$DIR/kubelet" 2>&1) || rc=$?
	check "kubelet-1.24 with kubeadm 1.23's --network-plugin=cni exits 1 (got $rc)" test "$rc" = 1
	check "kubelet-1.24 --network-plugin: unknown flag" \
		grep -qF 'Error: failed to parse kubelet flag: unknown flag: --network-plugin' <<<"$out"
	check "kubelet-1.24 left no root dir behind" test ! -e "$DIR/kubelet"
}

control_plane() {
	local p
	for p in "${ETCD##*:}" "${ETCD_PEER##*:}" "$API_PORT" "$KCM_PORT" "$SCHED_PORT"; do
		port_free "$p" || die "port $p is in use: set SMOKE_PORT_BASE"
	done
	{
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
			-subj /CN=rsw-legacy-smoke-ca -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null &&
			issue apiserver /CN=kube-apiserver "IP:127.0.0.1,DNS:localhost" &&
			issue admin "/O=system:masters/CN=admin" &&
			issue controller-manager /CN=system:kube-controller-manager &&
			issue scheduler /CN=system:kube-scheduler &&
			openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/sa.key" 2>/dev/null &&
			openssl pkey -in "$DIR/sa.key" -pubout -out "$DIR/sa.pub" 2>/dev/null &&
			conf admin admin &&
			conf controller-manager system:kube-controller-manager &&
			conf scheduler system:kube-scheduler
	} || bail_out "the scratch PKI and kubeconfigs (openssl, kubectl config)"

	run etcd "$LEGACY_KBIN" etcd --name smoke --data-dir "$DIR/etcd" \
		--listen-client-urls "http://$ETCD" --advertise-client-urls "http://$ETCD" \
		--listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
		--initial-cluster "smoke=http://$ETCD_PEER" --listen-metrics-urls "" \
		--unsafe-no-fsync --log-level warn
	check "etcd /health" wait_until 60 "etcd /health" curl -fsS "http://$ETCD/health"
	run apiserver "$LEGACY_KBIN" apiserver \
		--advertise-address=127.0.0.1 --bind-address=127.0.0.1 --secure-port="$API_PORT" \
		--etcd-servers="http://$ETCD" \
		--tls-cert-file="$DIR/apiserver.crt" --tls-private-key-file="$DIR/apiserver.key" \
		--client-ca-file="$DIR/ca.crt" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$DIR/sa.pub" --service-account-signing-key-file="$DIR/sa.key" \
		--service-cluster-ip-range=10.96.0.0/16 \
		--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction,PodSecurity \
		--allow-privileged=true --profiling=false
	check "kube-apiserver /readyz" wait_until 120 "kube-apiserver /readyz" kc get --raw /readyz
	run controller-manager "$LEGACY_KBIN" controller-manager \
		--kubeconfig="$DIR/controller-manager.conf" \
		--authentication-kubeconfig="$DIR/controller-manager.conf" \
		--authorization-kubeconfig="$DIR/controller-manager.conf" \
		--bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
		--controllers='*' --use-service-account-credentials --leader-elect=false \
		--root-ca-file="$DIR/ca.crt" --service-account-private-key-file="$DIR/sa.key"
	# Leader election on, as kubeadm runs it: with it off, the v1.24 scheduler
	# ignores SIGTERM while its queue is empty (its loop waits in Pop, and the
	# queue is closed only after the loop ends; later releases fixed it).
	run scheduler "$LEGACY_KBIN" scheduler \
		--kubeconfig="$DIR/scheduler.conf" \
		--authentication-kubeconfig="$DIR/scheduler.conf" \
		--authorization-kubeconfig="$DIR/scheduler.conf" \
		--bind-address=127.0.0.1 --secure-port="$SCHED_PORT"
	check "kube-controller-manager /healthz" wait_until 60 "kube-controller-manager /healthz" curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
	check "kube-scheduler /healthz" wait_until 60 "kube-scheduler /healthz" curl -fsSk "https://127.0.0.1:$SCHED_PORT/healthz"

	kc version >&2 || true
	check "kubectl version: server $LEGACY_CP_VERSION" \
		grep -q "\"gitVersion\": \"$LEGACY_CP_VERSION\"" <(kc version -o json 2>/dev/null)
	# Maps through the API server's JSON decoding and encoding (json-iterator,
	# reflect2 on Go 1.26's Swiss maps): labels, ConfigMap data.
	kc create namespace legacy-smoke >/dev/null
	kc label namespace legacy-smoke rsw-smoke=yes >/dev/null
	kc -n legacy-smoke create configmap m --from-literal=a=1 --from-literal=b=2 >/dev/null
	check "namespace label and ConfigMap data read back" test \
		"$(kc get ns legacy-smoke -o 'jsonpath={.metadata.labels.rsw-smoke}')/$(kc -n legacy-smoke get cm m -o 'jsonpath={.data.a}{.data.b}')" = yes/12
	# The controller-manager's service-account controller fills the namespace.
	check "controller-manager created the namespace's default ServiceAccount" \
		wait_until 60 "the default ServiceAccount" kc -n legacy-smoke get serviceaccount default
	# The scheduler sees the pod and, with no node, says so.
	kc -n legacy-smoke run p --image=localhost/none:1 --restart=Never >/dev/null
	check "scheduler marked the pod Unschedulable (no nodes)" wait_until 60 "the pod Unschedulable" bash -c \
		"[[ \$(\"$KUBECTL\" --kubeconfig '$DIR/admin.conf' -n legacy-smoke get pod p \
			-o 'jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}') == Unschedulable ]]"
	kc delete namespace legacy-smoke --wait=false >/dev/null
}

main() {
	require_cmd openssl curl setsid ss timeout
	find_kubectl
	local f
	for f in "$LEGACY_KBIN" "$LEGACY_KUBELET"; do
		[[ -x $f ]] || die "$f missing: run tests/e2e/legacy/build.sh (make legacy-build) first"
	done
	DIR=$(mktemp -d /tmp/rsw-legacy-smoke.XXXXXX)
	at_exit cleanup
	versions
	kubelets
	control_plane
	if ((T_FAILED)); then
		local n
		for n in etcd apiserver controller-manager scheduler; do
			[[ ! -f $DIR/$n.log ]] || { note "--- $n.log (tail)"; note "$(tail -n 15 "$DIR/$n.log")"; }
		done
	fi
	test_done
}

main "$@"
