/* The contract between the plugin and the node helper (rs-node-helper).
 *
 * Both sides include this header; it is the only thing they share.  The
 * plugin runs the helper in a privileged hostPID pod (host / at /host is not
 * needed: the helper enters PID 1's namespaces itself).
 *
 * Command line:  rs-node-helper SUBCOMMAND [options]
 *
 *   preflight --to T [--id ID]          read-only; prints the plan JSON on
 *                                       stdout; exit OK or BLOCKED
 *   launch    --to T --id ID [--deadline SECONDS] [--no-images]
 *             [--kubelet-wait SECONDS]   (default 900 s / 180 s)
 *                                       preflight again, back up every file,
 *                                       stage the new files, copy the helper
 *                                       to RS_HELPER_HOST_BIN and start
 *                                       `apply` as the transient unit
 *                                       RS_HELPER_UNIT_PREFIX<ID> (or, without
 *                                       systemd, a detached process moved to
 *                                       the root cgroup); prints the
 *                                       plan JSON; exit LAUNCHED or BLOCKED
 *   apply     --id ID                   (run by the unit) does or resumes the
 *                                       journaled steps; rolls back on any
 *                                       failure or past the deadline
 *   guard     --id ID                   (run at boot by the guard unit, see
 *                                       below) finishes or rolls back the
 *                                       run as apply would, then removes
 *                                       the guard unit
 *   rollback  --id ID [--reason TEXT] [--force]
 *                                       restores the backups and services;
 *                                       a file edited since the switch is
 *                                       not overwritten: exit EDITED and
 *                                       nothing changed, unless --force
 *                                       (then its bytes are kept in the
 *                                       run's edited/ directory first).
 *                                       The plugin passes --force only when
 *                                       the user asked for it
 *   report    --id ID [--wait SECONDS]  prints the result JSON (journal
 *                                       included); with --wait, waits until
 *                                       the run reaches a final state
 *   version                             prints "rs-node-helper VERSION"
 *
 * Every subcommand takes --expect-sha256 HEX (64 lowercase hex digits): the
 * sha256 of the helper the plugin embeds for the node's architecture.  The
 * helper then hashes its own executable (/proc/self/exe) before anything
 * else and exits INTEGRITY, naming both hashes, when they differ.  The
 * plugin passes it to every helper it runs in a pod.
 *
 * Integrity, end to end.  launch copies itself to RS_HELPER_HOST_BIN (the
 * directory and the file root-only, 0700, written atomically and fsynced),
 * reads the copy back and checks it against the same hash, and records
 * that hash in the run directory (RS_HELPER_SELF_RECORD); the apply unit
 * and the guard unit run that copy, and apply, guard and rollback check
 * their own executable against the record before they act (rollback run by
 * the plugin may instead be vouched for by --expect-sha256: a newer plugin
 * can roll back an older one's run).  This catches a stale, corrupted or
 * swapped payload anywhere between the plugin's memory and the unit that
 * runs as root, and makes the plugin's own checks (the carrier's bytes)
 * hold on the node too.  It does not protect against root on the host, who
 * can replace the copy and the record together, or anything else: nothing
 * on a node can.
 *
 * The boot guard.  Before apply changes anything, launch installs and
 * enables (does not start) RS_HELPER_UNIT_DIR "/" RS_HELPER_GUARD_PREFIX
 * ID ".service" (WantedBy=multi-user.target, After=local-fs.target
 * network.target) whose ExecStart is `RS_HELPER_HOST_BIN guard --id ID`.
 * After a reboot at any step it continues the journaled run where it
 * stopped: the steps a boot undoes (services, pods) are done again, those
 * on disk (files, images, disable-source) are not; it rolls back when the
 * run was rolling back, is past its deadline or a step fails.  Whoever
 * brings the run to a final state disables and deletes the guard and runs
 * daemon-reload; a requested rollback installs it again while it runs.
 * The source runtime is stopped early but disabled only by the last step,
 * disable-source, once the kubelet is healthy on the target: a reboot
 * before that boots the old runtime.  Where to look on a node: the run's
 * journal (RS_HELPER_STATE_DIR "/" ID "/" RS_HELPER_JOURNAL_FILE; format in
 * helper/journal.h): the last "begin" record is the step in progress, a
 * "boot" record marks each boot the run went through.
 *
 * Options for tests only (the plugin never passes them):
 *   --root DIR          treat DIR as the host's /; namespaces are not entered
 *   --exec-path PATH    where host commands are looked up (fake systemctl ...)
 *   --kubelet-healthz HOST:PORT   instead of 127.0.0.1:10248
 *   --crash-after-step N  SIGKILL itself after the N-th journal record
 *                         (only together with --root)
 *
 * T is the name of a target in helper/runtimes.h (RS_RUNTIME_TARGETS);
 * ID matches [a-z0-9][a-z0-9-]{0,39} and is not "bin".
 */
#ifndef RS_HELPER_CONTRACT_H
#define RS_HELPER_CONTRACT_H

#include "helper/runtimes.h" /* the runtimes: names, endpoints, units */

#define RS_HELPER_CONTRACT_VERSION 1

/* Subcommands */
#define RS_HELPER_CMD_PREFLIGHT "preflight"
#define RS_HELPER_CMD_LAUNCH "launch"
#define RS_HELPER_CMD_APPLY "apply"
#define RS_HELPER_CMD_GUARD "guard"
#define RS_HELPER_CMD_ROLLBACK "rollback"
#define RS_HELPER_CMD_REPORT "report"
#define RS_HELPER_CMD_VERSION "version"

/* Exit codes */
enum rs_helper_exit {
  RS_HX_OK = 0,              /* preflight: no blocker; apply: done */
  RS_HX_FAILED = 1,          /* internal error; see stderr / reason */
  RS_HX_USAGE = 2,           /* bad arguments */
  RS_HX_BLOCKED = 3,         /* preflight found blockers; nothing changed */
  RS_HX_ROLLED_BACK = 4,     /* apply failed and the node was restored */
  RS_HX_ROLLBACK_FAILED = 5, /* restoring failed: the node needs a human */
  RS_HX_RUNNING = 6,         /* report: not final yet */
  RS_HX_LAUNCHED = 7,        /* launch: the host unit was started */
  RS_HX_NOT_FOUND = 8,       /* report/rollback: no run with this id */
  RS_HX_INTEGRITY = 9,       /* the helper's sha256 is not the expected one
                                (--expect-sha256, the run's record, or the
                                host copy launch wrote); nothing was done */
  RS_HX_EDITED = 10,         /* rollback: files were edited since the
                                switch; nothing was changed (--force) */
};

/* Options */
#define RS_HELPER_OPT_EXPECT_SHA256 "--expect-sha256"
#define RS_HELPER_OPT_FORCE "--force"

/* Host paths */
#define RS_HELPER_STATE_DIR "/var/lib/kubectl-runtime-switch"
/* per run: RS_HELPER_STATE_DIR "/" ID "/" ... */
#define RS_HELPER_PLAN_FILE "plan.json"     /* the plan, as preflight prints */
#define RS_HELPER_JOURNAL_FILE "journal"    /* append-only step records */
#define RS_HELPER_RESULT_FILE "result.json" /* the final report */
#define RS_HELPER_BACKUP_DIR "backup"       /* copies + "manifest" */
#define RS_HELPER_STAGED_DIR "staged"       /* new contents, before install */
#define RS_HELPER_HOST_BIN RS_HELPER_STATE_DIR "/bin/rs-node-helper"
#define RS_HELPER_UNIT_PREFIX "kubectl-runtime-switch-"
/* the boot guard: RS_HELPER_UNIT_DIR "/" RS_HELPER_GUARD_PREFIX ID ".service" */
#define RS_HELPER_UNIT_DIR "/etc/systemd/system"
#define RS_HELPER_GUARD_PREFIX "kubectl-runtime-switch-guard-"

/* Node annotation where the plugin mirrors the helper's state
 * (value: "<id> <state>"). */
#define RS_HELPER_ANNOTATION_STATE "runtime-switch.kubectl.dev/state"

/* Run states ("state" in the report JSON) */
#define RS_STATE_LAUNCHED "launched"
#define RS_STATE_RUNNING "running"
#define RS_STATE_DONE "done"
#define RS_STATE_ROLLING_BACK "rolling-back"
#define RS_STATE_ROLLED_BACK "rolled-back"
#define RS_STATE_ROLLBACK_FAILED "rollback-failed"

/* Plan JSON (preflight/launch stdout, plan.json), one object:
 *   contract (int), id, ok (bool), from, to,
 *   kubelet {version, endpoint_before, endpoint_after, endpoint_where,
 *            cgroup_driver, cgroup_driver_source},
 *   runtime {name, version, config_version, socket},
 *   sandbox_image, sandbox_image_source, cni {bin_dir, conf_dir},
 *   images {carry: [ref...], bytes, free_bytes},
 *   files: [{path, action: "modify"|"create", mode, sha256_before,
 *            sha256_after, changes: [text...]}],
 *   services: [{unit, action, before {active, enabled}}],
 *   docker_settings: [{key, value, action: "carried"|"reported"|"dropped",
 *            target, why}],
 *   steps: [name...], warnings: [text...], blockers: [text...]
 * docker_settings (when the node leaves Docker Engine; [] otherwise) lists
 *   every setting of Docker's exactly once, in this order: each key of
 *   /etc/docker/daemon.json in the file's order ("log-opts.<opt>" and
 *   "proxies.<name>" for the members of those two), then "certs.d/<host>"
 *   for each directory of /etc/docker/certs.d, then "<VAR> (docker.service
 *   environment)" for each variable docker.service gets from Environment=
 *   (and the proxy variables of its EnvironmentFile=s).  value: short text
 *   (credentials in URLs shown as ***, secret-looking keys "(hidden)"), or
 *   null; target: where it went or what the new side's equivalent is, or
 *   null; why: why it is not carried (also a note on a carried one), or
 *   null.  "carried": the switch writes it (a file in "files") or the new
 *   side already has it; "reported": it matters, the helper does not write
 *   it, target names what to set by hand; "dropped": it has no meaning once
 *   Docker no longer runs the pods.
 * Report JSON (report stdout, result.json), one object:
 *   contract, id, state, from, to, step (last step begun), reason (or null),
 *   started (unix s), finished (unix s or null), exit_code,
 *   journal: [{time, event: "begin"|"done"|"fail"|"state"|"boot"|"force",
 *              step|state, reason?}]   ("step" holds the boot id of a
 *                                       "boot" record) */
#define RS_JSON_CONTRACT "contract"
#define RS_JSON_ID "id"
#define RS_JSON_OK "ok"
#define RS_JSON_FROM "from"
#define RS_JSON_TO "to"
#define RS_JSON_STATE "state"
#define RS_JSON_STEP "step"
#define RS_JSON_REASON "reason"
#define RS_JSON_EXIT_CODE "exit_code"
#define RS_JSON_JOURNAL "journal"
#define RS_JSON_FILES "files"
#define RS_JSON_SERVICES "services"
#define RS_JSON_STEPS "steps"
#define RS_JSON_WARNINGS "warnings"
#define RS_JSON_BLOCKERS "blockers"
#define RS_JSON_DOCKER_SETTINGS "docker_settings"
#define RS_SETTING_CARRIED "carried"
#define RS_SETTING_REPORTED "reported"
#define RS_SETTING_DROPPED "dropped"

#endif
