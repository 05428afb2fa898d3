# Node sets, node kinds and cluster flavours of the e2e cluster (sourced by
# cluster.sh after lib.sh; test harness only). The interfaces are documented
# in tests/e2e/node/kinds/README.md (kinds) and
# tests/e2e/cluster/flavours/README.md (flavours); NODES and CLUSTER in
# cluster.sh's header.

KINDS_DIR=$E2E_DIR/node/kinds
FLAVOURS_DIR=$E2E_DIR/cluster/flavours
DEFAULT_ZONE=zone-a
ZONE_LABEL=topology.kubernetes.io/zone
# Node addresses are 10.77.0.(10+I), pod CIDRs 10.244.I.0/24.
MAX_NODES=16
# What the running cluster is (flavour, node set), written by `up`.
STATE_FILE=$RS_STATE/cluster

# The node set in use: names in order, and per name its kind, zone, address
# and pod CIDR (filled by use_nodes).
NODE_NAMES=()
declare -A NODE_KIND=() NODE_ZONE=() NODE_IP=() POD_CIDR=()
# Normalised set ("name:kind@zone ...") and flavour in use.
NODESET=
FLAVOUR=

# ------------------------------------------------------------- flavours ---

# load_flavour NAME -- source flavours/NAME.sh into the FLAVOUR_* variables.
load_flavour() {
	local name=$1 f
	[[ $name =~ ^[a-z][a-z0-9-]*$ && -f $FLAVOURS_DIR/$name.sh ]] || {
		local have=()
		for f in "$FLAVOURS_DIR"/*.sh; do have+=("$(basename "$f" .sh)"); done
		die "CLUSTER='$name': no such cluster flavour (flavours: ${have[*]}; see $FLAVOURS_DIR/README.md)"
	}
	FLAVOUR_DESCRIPTION= FLAVOUR_VERSION= FLAVOUR_NODES= FLAVOUR_KUBECTL=
	FLAVOUR_ETCD=() FLAVOUR_APISERVER=() FLAVOUR_CONTROLLER_MANAGER=() FLAVOUR_SCHEDULER=()
	FLAVOUR_ETCD_FLAGS=() FLAVOUR_APISERVER_FLAGS=() FLAVOUR_CONTROLLER_MANAGER_FLAGS=()
	FLAVOUR_SCHEDULER_FLAGS=() FLAVOUR_BUILD=()
	unset FLAVOUR_KUBELET
	declare -gA FLAVOUR_KUBELET=()
	# shellcheck source=/dev/null
	. "$FLAVOURS_DIR/$name.sh"
	local v
	for v in FLAVOUR_VERSION FLAVOUR_NODES; do
		[[ -n ${!v} ]] || die "$FLAVOURS_DIR/$name.sh: $v is not set"
	done
	for v in FLAVOUR_ETCD FLAVOUR_APISERVER FLAVOUR_CONTROLLER_MANAGER FLAVOUR_SCHEDULER; do
		local -n arr=$v
		((${#arr[@]} >= 1)) || die "$FLAVOURS_DIR/$name.sh: $v (binary [subcommand...]) is not set"
		unset -n arr
	done
	FLAVOUR=$name
}

# The control-plane binaries (paths under RS_CACHE) of the flavour.
flavour_control_plane() {
	printf '%s\n' "${FLAVOUR_ETCD[0]}" "${FLAVOUR_APISERVER[0]}" "${FLAVOUR_CONTROLLER_MANAGER[0]}" "${FLAVOUR_SCHEDULER[0]}" | sort -u
}

# kubelet_of KIND -- "PATH VERSION" of the kubelet the flavour gives nodes of KIND.
kubelet_of() {
	local role=${KIND_KUBELET_ROLE[$1]}
	[[ -n ${FLAVOUR_KUBELET[$role]:-} ]] ||
		die "cluster flavour $FLAVOUR has no kubelet for role '$role' (node kind $1); it declares: ${!FLAVOUR_KUBELET[*]}"
	echo "${FLAVOUR_KUBELET[$role]}"
}

# Minor version of a "vMAJOR.MINOR.PATCH" string.
minor_of() {
	local v=${1#v1.}
	echo "${v%%.*}"
}

# ---------------------------------------------------------------- kinds ---

# Per kind, what its file declares (filled by load_kind).
declare -A KIND_LOADED=() KIND_DESC=() KIND_IMAGE_OF=() KIND_IMAGE_PKGS=() KIND_IMAGE_BINS=()
declare -A KIND_FILES_OF=() KIND_BINS=() KIND_BUILDS=() KIND_CRI_OF=() KIND_ENABLE_OF=()
declare -A KIND_DISABLE_OF=() KIND_KUBELET_ROLE=() KIND_CGROUP=() KIND_KCONFIG=() KIND_IMAGES_OF=()

known_kinds() {
	local f out=()
	for f in "$KINDS_DIR"/*.sh; do out+=("$(basename "$f" .sh)"); done
	echo "${out[*]}"
}

# load_kind KIND -- source kinds/KIND.sh once; its variables go into the
# KIND_*[KIND] tables, its functions are renamed kind_<KIND>_<function>.
load_kind() {
	local kind=$1 file=$KINDS_DIR/$1.sh fn
	[[ -n ${KIND_LOADED[$kind]:-} ]] && return 0
	[[ $kind =~ ^[a-z][a-z0-9-]*$ && -f $file ]] ||
		die "node kind '$kind' does not exist (kinds: $(known_kinds); see $KINDS_DIR/README.md)"
	local decl
	decl=$(
		KIND_DESCRIPTION= KIND_IMAGE=base KIND_CRI= KIND_KUBELET=cri KIND_IMAGES=
		KIND_CGROUP_DRIVER=cgroupfs KIND_KUBELET_CONFIG=
		KIND_IMAGE_PACKAGES=() KIND_IMAGE_BINARIES=() KIND_FILES=() KIND_BINARIES=()
		KIND_BUILD=() KIND_ENABLE=() KIND_DISABLE=()
		# shellcheck source=/dev/null
		. "$file"
		local v
		for v in KIND_DESCRIPTION KIND_CRI KIND_IMAGES; do
			[[ -n ${!v} ]] || die "$file: $v is not set"
		done
		[[ $KIND_IMAGES == make || $KIND_IMAGES == archive ]] || die "$file: KIND_IMAGES must be make or archive, not '$KIND_IMAGES'"
		[[ $KIND_IMAGE =~ ^[a-z][a-z0-9-]*$ ]] || die "$file: KIND_IMAGE '$KIND_IMAGE' is not a variant name"
		[[ $KIND_IMAGE != base || (${#KIND_IMAGE_PACKAGES[@]} -eq 0 && ${#KIND_IMAGE_BINARIES[@]} -eq 0) ]] ||
			die "$file: KIND_IMAGE_PACKAGES/KIND_IMAGE_BINARIES need a variant name in KIND_IMAGE (not base)"
		declare -F kind_import_images >/dev/null || die "$file: no kind_import_images function"
		# Hand the declarations back as assignments (printf %q quotes them).
		printf 'KIND_DESC[%q]=%q\n' "$kind" "$KIND_DESCRIPTION"
		printf 'KIND_IMAGE_OF[%q]=%q\n' "$kind" "$KIND_IMAGE"
		printf 'KIND_IMAGE_PKGS[%q]=%q\n' "$kind" "${KIND_IMAGE_PACKAGES[*]}"
		printf 'KIND_IMAGE_BINS[%q]=%q\n' "$kind" "${KIND_IMAGE_BINARIES[*]}"
		printf 'KIND_FILES_OF[%q]=%q\n' "$kind" "${KIND_FILES[*]}"
		printf 'KIND_BINS[%q]=%q\n' "$kind" "${KIND_BINARIES[*]}"
		printf 'KIND_BUILDS[%q]=%q\n' "$kind" "${KIND_BUILD[*]}"
		printf 'KIND_CRI_OF[%q]=%q\n' "$kind" "$KIND_CRI"
		printf 'KIND_ENABLE_OF[%q]=%q\n' "$kind" "${KIND_ENABLE[*]}"
		printf 'KIND_DISABLE_OF[%q]=%q\n' "$kind" "${KIND_DISABLE[*]}"
		printf 'KIND_KUBELET_ROLE[%q]=%q\n' "$kind" "$KIND_KUBELET"
		printf 'KIND_CGROUP[%q]=%q\n' "$kind" "$KIND_CGROUP_DRIVER"
		printf 'KIND_KCONFIG[%q]=%q\n' "$kind" "$KIND_KUBELET_CONFIG"
		printf 'KIND_IMAGES_OF[%q]=%q\n' "$kind" "$KIND_IMAGES"
		for fn in kind_import_images kind_kubelet_flags; do
			declare -F "$fn" >/dev/null || continue
			declare -f "$fn" | sed "1s/^$fn /kind_${kind//-/_}_${fn#kind_} /"
		done
	) || exit 1
	eval "$decl"
	KIND_LOADED[$kind]=1
}

# kind_call KIND FUNCTION ARGS... -- run a kind's function (kind_<KIND>_FUNCTION).
kind_call() {
	local kind=$1 fn=$2
	shift 2
	"kind_${kind//-/_}_$fn" "$@"
}

kind_has() { declare -F "kind_${1//-/_}_$2" >/dev/null; }

# ------------------------------------------------------------ node sets ---

# use_nodes SPEC -- parse and validate a node set ("name:kind[@zone] ..."),
# load its kinds, and fill NODE_NAMES, NODE_KIND, NODE_ZONE, NODE_IP,
# POD_CIDR and NODESET (normalised, every zone written out).
use_nodes() {
	local spec=$1 what=${2:-NODES} item name kind zone i=0 makers=0
	NODE_NAMES=()
	NODE_KIND=() NODE_ZONE=() NODE_IP=() POD_CIDR=()
	local -a norm=()
	for item in $spec; do
		[[ $item =~ ^([a-z][a-z0-9-]{0,11}):([a-z][a-z0-9-]*)(@([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?))?$ ]] ||
			die "$what: '$item' is not NAME:KIND[@ZONE] (NAME: a-z, 0-9, '-', at most 12 characters, starting with a letter; ZONE: a label value such as zone-b)"
		name=${BASH_REMATCH[1]} kind=${BASH_REMATCH[2]} zone=${BASH_REMATCH[4]:-$DEFAULT_ZONE}
		[[ $name != *- ]] || die "$what: node name '$name' ends with '-'"
		[[ -z ${NODE_KIND[$name]:-} ]] || die "$what: node '$name' is listed twice"
		[[ -f $KINDS_DIR/$kind.sh ]] ||
			die "$what: '$item': node kind '$kind' does not exist (kinds: $(known_kinds))"
		load_kind "$kind"
		i=$((i + 1))
		((i <= MAX_NODES)) || die "$what: more than $MAX_NODES nodes"
		NODE_NAMES+=("$name")
		NODE_KIND[$name]=$kind
		NODE_ZONE[$name]=$zone
		NODE_IP[$name]=10.77.0.$((10 + i))
		POD_CIDR[$name]=10.244.$i.0/24
		[[ ${KIND_IMAGES_OF[$kind]} == make ]] && makers=$((makers + 1))
		norm+=("$name:$kind@$zone")
	done
	((i > 0)) || die "$what: no node given"
	((makers > 0)) ||
		die "$what: '$spec' has no node of a kind that makes the seeded images (KIND_IMAGES=make, e.g. docker)"
	NODESET=${norm[*]}
}

# The first node of the set holds the seeded workload's node-bound pods
# (the static pod, the bare pod, the emptyDir pod's preference): node-1 by default.
subject_node() { echo "${NODE_NAMES[0]}"; }

# ---------------------------------------------------------- state file ---

# read_state -- the running cluster's flavour and node set from the state
# file, into STATE_FLAVOUR and STATE_NODES; fails when there is none.
read_state() {
	local line
	STATE_FLAVOUR= STATE_NODES=
	if [[ ! -f $STATE_FILE ]]; then
		# Transition: a cluster brought up before node sets existed has no
		# state file, and was the default one (drop this once no such
		# cluster can be running).
		[[ -f $RS_STATE/run/up.done ]] || return 1
		STATE_FLAVOUR=default STATE_NODES="node-1:docker@$DEFAULT_ZONE node-2:containerd@$DEFAULT_ZONE"
		return 0
	fi
	while IFS= read -r line; do
		case $line in
		flavour=*) STATE_FLAVOUR=${line#flavour=} ;;
		nodes=*) STATE_NODES=${line#nodes=} ;;
		esac
	done <"$STATE_FILE"
	[[ -n $STATE_FLAVOUR && -n $STATE_NODES ]] || die "$STATE_FILE is incomplete (run tests/e2e/cluster.sh down)"
}

write_state() {
	mkdir -p "$RS_STATE"
	printf 'flavour=%s\nnodes=%s\n' "$FLAVOUR" "$NODESET" >"$STATE_FILE.tmp"
	mv "$STATE_FILE.tmp" "$STATE_FILE"
}

# use_requested -- the flavour and node set `up` and `build` are asked for:
# CLUSTER (default: default) and NODES (default: the flavour's set).
use_requested() {
	load_flavour "${CLUSTER:-default}"
	if [[ -n ${NODES:-} ]]; then
		use_nodes "$NODES"
	else
		use_nodes "$FLAVOUR_NODES" "FLAVOUR_NODES of cluster flavour $FLAVOUR"
	fi
}

# use_running -- the running cluster's flavour and node set; without a
# state file (down, or brought up before node sets existed) the default.
use_running() {
	if read_state; then
		load_flavour "$STATE_FLAVOUR"
		use_nodes "$STATE_NODES" "$STATE_FILE"
		return 0
	fi
	load_flavour default
	use_nodes "$FLAVOUR_NODES" "FLAVOUR_NODES of cluster flavour default"
	return 1
}
