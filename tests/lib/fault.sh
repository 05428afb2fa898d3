# The fault proxy (tests/fakes/faultproxy.py) in front of the e2e cluster's
# API server, and a kubeconfig that points at it (sourced after common.sh
# and e2e.sh, with KUBECONFIG the cluster's admin; test harness only).
#   fault_proxy_start WORKDIR [RULES.json]  -> FAULT_KUBECONFIG, FAULT_LOG, FAULT_PID
#   fault_proxy_stop
#   fault_wait_held PID [ACTION]  -> FAULT_HELD: the first request the proxy
#                               holds (ACTION: "hold", the default, matches
#                               every hold action), while PID lives (5 min)

fault_proxy_start() {
	local work=$1 rules=${2:-}
	mkdir -p "$work"
	local certs=$RS_ROOT/build/tls-fault
	"$RS_ROOT/tests/fakes/gen-certs.sh" "$certs"
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
	python3 "$RS_ROOT/tests/fakes/faultproxy.py" --upstream "$server" --upstream-ca "$work/up-ca.crt" \
		--upstream-cert "$work/up.crt" --upstream-key "$work/up.key" --certs "$certs" \
		${rules:+--rules "$rules"} --log "$FAULT_LOG" --port-file "$work/port" --lifetime 900 &
	FAULT_PID=$!
	wait_until 10 "the fault proxy's port file" test -s "$work/port" || { note "fault proxy did not start"; return 1; }
	FAULT_KUBECONFIG=$work/kubeconfig
	write_kubeconfig "$FAULT_KUBECONFIG" "https://127.0.0.1:$(cat "$work/port")" \
		"certificate-authority: $certs/ca.crt" "token: unused-the-proxy-authenticates"
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
