# Start tests/fault/faultproxy.py in front of the cluster's API server and
# write a kubeconfig that points at it.  Sourced; test harness only.
#   fault_proxy_start WORKDIR [RULES.json]  -> FAULT_KUBECONFIG, FAULT_LOG, FAULT_PID
#   fault_proxy_stop
#   fault_wait_held PID [ACTION]  -> FAULT_HELD: the first request the proxy
#                               holds (ACTION: "hold", the default, matches
#                               every hold action), while PID lives (5 min)

FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAULT_ROOT=$(cd "$FAULT_DIR/../.." && pwd)
KUBECTL=${KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.33}

fault_proxy_start() {
	local work=$1 rules=${2:-}
	mkdir -p "$work"
	local certs=$FAULT_ROOT/build/tls-fault
	"$FAULT_ROOT/tests/fakes/gen-certs.sh" "$certs"
	# the admin credentials the proxy uses upstream
	local server
	server=$("$KUBECTL" config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
	"$KUBECTL" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$work/up-ca.crt"
	"$KUBECTL" config view --raw --minify -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d >"$work/up.crt"
	"$KUBECTL" config view --raw --minify -o jsonpath='{.users[0].user.client-key-data}' | base64 -d >"$work/up.key"
	chmod 600 "$work/up.key"
	FAULT_LOG=$work/requests.jsonl
	: >"$FAULT_LOG"
	rm -f "$work/port"
	python3 "$FAULT_DIR/faultproxy.py" --upstream "$server" --upstream-ca "$work/up-ca.crt" \
		--upstream-cert "$work/up.crt" --upstream-key "$work/up.key" --certs "$certs" \
		${rules:+--rules "$rules"} --log "$FAULT_LOG" --port-file "$work/port" --lifetime 900 &
	FAULT_PID=$!
	local i
	for i in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
	[[ -s $work/port ]] || { echo "fault proxy did not start" >&2; return 1; }
	FAULT_KUBECONFIG=$work/kubeconfig
	cat >"$FAULT_KUBECONFIG" <<-EOF
	apiVersion: v1
	kind: Config
	current-context: fault
	clusters:
	- name: fault
	  cluster:
	    server: https://127.0.0.1:$(cat "$work/port")
	    certificate-authority: $certs/ca.crt
	users:
	- name: fault
	  user: {token: unused-the-proxy-authenticates}
	contexts:
	- name: fault
	  context: {cluster: fault, user: fault}
	EOF
}

fault_proxy_stop() {
	if [[ -n ${FAULT_PID:-} ]]; then
		kill "$FAULT_PID" 2>/dev/null || true
		wait "$FAULT_PID" 2>/dev/null || true
		FAULT_PID=
	fi
}

fault_wait_held() {
	local pid=$1 action=${2:-hold} i
	FAULT_HELD=
	for ((i = 0; i < 1500; i++)); do
		FAULT_HELD=$(grep -m1 "\"action\": \"$action" "$FAULT_LOG")
		[[ -n $FAULT_HELD ]] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
