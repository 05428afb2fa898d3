# What the benchmarks on a private API server share (sourced after
# tests/lib/common.sh: T_TMP, at_exit, wait_until).
#
#   bench_apiserver BASE   etcd + kube-apiserver from the e2e cluster's binary
#                          ($RS_CACHE/bin/kbin) on loopback ports of their own
#                          (BASE+379/+380 etcd, BASE+443 the API server), with
#                          a throwaway PKI in $T_TMP; no controllers, no
#                          scheduler, no kubelet: what is created stays as
#                          created.  Exports KUBECONFIG (system:masters);
#                          both are stopped at exit.
#   bench_measure WHO CMD...
#                          CMD under the benchmarks' clock (BENCH_USAGE): its
#                          stdout in $T_TMP/out, one line "WHO wall cpu rss"
#                          (s, s, KiB) appended to $T_TMP/results; exits
#                          the benchmark if CMD fails
#   bench_report REF WHO...
#                          per WHO the medians of its results (wall, CPU =
#                          user+sys, peak RSS) and each run's wall; with a REF
#                          (a WHO too, '' for none) how many times REF's
#                          median wall, CPU and RSS each WHO's are
#
# BENCH_NODES, BENCH_USAGE: the helpers (default build/release/bench/...).
# KUBECTL: default kubectl 1.33, as the suites.

RS_CACHE=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
BENCH_NODES=${BENCH_NODES:-$RS_ROOT/build/release/bench/bench_nodes}
BENCH_USAGE=${BENCH_USAGE:-$RS_ROOT/build/release/bench/usage}
if [[ -z ${KUBECTL:-} ]]; then
	KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
	[[ -x $KUBECTL ]] || KUBECTL=$(command -v kubectl)
fi
BENCH_PIDS=()

bench_stop_servers() {
	local i
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM -- "-${BENCH_PIDS[i]}" 2>/dev/null || continue
		for _ in $(seq 100); do kill -0 -- "-${BENCH_PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-${BENCH_PIDS[i]}" 2>/dev/null || true
		wait "${BENCH_PIDS[i]}" 2>/dev/null || true
	done
	BENCH_PIDS=()
}

# bench_start NAME CMD...: in the background, in a process group of its own,
# keeping no descriptor of ours but stdin/out/err (log: $T_TMP/NAME.log)
bench_start() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$T_TMP/$name.log" 2>&1 &
	BENCH_PIDS+=($!)
}

# bench_issue NAME SUBJECT [SAN]: a P-256 certificate of the scratch CA
bench_issue() {
	local name=$1 subj=$2 san=${3:-} use=clientAuth d=$T_TMP
	[[ -z $san ]] || use=serverAuth,clientAuth
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
		-keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 1 \
		-sha256 -out "$d/$name.crt" -extfile <(printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=%s\n%s' \
			"$use" "${san:+subjectAltName=$san}") 2>/dev/null
}

bench_apiserver() {
	local base=$1 d=$T_TMP kbin=$RS_CACHE/bin/kbin t0=$SECONDS p
	local etcd=127.0.0.1:$((base + 379)) etcd_peer=127.0.0.1:$((base + 380)) api_port=$((base + 443))
	[[ -x $kbin ]] || { echo "$kbin missing: tests/e2e/cluster.sh build (make deps) first" >&2; exit 1; }
	for p in "${etcd##*:}" "${etcd_peer##*:}" "$api_port"; do
		! ss -Hltn "sport = :$p" | grep -q . || { echo "port $p is in use: choose another port base" >&2; exit 1; }
	done
	at_exit bench_stop_servers
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=rs-bench-ca \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	bench_issue apiserver /CN=kube-apiserver "IP:127.0.0.1"
	bench_issue admin "/O=system:masters/CN=admin"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/sa.key" 2>/dev/null
	openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
	export KUBECONFIG=$d/admin.conf
	write_kubeconfig "$KUBECONFIG" "https://127.0.0.1:$api_port" \
		"certificate-authority-data: $(base64 -w0 "$d/ca.crt")" \
		"client-certificate-data: $(base64 -w0 "$d/admin.crt")
client-key-data: $(base64 -w0 "$d/admin.key")"

	bench_start etcd "$kbin" etcd --name b --data-dir "$d/etcd" --listen-client-urls "http://$etcd" \
		--advertise-client-urls "http://$etcd" --listen-peer-urls "http://$etcd_peer" \
		--initial-advertise-peer-urls "http://$etcd_peer" --initial-cluster "b=http://$etcd_peer" \
		--listen-metrics-urls "" --unsafe-no-fsync --log-level warn
	wait_until 60 "etcd healthy" curl -fsS "http://$etcd/health" || { tail -20 "$d/etcd.log" >&2; exit 1; }
	bench_start apiserver "$kbin" apiserver --advertise-address=127.0.0.1 --bind-address=127.0.0.1 \
		--secure-port="$api_port" --etcd-servers="http://$etcd" --tls-cert-file="$d/apiserver.crt" \
		--tls-private-key-file="$d/apiserver.key" --client-ca-file="$d/ca.crt" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file="$d/sa.pub" \
		--service-account-signing-key-file="$d/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
		--authorization-mode=RBAC --profiling=false
	wait_until 120 "the API server ready" "$KUBECTL" get --raw /readyz || { tail -30 "$d/apiserver.log" >&2; exit 1; }
	echo "private API server ready in $((SECONDS - t0)) s (127.0.0.1:$api_port)"
}

bench_measure() {
	local who=$1 wall user sys rss
	shift
	"$BENCH_USAGE" -o "$T_TMP/t" "$@" >"$T_TMP/out" 2>"$T_TMP/err" || {
		echo "$who failed: $*" >&2
		cat "$T_TMP/err" >&2
		exit 1
	}
	read -r wall user sys rss <"$T_TMP/t"
	echo "$who $wall $(echo "$user + $sys" | bc) $rss" >>"$T_TMP/results"
}

bench_report() {
	python3 - "$T_TMP/results" "$@" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ref, whos = sys.argv[2], sys.argv[3:]
m = {}
for who in whos:
    r = [x for x in rows if x[0] == who]
    m[who] = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3)]
    print("  %-8s median wall %.3f s, cpu %.3f s, peak RSS %.1f MiB  (walls: %s)" % (
        who, m[who][0], m[who][1], m[who][2] / 1024, " ".join(x[1] for x in r)))
for who in whos:
    if ref and who != ref:
        k, p = m[ref], m[who]
        print("  %s/%s: wall %.1fx, cpu %.1fx, peak RSS %.1fx (%s uses %.0f%% of %s's time, %.0f%% of its memory)" % (
            ref, who, k[0] / p[0], k[1] / max(p[1], 0.005), k[2] / p[2], who, 100 * p[0] / k[0], ref, 100 * p[2] / k[2]))
PY
}
