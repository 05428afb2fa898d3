#!/usr/bin/env bash
# make test-completion: shell completion through the real kubectl.
#   tests/completion/run.sh PLUGIN
#
# kubectl >= 1.26 completes `kubectl runtime-switch ...` by running
# kubectl_complete-runtime_switch from PATH; `kubectl __complete` is the
# entry point its shell scripts call, so every case below goes through it.
# Node names come from a local HTTPS API server (tests/fakes/fakeapi.py)
# and, when it is up, the project's real cluster (under the e2e lock; when
# it is not up, that part is a skip).  The bash and zsh scripts are run the
# way the shells run them.
. "$(dirname "$0")/../lib/test-lib.sh"
plugin=$(readlink -f "${1:?usage: run.sh PLUGIN}")
root=$RS_ROOT
kubectl=${KUBECTL:-/usr/bin/kubectl}
. "$RS_ROOT/tests/lib/e2e.sh"
need python3 zsh

work=$T_TMP
mkdir -p "$work/bin" "$work/home"
cp "$plugin" "$work/bin/kubectl-runtime_switch"
export HOME="$work/home" PATH="$work/bin:$PATH"
unset KUBECONFIG BASH_COMP_DEBUG_FILE

# expect NAME WANT SHELL-CODE: what the code prints equals WANT (lines).
expect() {
  local _name=$1 _want=$2 _code=$3
  local _got
  _got=$(eval "$_code" 2>/dev/null)
  if [[ $_got == "$_want" ]]; then ok "$_name"
  else fail "$_name" "$(diff <(echo "$_want") <(echo "$_got") | head -n 20)"; fi
}
# names_of: the candidates of a Cobra answer, without descriptions.
names_of() { grep -v '^:' | cut -f1; }
comp() { "$kubectl" __complete runtime-switch "$@" 2>/dev/null; }
compnd() { "$kubectl" __completeNoDesc runtime-switch "$@" 2>/dev/null; }

# ---- the helper: linked by the plugin itself, found by kubectl ----
out=$("$work/bin/kubectl-runtime_switch" completion helper 2>&1)
if [[ -L $work/bin/kubectl_complete-runtime_switch &&
      $(readlink "$work/bin/kubectl_complete-runtime_switch") == kubectl-runtime_switch ]]; then
  ok "completion helper links kubectl_complete-runtime_switch next to the plugin ($out)"
else
  fail "completion helper links kubectl_complete-runtime_switch next to the plugin" "$out" "$(ls -l "$work/bin")"
fi
mkdir -p "$work/bin2"
expect "completion helper DIR links to this plugin" \
  "$work/bin2/kubectl_complete-runtime_switch -> $work/bin/kubectl-runtime_switch" \
  '"$work/bin/kubectl-runtime_switch" completion helper "$work/bin2"'

# ---- subcommands, flags, flag values ----
commands=$'status\nversion\ncompletion\nhelp\noptions'
got=$(comp "" | names_of | sort)
want=$(sort <<<"$commands")
extra=$(comm -13 <(echo "$want") <(echo "$got"))
if [[ -z $(comm -23 <(echo "$want") <(echo "$got")) && -z $(grep -x '__complete' <<<"$extra") ]]; then
  ok "kubectl __complete runtime-switch '' lists the commands (and not __complete)"
else
  fail "kubectl __complete runtime-switch '' lists the commands (and not __complete)" "got $(echo $got)"
fi
expect "commands: directive 4 (no file completion)" ":4" 'comp "" | tail -n 1'
expect "a prefix picks one command" "status" "comp st | names_of"
# (grep reads all of it: with pipefail, grep -q leaving early failed the pipe)
check "commands carry descriptions" grep -q $'^status\tShow' <<<"$(comp "")"
check "__completeNoDesc drops descriptions" not grep $'\t' <<<"$(compnd "")"
expect "global flag by prefix" "--kubeconfig" "comp status --kubec | names_of"
expect "command flags first, then global ones (version --cl)" \
  $'--client\n--client-certificate\n--client-key\n--cluster' "comp version --cl | names_of"
expect "short flags on a single dash (-n)" "-n" "comp version -n | names_of"
expect "values from the flag's help (version -o '')" $'yaml\njson' \
  "comp version -o '' | names_of"
expect "values in --flag=value form" $'--output=yaml\n--output=json' \
  "comp version --output= | names_of"
expect "file flags fall back to file completion (:0)" ":0" \
  "comp status --kubeconfig '' | tail -n 1"
expect "values listed as 'One of: (json, yaml, wide)' (status -o)" $'json\nyaml\nwide' \
  "comp status -o '' | names_of"
expect "the runtimes node --to switches to" $'containerd\ncri-o\ncri-dockerd' \
  "comp node n1 --to '' | names_of"
expect "drain --dry-run strategies" $'none\nclient\nserver' \
  "comp drain --dry-run '' | names_of"
expect "rollback takes the keyword node first" "node" \
  "comp rollback '' | names_of"
expect "completion's arguments" $'bash\nzsh\nhelper' \
  "comp completion '' | names_of"
expect "help completes command names" "version" \
  "comp help v | names_of"
expect "an unknown command completes nothing" ":4" \
  "comp frobnicate ''"

# The helper never runs what it is asked to complete.
out=$("$work/bin/kubectl_complete-runtime_switch" version --client 2>&1)
if [[ $out != *"Client Version"* && $(tail -n 1 <<<"$out") == :* ]]; then
  ok "kubectl_complete-runtime_switch version --client completes, does not run version"
else
  fail "kubectl_complete-runtime_switch version --client completes, does not run version" "it printed: $out"
fi
out=$("$work/bin/kubectl-runtime_switch" __complete --help 2>&1)
if [[ $out == *"--help"* && $(tail -n 1 <<<"$out") == ":4" ]]; then
  ok "__complete --help completes the flag, prints no help"
else
  fail "__complete --help completes the flag, prints no help" "it printed: $out"
fi

# ---- node names from an API server ----
certs="$root/build/tls"
"$root/tests/fakes/gen-certs.sh" "$certs" >/dev/null 2>&1 || bail_out "tests/fakes/gen-certs.sh $certs failed"
python3 "$root/tests/fakes/fakeapi.py" --certs "$certs" --port-file "$work/port" \
  --lifetime 120 --nodes 3 >"$work/fakeapi.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
wait_until 5 "the fake API server's port file" test -s "$work/port" ||
  bail_out "tests/fakes/fakeapi.py did not start" "$(cat "$work/fakeapi.log")"
port=$(cat "$work/port")
write_kubeconfig "$work/kubeconfig" "https://127.0.0.1:$port" "certificate-authority: $certs/ca.crt" \
  "client-certificate: $certs/client.crt
client-key: $certs/client.key"
printf -- '- name: elsewhere\n  context: {cluster: nowhere, user: u}\n' >> "$work/kubeconfig"
expect "status <TAB>: node names from the cluster" $'node-00000\nnode-00001\nnode-00002' \
  "KUBECONFIG=$work/kubeconfig comp status '' | names_of"
check "node candidates describe their container runtime" \
  grep -q $'^node-00000\tdocker://' <<<"$(KUBECONFIG="$work/kubeconfig" comp status '')"
expect "status NODE <TAB>: names already typed are left out" $'node-00000\nnode-00002' \
  "KUBECONFIG=$work/kubeconfig comp status node-00001 '' | names_of"
expect "a prefix filters node names" "node-00002" \
  "KUBECONFIG=$work/kubeconfig comp status node-00002 | names_of"
expect "node NAME <TAB>: more nodes for a rollout, names already typed left out" $'node-00001\nnode-00002' \
  "KUBECONFIG=$work/kubeconfig comp node node-00000 '' | names_of"
expect "rollback node <TAB>: node names" $'node-00000\nnode-00001\nnode-00002' \
  "KUBECONFIG=$work/kubeconfig comp rollback node '' | names_of"
expect "drain <TAB> after flags: node names" $'node-00000\nnode-00001\nnode-00002' \
  "KUBECONFIG=$work/kubeconfig comp drain --ignore-daemonsets --timeout 2m '' | names_of"
expect "--kubeconfig typed on the line is used" $'node-00000\nnode-00001\nnode-00002' \
  "comp status --kubeconfig '$work/kubeconfig' '' | names_of"
expect "--context typed on the line is used (an unknown cluster: no names, no noise)" ":4" \
  "KUBECONFIG=$work/kubeconfig comp --context=elsewhere status ''"
# bash: the script run by bash's own completion machinery
"$work/bin/kubectl-runtime_switch" completion bash > "$work/bash-completion"
got=$(KUBECONFIG="$work/kubeconfig" bash -c '
  source "$1"
  complete -p kubectl-runtime_switch >/dev/null || exit 3
  COMP_WORDS=(kubectl-runtime_switch status node-0000) COMP_CWORD=2
  __kubectl_runtime_switch_complete
  printf "%s\n" "${COMPREPLY[@]}"' _ "$work/bash-completion")
expect "bash: completion bash completes node names" $'node-00000\nnode-00001\nnode-00002' 'echo "$got"'
got=$(bash -c '
  source "$1"
  COMP_WORDS=(kubectl-runtime_switch ver) COMP_CWORD=1
  __kubectl_runtime_switch_complete
  printf "%s\n" "${COMPREPLY[@]}"' _ "$work/bash-completion")
expect "bash: completion bash completes commands" "version" 'echo "$got"'

# Against the real cluster when it is up.
eval "$(cluster env)"
if "$kubectl" get --raw /version >/dev/null 2>&1; then
  e2e_lock || bail_out "the e2e lock"
  want=$("$kubectl" get nodes -o name | sed 's|^node/||' | sort)
  got=$(comp status '' | names_of | sort)
  if [[ -z $want ]]; then skip "real cluster: it has no nodes yet"
  elif [[ $got == "$want" ]]; then ok "real cluster: status <TAB> lists its nodes ($(echo $got))"
  else fail "real cluster: status <TAB> lists its nodes" "nodes $(echo $want), completion $(echo $got)"; fi
else
  skip "real cluster: tests/e2e/cluster.sh is not up"
fi
unset KUBECONFIG

# ---- zsh: the script run by zsh's completion system ----
"$work/bin/kubectl-runtime_switch" completion zsh > "$work/_kubectl-runtime_switch"
check "zsh: the script parses" zsh -n "$work/_kubectl-runtime_switch"
# _describe and compdef stubbed: what the function hands to zsh.
got=$(zsh -f -c '
  compdef() { :; }
  _describe() { local -a arr; arr=("${(@P)4}"); print -l -- "${arr[@]}"; }
  _files() { print FILES; }
  source "$1"
  words=(kubectl-runtime_switch version -o "") CURRENT=4
  _kubectl_runtime_switch' _ "$work/_kubectl-runtime_switch" 2>&1)
expect "zsh: completion zsh hands values to _describe" $'yaml\njson' 'echo "$got"'
got=$(zsh -f -c '
  compdef() { :; }
  _describe() { local -a arr; arr=("${(@P)4}"); print -l -- "${arr[@]}"; }
  source "$1"
  words=(kubectl-runtime_switch st) CURRENT=2
  _kubectl_runtime_switch' _ "$work/_kubectl-runtime_switch" 2>&1)
expect "zsh: descriptions after a colon" "status:Show the container runtime of every node and what to do about it" 'echo "$got"'

test_done
