/* The command line: the tables every command is made of, the parser
 * (strict, as main runs it, and lenient, as completion runs it), values
 * checked by the commands before they contact any cluster, and
 * completion answers that come from the tables alone. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "plugin/cli.h"
#include "plugin/malloc_policy.h"
#include "plugin/term.h"

/* ---- the tables ---- */

static void check_table(const char *what, const struct rs_opt_table *t) {
  for (size_t i = 0; i < t->n; i++) {
    const struct rs_opt *o = &t->opts[i];
    cr_assert(o->name && *o->name && o->help && *o->help, "%s: option %zu lacks a name or help", what, i);
    if (i) cr_assert_lt(strcmp(t->opts[i - 1].name, o->name), 0, "%s: %s is out of order", what, o->name);
    if (o->values) {
      cr_assert_eq(o->type, RS_OPT_STRING, "%s: --%s lists values but takes none", what, o->name);
      cr_assert(o->values[0], "%s: --%s lists no value", what, o->name);
    }
  }
}

Test(tables, sorted_unique_and_complete) {
  check_table("global", &rs_global_opts);
  for (size_t c = 0; c < rs_commands.n; c++) {
    const struct rs_cmd *cmd = rs_commands.v[c];
    cr_assert(cmd->name && cmd->run && cmd->summary && cmd->usage && cmd->description, "command %zu", c);
    cr_assert_eq(rs_cmd_find(&rs_commands, cmd->name), cmd, "%s is there twice", cmd->name);
    size_t k = 0;
    for (; cmd->opts && cmd->opts[k]; k++) check_table(cmd->name, cmd->opts[k]);
    cr_assert_leq(k, sizeof((struct rs_opt_iter){0}.pos) / sizeof(size_t), "%s: too many tables", cmd->name);
    /* every option once, by name and by short name, and none shadows a
     * global flag: the parser may look in any order */
    struct rs_opt_iter it = {.cmd = cmd};
    const struct rs_opt *o, *prev = NULL;
    size_t slot, n = 0;
    while ((o = rs_opt_next(&it, &slot))) {
      n++;
      cr_assert_lt(slot, rs_cmd_opt_count(cmd));
      if (prev) cr_assert_lt(strcmp(prev->name, o->name), 0, "%s: --%s twice", cmd->name, o->name);
      prev = o;
      size_t s2;
      cr_assert_eq(rs_cmd_opt(cmd, o->name, 0, &s2), o);
      cr_assert_eq(s2, slot);
      if (o->short_name) cr_assert_eq(rs_cmd_opt(cmd, NULL, o->short_name, NULL), o, "%s: -%c twice",
                                      cmd->name, o->short_name);
      cr_assert_null(rs_flag_find(NULL, o->name, 0, NULL), "%s: --%s is a global flag", cmd->name, o->name);
      if (o->short_name)
        cr_assert_null(rs_flag_find(NULL, NULL, o->short_name, NULL), "%s: -%c is a global flag", cmd->name,
                       o->short_name);
    }
    cr_assert_eq(n, rs_cmd_opt_count(cmd));
  }
}

/* node --to offers what the runtime table switches to, no more, no less */
Test(tables, to_values_are_the_runtime_targets) {
  const struct rs_opt *to = rs_cmd_opt(rs_cmd_find(&rs_commands, "node"), "to", 0, NULL);
  cr_assert_not_null(to);
  size_t n = 0, targets = 0;
  for (; to->values[n]; n++) cr_assert_neq(rs_rt_target(to->values[n]), RS_RT_NONE, "%s", to->values[n]);
  for (int rt = RS_RT_NONE + 1; rt < _RS_RT_MAX; rt++) targets += rs_runtimes[rt].target;
  cr_assert_eq(n, targets);
}

/* ---- parsing ---- */

struct parsed {
  struct rs_cli cli;
  rs_err_t err;
  struct rs_cli_end end;
  int rc;
};

/* Split words at spaces ("''" is an empty word) and parse them. */
static void parse(struct parsed *p, const char *line, bool lenient) {
  memset(p, 0, sizeof *p);
  p->cli = (struct rs_cli){.commands = rs_commands, .ov = RS_KUBE_OVERRIDES_INIT};
  static char *words[32];
  static char buf[512];
  snprintf(buf, sizeof buf, "%s", line);
  int n = 0;
  for (char *s = strtok(buf, " "); s && n < 32; s = strtok(NULL, " ")) words[n++] = strcmp(s, "''") ? s : (char *)"";
  p->rc = rs_cli_parse(&p->cli, n, words, lenient ? &p->end : NULL, &p->err);
}

static void done(struct parsed *p) {
  rs_cli_free(&p->cli);
  rs_err_clear(&p->err);
}

struct ok_case {
  const char *line;
  const char *cmd;
  const char *args;       /* joined with "," */
  const char *opt, *val;  /* a command option and its value */
};

static const struct ok_case oks[] = {
    {"status -o json n1", "status", "n1", "output", "json"},
    {"status -ojson", "status", "", "output", "json"},
    {"status -o=yaml", "status", "", "output", "yaml"},
    {"status --output=wide --output json", "status", "", "output", "json"},
    {"status --pods", "status", "", "pods", "true"},
    {"status --pods=0", "status", "", "pods", "false"},
    {"status --pods=T", "status", "", "pods", "true"},
    {"status --pods=F", "status", "", "pods", "false"},
    {"node a --to containerd -y", "node", "a", "yes", "true"},
    {"node --to=cri-o a b", "node", "a,b", "to", "cri-o"},
    {"node a --grace-period -5", "node", "a", "grace-period", "-5"},
    {"status -- -x --y", "status", "-x,--y", "pods", NULL},
    {"-- status x", "status", "x", NULL, NULL},
    {"rollback node n1 --id abc", "rollback", "node,n1", "id", "abc"},
    {"drain n1 --ignore-daemonsets --timeout=1m", "drain", "n1", "timeout", "1m"},
    {"drain n1 --delete-local-data", "drain", "n1", "delete-local-data", "true"},
    {"status ''", "status", "", NULL, NULL},
    {"status -", "status", "-", NULL, NULL},
};

Test(parse, accepts) {
  for (size_t i = 0; i < sizeof oks / sizeof *oks; i++) {
    const struct ok_case *c = &oks[i];
    struct parsed p;
    parse(&p, c->line, false);
    cr_assert_eq(p.rc, 0, "%s: %s", c->line, p.err.msg);
    cr_assert_str_eq(p.cli.cmd->name, c->cmd, "%s", c->line);
    char args[512] = "";
    for (size_t k = 0, len = 0; p.cli.args && p.cli.args[k]; k++)
      len += (size_t)snprintf(args + len, sizeof args - len, "%s%s", k ? "," : "", p.cli.args[k]);
    cr_assert_str_eq(args, c->args, "%s", c->line);
    if (c->opt && c->val) cr_assert_str_eq(rs_cli_str(&p.cli, c->opt), c->val, "%s", c->line);
    if (c->opt && !c->val) cr_assert_null(rs_cli_str(&p.cli, c->opt), "%s", c->line);
    done(&p);
  }
}

Test(parse, global_flags) {
  struct parsed p;
  parse(&p, "-n ns1 --kubeconfig=/k status --as-group g1 -v 7 --as-group g2 --context c "
            "--insecure-skip-tls-verify --request-timeout 5s -s https://x:1 -h", false);
  cr_assert_eq(p.rc, 0, "%s", p.err.msg);
  cr_assert_str_eq(p.cli.ov.ns, "ns1");
  cr_assert_str_eq(p.cli.ov.kubeconfig, "/k");
  cr_assert_str_eq(p.cli.ov.context, "c");
  cr_assert_str_eq(p.cli.ov.server, "https://x:1");
  cr_assert_str_eq(p.cli.ov.request_timeout, "5s");
  cr_assert_eq(p.cli.ov.insecure_skip_tls_verify, 1);
  cr_assert_eq(p.cli.verbosity, 7);
  cr_assert(p.cli.want_help);
  cr_assert_str_eq(p.cli.ov.as_groups[0], "g1");
  cr_assert_str_eq(p.cli.ov.as_groups[1], "g2");
  cr_assert_null(p.cli.ov.as_groups[2]);
  done(&p);
}

/* A command line and the text it must give. */
struct text_case {
  const char *line;
  const char *want;
};

static const struct text_case bads[] = {
    {"frobnicate", "unknown command \"frobnicate\" for \"kubectl runtime-switch\""},
    {"status --frob", "unknown flag: --frob"},
    {"--to x node a", "unknown flag: --to"},
    {"status -Zx", "unknown shorthand flag: 'Z' in -Zx"},
    {"-ojson status", "unknown shorthand flag: 'o' in -ojson"},
    {"status -o", "flag needs an argument: -o, --output"},
    {"status --kubeconfig", "flag needs an argument: --kubeconfig"},
    {"status --pods=maybe",
     "invalid argument \"maybe\" for \"--pods\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax"},
    {"node -y=no", "invalid argument \"no\" for \"-y, --yes\" flag: strconv.ParseBool: parsing \"no\": invalid syntax"},
    {"-v abc", "invalid argument \"abc\" for \"-v, --v\" flag"},
    {"--v=101 status", "invalid argument \"101\" for \"-v, --v\" flag"},
    {"--request-timeout 5x",
     "Invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a "
     "corresponding time unit (e.g. 1s | 2m | 3h)"},
};

Test(parse, refuses_in_kubectl_words) {
  for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
    struct parsed p;
    parse(&p, bads[i].line, false);
    cr_assert_eq(p.rc, -1, "%s", bads[i].line);
    cr_assert_eq(p.err.kind, RS_E_USAGE, "%s", bads[i].line);
    cr_assert_str_eq(p.err.msg, bads[i].want, "%s", bads[i].line);
    done(&p);
    /* leniently, the same words parse */
    parse(&p, bads[i].line, true);
    cr_assert_eq(p.rc, 0, "lenient %s: %s", bads[i].line, p.err.msg);
    done(&p);
  }
}

Test(parse, lenient_end) {
  struct parsed p;
  parse(&p, "node a --to", true);
  cr_assert_eq(p.rc, 0);
  cr_assert_str_eq(p.cli.cmd->name, "node");
  cr_assert_not_null(p.end.pending);
  cr_assert_str_eq(p.end.pending->name, "to");
  done(&p);

  parse(&p, "-n", true);
  cr_assert_str_eq(p.end.pending->name, "namespace");
  done(&p);

  parse(&p, "frob --kubeconfig /k x", true);
  cr_assert(p.end.unknown_cmd);
  cr_assert_null(p.cli.cmd);
  cr_assert_str_eq(p.cli.ov.kubeconfig, "/k");
  cr_assert_str_eq(p.cli.args[0], "x");
  done(&p);

  parse(&p, "status -- --pods", true);
  cr_assert(p.end.dashdash);
  cr_assert_null(p.end.pending);
  cr_assert_str_eq(p.cli.args[0], "--pods");
  done(&p);

  /* a bad value is passed over, the word after it still read */
  parse(&p, "status --pods=maybe -v x n1", true);
  cr_assert_eq(p.rc, 0);
  cr_assert_null(rs_cli_str(&p.cli, "pods"));
  cr_assert_str_eq(p.cli.args[0], "n1");
  done(&p);
}

/* ---- what commands check before they contact a cluster ---- */

/* Parse line strictly and run its command; its output goes nowhere.
 * Returns the error message (static), or NULL when the command
 * succeeded. */
static const char *run(const char *line, int *ret_kind) {
  static char msg[512];
  struct parsed p;
  parse(&p, line, false);
  cr_assert_eq(p.rc, 0, "%s: %s", line, p.err.msg);
  p.cli.out = fopen("/dev/null", "we");
  p.cli.errf = p.cli.out;
  cr_assert_not_null(p.cli.out);
  int rc = p.cli.cmd->run(&p.cli, &p.err);
  fclose(p.cli.out);
  snprintf(msg, sizeof msg, "%s", p.err.msg ? p.err.msg : "");
  *ret_kind = p.err.kind;
  done(&p);
  return rc < 0 ? msg : NULL;
}

struct check_case {
  const char *line;
  int kind;
  const char *msg;
};

static const struct check_case checks[] = {
    /* the drain flags: kubectl's words for drain, the switch's for node */
    {"drain n1 --grace-period x", RS_E_USAGE,
     "invalid argument \"x\" for \"--grace-period\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"},
    {"node n1 --to containerd --grace-period x", RS_E_USAGE, "invalid argument \"x\" for \"--grace-period\" flag"},
    {"rollback node n1 --chunk-size -1", RS_E_USAGE, "invalid argument \"-1\" for \"--chunk-size\" flag"},
    {"drain n1 --timeout 5", RS_E_USAGE,
     "invalid argument \"5\" for \"--timeout\" flag: time: missing unit in duration \"5\""},
    {"drain n1 --timeout 5q", RS_E_USAGE, "invalid argument \"5q\" for \"--timeout\" flag: time: invalid duration \"5q\""},
    {"node n1 --to containerd --timeout 5", RS_E_USAGE,
     "invalid argument \"5\" for \"--timeout\" flag: a duration such as 90s, 15m or 1h is expected"},
    {"drain n1 --pod-selector ==", RS_E_INPUT, "--pod-selector=<pod_selector> must be a valid label selector"},
    {"node n1 --to containerd --pod-selector ==", RS_E_USAGE,
     "--pod-selector=<pod_selector> must be a valid label selector"},
    /* -o against the command's values, as kubectl's printers word it */
    {"status -o bad", RS_E_USAGE,
     "unable to match a printer suitable for the output format \"bad\", allowed formats are: json,wide,yaml"},
    {"drain n1 -o yaml", RS_E_USAGE,
     "unable to match a printer suitable for the output format \"yaml\", allowed formats are: json"},
    {"version -o wide", RS_E_USAGE, "--output must be 'yaml' or 'json'"},
    {"drain n1 --dry-run=bad", RS_E_INPUT, "Invalid dry-run value (bad). Must be \"none\", \"server\", or \"client\"."},
    /* --to through its values */
    {"node n1 --to docker", RS_E_USAGE, "--to must be containerd, cri-o or cri-dockerd (got \"docker\")"},
    {"node n1", RS_E_USAGE, "--to is required: containerd, cri-o or cri-dockerd"},
    /* several nodes: the rollout's selection and flags */
    {"node a -l x=y --to containerd", RS_E_USAGE, "cannot specify both a node name and a --selector option"},
    {"node a --all --to containerd", RS_E_USAGE,
     "--all selects every node: give no node name and no --selector with it"},
    {"node --canary 2 --to containerd", RS_E_USAGE, "which nodes? name them, or use -l SELECTOR or --all"},
    {"node a b", RS_E_USAGE, "--to is required: containerd, cri-o or cri-dockerd"},
    {"node a b --to containerd --max-unavailable 0", RS_E_USAGE,
     "invalid --max-unavailable \"0\" (a count of nodes 1..100000, or P%)"},
    {"node --all --to containerd --max-unavailable 101%", RS_E_USAGE, "invalid --max-unavailable \"101%\" (1%..100%)"},
    {"node --all --to containerd --canary x", RS_E_USAGE,
     "invalid argument \"x\" for \"--canary\" flag: a number 0..100000 is expected"},
    {"rollback nod n1", RS_E_USAGE, "usage: rollback node NAME"},
    {"help nope", RS_E_USAGE, "unknown help topic \"nope\""},
};

Test(commands, check_values_first) {
  for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
    int kind;
    const char *msg = run(checks[i].line, &kind);
    cr_assert_not_null(msg, "%s succeeded", checks[i].line);
    cr_assert_str_eq(msg, checks[i].msg, "%s", checks[i].line);
    cr_assert_eq(kind, checks[i].kind, "%s: kind %d", checks[i].line, kind);
  }
}

/* ---- completion from the tables ---- */

/* __complete's answer to the words of line (the last one the word under
 * the cursor). */
static char *complete(const char *line) {
  struct parsed p;
  _cleanup_free_ char *full = rs_strdup_printf("__complete -- %s", line);
  parse(&p, full, false);
  cr_assert_eq(p.rc, 0, "%s", p.err.msg);
  char *out = NULL;
  size_t len = 0;
  p.cli.out = open_memstream(&out, &len);
  cr_assert_eq(p.cli.cmd->run(&p.cli, &p.err), 0);
  fclose(p.cli.out);
  done(&p);
  return out;
}

static const struct text_case comps[] = {
    {"node n1 --to ''", "containerd\ncri-o\ncri-dockerd\n:4\n"},
    {"node n1 --to=cri-", "--to=cri-o\n--to=cri-dockerd\n:4\n"},
    {"status -o ''", "json\nyaml\nwide\n:4\n"},
    {"version --output=", "--output=yaml\n--output=json\n:4\n"},
    {"drain --dry-run ''", "none\nclient\nserver\n:4\n"},
    {"status --kubeconfig ''", ":0\n"},
    {"completion ''", "bash\tbash completion for kubectl-runtime_switch\n"
                      "zsh\tzsh completion for kubectl-runtime_switch\n"
                      "helper\tlink kubectl_complete-runtime_switch for kubectl's own completion\n:4\n"},
    {"completion helper ''", ":0\n"},
    {"completion helper d ''", ":4\n"},
    {"rollback ''", "node\n:4\n"},
    {"help v", "version\tPrint the plugin and the server version\n:4\n"},
    {"version --cl", "--client\tIf true, shows client version only (no server required)\n"
                     "--client-certificate\tPath to a client certificate file for TLS\n"
                     "--client-key\tPath to a client key file for TLS\n"
                     "--cluster\tThe name of the kubeconfig cluster to use\n:4\n"},
    {"rollback node n1 --ig", "--ignore-daemonsets\tDrain: ignore DaemonSet-managed pods (always on: they stay "
                              "on the node and move with it)\n:4\n"},
    {"frobnicate ''", ":4\n"},
    {"node a --yes=", ":4\n"},
};

Test(complete, from_the_tables) {
  for (size_t i = 0; i < sizeof comps / sizeof *comps; i++) {
    _cleanup_free_ char *got = complete(comps[i].line);
    cr_assert_str_eq(got, comps[i].want, "%s", comps[i].line);
  }
}

/* ---- text for a terminal ---- */

Test(term, escapes_what_drives_a_terminal) {
  static const char *const escaped[][2] = {
      /* C0 (not tab, not newline) and DEL */
      {"\x1b[2J\x1b]0;pwned\x07 over\rwrite del\x7f", "\\x1b[2J\\x1b]0;pwned\\x07 over\\x0dwrite del\\x7f"},
      /* C1, as UTF-8 */
      {"c1 csi \xc2\x9b" "31m", "c1 csi \\u009b31m"},
      /* not UTF-8: a lone continuation, overlong, surrogate, cut, past U+10FFFF */
      {"\x9b \xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x80",
       "\\x9b \\xc0\\x80 \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 \\xe2\\x80"},
      /* what turns text around */
      {"rtl \xe2\x80\xae" "gnp.exe", "rtl \\u202egnp.exe"},
  };
  static const char *const kept[] = {"plain text, tab\tand newline\n", "\xe2\x80\x94 \xc3\xa9 \xf0\x9f\x90\xb3", ""};
  for (size_t i = 0; i < sizeof escaped / sizeof *escaped; i++) {
    _cleanup_free_ char *got = rs_term_escape(escaped[i][0], strlen(escaped[i][0]));
    cr_assert_str_eq(got, escaped[i][1], "case %zu", i);
  }
  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
    _cleanup_free_ char *got = rs_term_escape(kept[i], strlen(kept[i]));
    cr_assert_str_eq(got, kept[i], "kept %zu", i);
  }
  _cleanup_free_ char *nul = rs_term_escape("nul\0here", 8);
  cr_assert_str_eq(nul, "nul\\x00here");
}

Test(term, printf_escapes_the_whole_line) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  rs_term_printf(f, "Error from server (%s): %s\n", "Forbidden", "pods \"x\" \x1b[31mred\x1b[0m");
  fclose(f);
  cr_assert_str_eq(buf, "Error from server (Forbidden): pods \"x\" \\x1b[31mred\\x1b[0m\n");
  free(buf);
}

/* Big blocks stay mapped after one was freed (glibc's sliding threshold
 * would serve the next one from the heap, where its pages stay resident
 * after its free: a rollout's peak RSS). */
Test(malloc_policy, big_blocks_stay_mapped) {
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
  cr_skip_test("the allocator is not glibc's (ASan's, or another C library's): mallopt does not reach it");
#else
  cr_assert(rs_malloc_policy(), "mallopt(M_MMAP_THRESHOLD) was refused");
  size_t big = ((size_t)1 << 20) + 1; /* libcurl's receive buffer: 1 MiB + 1 */
  char *volatile a = malloc(big);
  cr_assert(a);
  memset(a, 1, big);
  free(a);
  size_t before = mallinfo2().hblks;
  char *volatile b = malloc(big);
  cr_assert(b);
  size_t during = mallinfo2().hblks;
  free(b);
  cr_assert_eq(during, before + 1, "the second 1 MiB block is not mapped (%zu mapped blocks, then %zu)", before,
               during);
#endif
}
