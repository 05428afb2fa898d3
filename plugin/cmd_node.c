/* kubectl runtime-switch node NAME --to containerd|cri-o|cri-dockerd: the
 * switch, with its progress (switch_cli.c). */
#include <string.h>

#include "cmd.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "rollout_cli.h"
#include "switch_cli.h"

/* and rs_drain_step_flags, rs_switch_flags */
static const struct rs_opt node_opts[] = {
    {.name = "all", .type = RS_OPT_BOOL, .def = "false",
     .help = "Every node of the cluster (those already on --to are listed as skipped)."},
    {.name = "all-control-plane", .type = RS_OPT_BOOL, .def = "false",
     .help = "Let a rollout switch every control-plane node of the cluster (still one at a time); without it the "
         "last one is held."},
    {.name = "canary", .type = RS_OPT_STRING, .arg = "N", .def = "1",
     .help = "Rollout: the first batch, alone, of N worker nodes."},
    {.name = "dry-run", .type = RS_OPT_BOOL, .def = "false",
     .help = "Run the read-only preflight on the node and print the plan, the ConfigMap and Job manifests and the "
         "node-file changes; change nothing. Over several nodes: print the rollout's plan and stop."},
    {.name = "force-single-control-plane", .type = RS_OPT_BOOL, .def = "false",
     .help = "Switch the node even when it is the only Ready control-plane node."},
    {.name = "helper-deadline", .type = RS_OPT_STRING, .arg = "DURATION", .def = "15m",
     .help = "The helper on the node rolls the switch back if it is not done within this time."},
    {.name = "image", .type = RS_OPT_STRING, .arg = "IMAGE", .def = "",
     .help = "Image for the helper's pods; it must already be on the node (it is never pulled). Default: one that a "
         "pod on the node runs."},
    {.name = "max-failures", .type = RS_OPT_STRING, .arg = "N", .def = "0",
     .help = "Rollout: go on past up to N failed nodes (each rolled back and left cordoned); the next halts it."},
    {.name = "max-unavailable", .type = RS_OPT_STRING, .arg = "N|P%", .def = "1",
     .help = "Rollout: nodes switched at once after the canary, a count or a percentage of the planned nodes "
         "(rounded down, at least 1); a batch shrinks to what the PodDisruptionBudgets allow."},
    {.name = "max-zones", .type = RS_OPT_STRING, .arg = "N", .def = "1",
     .help = "Rollout: zones (topology.kubernetes.io/zone) one batch may span; 0: no limit."},
    {.name = "no-images", .type = RS_OPT_BOOL, .def = "false",
     .help = "Do not carry the node's images over to the new runtime (pods pull them again)."},
    {.name = "no-uncordon", .type = RS_OPT_BOOL, .def = "false",
     .help = "Leave the node cordoned after a successful switch."},
    {.name = "node-timeout", .type = RS_OPT_STRING, .arg = "DURATION", .def = "20m",
     .help = "How long to wait for the node to come back and the helper to report."},
    RS_OPT_OUTPUT("", "Output format. One of: (json). json prints one event per phase, one per line, then a summary.",
                  "json"),
    {.name = "selector", .short_name = 'l', .type = RS_OPT_STRING, .arg = "SELECTOR", .def = "",
     .help = "Selector (label query) to filter nodes on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l "
         "key1=value1,key2=value2)."},
    {.name = "skip-preflight", .type = RS_OPT_BOOL, .def = "false",
     .help = "Rollout: plan without the helper's preflight on each node (the node's own run still does it before "
         "anything changes there); the drain's blockers are still found."},
    {.name = "soak", .type = RS_OPT_STRING, .arg = "DURATION", .def = "0s",
     .help = "Rollout: after each batch, wait this long and halt if a container on its nodes restarted."},
    {.name = "to", .type = RS_OPT_STRING, .arg = "RUNTIME", .def = "",
     .help = "The runtime to switch to: " RS_RUNTIME_TARGETS ".",
     .values = RS_VALUES(RS_RUNTIME_CONTAINERD, RS_RUNTIME_CRIO, RS_RUNTIME_CRI_DOCKERD)}, /* as the help says */
};
static const struct rs_opt_table node_table = RS_OPT_TABLE(node_opts);

static int cmd_node(struct rs_cli *cli, rs_err_t *err) {
  if (rs_rollout_cli_wanted(cli)) return rs_rollout_cli_run(cli, err);
  size_t nargs = rs_strv_len(cli->args);
  if (nargs == 0) return rs_fail(err, RS_E_USAGE, 0, "a node name is required: node NAME --to RUNTIME");
  const char *to = rs_cli_str(cli, "to");
  if (!to || !*to) return rs_fail(err, RS_E_USAGE, 0, "--to is required: " RS_RUNTIME_TARGETS);
  if (rs_rt_target(to) == RS_RT_NONE)
    return rs_fail(err, RS_E_USAGE, 0, "--to must be " RS_RUNTIME_TARGETS " (got \"%s\")", to);
  struct rs_switch_opts o = {.op = RS_OP_SWITCH, .node = cli->args[0], .to = to};
  if (rs_switch_cli_opts(cli, &o, err) < 0) return -1;
  return rs_switch_cli_run(cli, &o, err);
}

const struct rs_cmd rs_cmd_node = {
    .name = "node", .run = cmd_node, .args = {.kind = RS_ARG_NODES},
    .summary = "Switch a node's container runtime: cordon, drain, switch, verify, uncordon",
    .usage = "node NAME... | -l SELECTOR | --all --to containerd|cri-o|cri-dockerd [flags]",
    .description =
        "Move one node to another container runtime, through the API only (no SSH):\n"
        "read the node and refuse what cannot work; deliver the node helper (in an immutable\n"
        "ConfigMap in the working namespace: the plugin's own, kubectl-runtime-switch, created\n"
        "when absent; another with -n) and run its read-only preflight in a privileged pod\n"
        "pinned to the node; show the plan (--dry-run stops here, printing\n"
        "the manifests too); ask (unless --yes); cordon; drain (kubectl drain's flags;\n"
        "--ignore-daemonsets is implied); launch the switch, which goes on as a host unit\n"
        "when the old runtime takes the pod down; follow the node NotReady -> Ready; verify\n"
        "with a pod on the new runtime; update kubeadm's cri-socket annotation; uncordon;\n"
        "remove the Jobs and the ConfigMap; print the time of each phase.\n\n"
        "On failure the helper restores every file and service; the node comes back on its\n"
        "old runtime and stays cordoned.  Interrupted, the same command resumes: progress is\n"
        "recorded on the node (annotation runtime-switch.kubectl.dev/state).\n\n"
        "Exit codes: 0 done; 1 error; 2 usage; 3 refused, nothing changed; 4 drain failed\n"
        "(node cordoned, not switched); 5 switch failed and rolled back (node cordoned);\n"
        "6 needs a human (rollback failed, or the node did not come back); 130 interrupted.\n\n"
        "Several nodes (names, -l SELECTOR or --all), or any rollout flag, make a rollout:\n"
        "first its plan, computed before anything changes and printed (-o json: one line):\n"
        "the batches in order (a canary, then --max-unavailable at a time, one zone at a time,\n"
        "workers before control-plane nodes, those one at a time and never all of them without\n"
        "--all-control-plane, each batch shrunk to what the PodDisruptionBudgets allow now),\n"
        "each node's preflight verdict (one preflight per node, at once; --skip-preflight) and\n"
        "the drain's blockers of every node; nodes already on --to are listed as skipped.\n"
        "Blockers exit 3 with nothing changed; --dry-run stops after the plan.  Then, confirmed\n"
        "once (or --yes), the batches run: each node's switch as above, at once within a batch;\n"
        "between batches the gates (each node Ready on --to, its DaemonSet pods Ready, the\n"
        "ReplicaSets and StatefulSets it had pods of back to their available replicas, with\n"
        "--soak no container restarting). A failed node is rolled back and left cordoned, the\n"
        "rest of its batch finishes, the rollout halts (--max-failures N goes on). The record\n"
        "is the ConfigMap runtime-switch-rollout-<id> in the working namespace: the same\n"
        "command again resumes it without repeating a finished node; another rollout over the\n"
        "same nodes is refused.",
    .examples =
        "  # Look first: the plan, the manifests and the file changes, nothing changed\n"
        "  kubectl runtime-switch node node-1 --to containerd --dry-run\n\n"
        "  # Switch without asking; pods without a controller and emptyDir pods go too\n"
        "  kubectl runtime-switch node node-1 --to containerd --yes --force --delete-emptydir-data\n\n"
        "  # One JSON event per phase, for automation\n"
        "  kubectl runtime-switch node node-1 --to containerd --yes -o json\n\n"
        "  # The plan of a rollout over the Docker nodes of a pool, two at a time after a canary\n"
        "  kubectl runtime-switch node -l pool=blue --to containerd --max-unavailable 2 --dry-run",
    .opts = RS_OPT_TABLES(&node_table, &rs_drain_step_flags, &rs_switch_flags),
};
