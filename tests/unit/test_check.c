/* check: hostPath resolution, the name recognisers (agents, collectors,
 * docker-in-docker), the log collectors' configuration readers, owners of
 * pods, findings of a pod spec, the plan's node findings, the report and
 * the command's exit codes (through the plugin, against the fake API
 * server). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube_fixture.h"
#include "ops/check.h"

/* ---- paths ---- */

static const struct {
  const char *in, *out;
} resolve_cases[] = {
    {"/var/run/docker.sock", "/run/docker.sock"},
    {"/var/run/", "/run"},
    {"/var/run", "/run"},
    {"//run//docker.sock", "/run/docker.sock"},
    {"/run/./docker.sock/", "/run/docker.sock"},
    {"/var/run/../run/docker.sock", "/run/docker.sock"}, /* /var/run/.. is / (symlink) */
    {"/var/run/..", "/"},
    {"/var/lib/../run", "/run"},
    {"/var/lib/docker/../../run/docker.sock", "/run/docker.sock"},
    {"/..", "/"},
    {"/../../etc", "/etc"},
    {"", "/"},
    {"/", "/"},
    {"relative/x", "/relative/x"},
    {"/var/runner", "/var/runner"},
    {"/var/run2/docker.sock", "/var/run2/docker.sock"},
    {"/a/b/c/../../d", "/a/d"},
};

Test(check_path, resolve) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(resolve_cases); i++) {
    _cleanup_free_ char *r = NULL;
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_check_path_resolve(resolve_cases[i].in, &r, &e), 0, "%s: %s", resolve_cases[i].in, e.msg);
    cr_assert_str_eq(r, resolve_cases[i].out, "%s", resolve_cases[i].in);
  }
}

Test(check_path, bounded) {
  size_t n = RS_CHECK_PATH_MAX + 10;
  _cleanup_free_ char *p = malloc(n + 1);
  memset(p, 'a', n);
  p[0] = '/';
  p[n] = '\0';
  _cleanup_free_ char *r = NULL;
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_check_path_resolve(p, &r, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT);
  cr_assert_null(r);
  rs_err_clear(&e);
  cr_assert_eq(rs_check_path_resolve(NULL, &r, &e), -1);
}

static const struct {
  const char *path, *type, *sub;
  int hit, sev;
  const char *resolved;
} mount_cases[] = {
    {"/var/run/docker.sock", NULL, NULL, RS_PATH_SOCKET, RS_SEV_BLOCKER, "/run/docker.sock"},
    {"/var/run/docker.sock", "Socket", NULL, RS_PATH_SOCKET, RS_SEV_BLOCKER, "/run/docker.sock"},
    {"/run//docker.sock", "", NULL, RS_PATH_SOCKET, RS_SEV_BLOCKER, "/run/docker.sock"},
    {"/custom/docker.sock", NULL, NULL, RS_PATH_SOCKET, RS_SEV_BLOCKER, "/custom/docker.sock"},
    {"/var/run", NULL, NULL, RS_PATH_SOCKET_DIR, RS_SEV_WARNING, "/run"},
    {"/run/", "Directory", NULL, RS_PATH_SOCKET_DIR, RS_SEV_WARNING, "/run"},
    {"/var/run", NULL, "docker.sock", RS_PATH_SOCKET, RS_SEV_BLOCKER, "/run/docker.sock"},
    {"/var/run", NULL, "containerd/containerd.sock", RS_PATH_NONE, RS_SEV_INFO, "/run/containerd/containerd.sock"},
    {"/", NULL, NULL, RS_PATH_HOST_ROOT, RS_SEV_INFO, "/"},
    {"/", NULL, "var/run/docker.sock", RS_PATH_SOCKET, RS_SEV_BLOCKER, "/run/docker.sock"},
    {"/var", NULL, NULL, RS_PATH_DATA, RS_SEV_WARNING, "/var"},
    {"/var/lib", NULL, NULL, RS_PATH_DATA, RS_SEV_WARNING, "/var/lib"},
    {"/var/lib/docker", NULL, NULL, RS_PATH_DATA, RS_SEV_WARNING, "/var/lib/docker"},
    {"/var/lib/docker/overlay2", NULL, NULL, RS_PATH_DATA, RS_SEV_WARNING, "/var/lib/docker/overlay2"},
    {"/var/lib/docker/containers", NULL, NULL, RS_PATH_LOGS, RS_SEV_WARNING, "/var/lib/docker/containers"},
    {"/var/lib/docker", NULL, "containers/", RS_PATH_LOGS, RS_SEV_WARNING, "/var/lib/docker/containers"},
    {"/var/lib/dockerd", NULL, NULL, RS_PATH_NONE, RS_SEV_INFO, "/var/lib/dockerd"},
    {"/run/docker", NULL, NULL, RS_PATH_STATE, RS_SEV_WARNING, "/run/docker"},
    {"/var/run/docker/plugins", NULL, NULL, RS_PATH_STATE, RS_SEV_WARNING, "/run/docker/plugins"},
    {"/var/run/dockershim.sock", NULL, NULL, RS_PATH_SHIM, RS_SEV_WARNING, "/run/dockershim.sock"},
    {"/var/run/dockershim.sock", "Socket", NULL, RS_PATH_SHIM, RS_SEV_BLOCKER, "/run/dockershim.sock"},
    {"/run/cri-dockerd.sock", NULL, NULL, RS_PATH_SHIM, RS_SEV_WARNING, "/run/cri-dockerd.sock"},
    {"/etc/docker", NULL, NULL, RS_PATH_CONFIG, RS_SEV_INFO, "/etc/docker"},
    {"/etc/docker/certs.d", NULL, NULL, RS_PATH_CONFIG, RS_SEV_INFO, "/etc/docker/certs.d"},
    {"/run/containerd/containerd.sock", NULL, NULL, RS_PATH_NONE, RS_SEV_INFO, "/run/containerd/containerd.sock"},
    {"/var/log", NULL, NULL, RS_PATH_NONE, RS_SEV_INFO, "/var/log"},
    {"/var/runner", NULL, NULL, RS_PATH_NONE, RS_SEV_INFO, "/var/runner"},
};

Test(check_path, mounts) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(mount_cases); i++) {
    struct rs_mount_verdict v;
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_check_mount(mount_cases[i].path, mount_cases[i].type, mount_cases[i].sub, &v, &e), 0);
    cr_assert_eq(v.hit, mount_cases[i].hit, "case %zu (%s %s): hit %d", i, mount_cases[i].path,
                 mount_cases[i].sub ? mount_cases[i].sub : "", v.hit);
    cr_assert_eq(v.severity, mount_cases[i].sev, "case %zu (%s): severity %d", i, mount_cases[i].path, v.severity);
    cr_assert_str_eq(v.resolved, mount_cases[i].resolved, "case %zu", i);
    rs_mount_verdict_clear(&v);
  }
}

/* ---- names ---- */

static const struct {
  const char *name, *agent;
} agent_cases[] = {
    {"datadog-agent", "datadog"},
    {"gcr.io/datadoghq/agent:7.50.0", "datadog"},
    {"dd-agent", "datadog"},
    {"DD_AGENT", "datadog"},
    {"dynatrace-oneagent", "dynatrace"},
    {"docker.io/dynatrace/oneagent:1.2", "dynatrace"},
    {"falco", "falco"},
    {"falcosecurity/falco-no-driver:0.36.2", "falco"},
    {"twistlock-defender-ds", "prisma-cloud"},
    {"registry-auth.twistlock.com/tw_x/twistlock/defender:defender_32", "prisma-cloud"},
    {"signalfx-agent", "signalfx"},
    {"quay.io/signalfx/signalfx-agent:5.27.3", "signalfx"},
    {"kubectl-flame", "kubectl-flame"},
    {"aquasec/enforcer:2022.4", "aqua"},
    {"falcon-sensor", NULL},
    {"add-agent", NULL},
    {"nginx:1.25", NULL},
    {"", NULL},
    {NULL, NULL},
};

Test(check_match, agents) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(agent_cases); i++) {
    const struct rs_agent *a = rs_check_agent(agent_cases[i].name);
    if (!agent_cases[i].agent) {
      cr_assert_null(a, "%s: %s", agent_cases[i].name, a ? a->id : "");
      continue;
    }
    cr_assert_not_null(a, "%s", agent_cases[i].name);
    cr_assert_str_eq(a->id, agent_cases[i].agent, "%s", agent_cases[i].name);
    cr_assert(a->action && *a->action);
  }
  cr_assert_eq(rs_check_agent("aquasec/enforcer")->severity, RS_SEV_INFO, "Aqua needs no change");
  cr_assert_eq(rs_check_agent("falco")->severity, RS_SEV_WARNING);
}

static const struct {
  const char *name;
  int c;
} collector_cases[] = {
    {"fluent-bit", RS_COLLECTOR_FLUENT_BIT},
    {"cr.fluentbit.io/fluent/fluent-bit:2.2.0", RS_COLLECTOR_FLUENT_BIT},
    {"public.ecr.aws/aws-observability/aws-for-fluent-bit:2.31", RS_COLLECTOR_FLUENT_BIT},
    {"fluentbit", RS_COLLECTOR_FLUENT_BIT},
    {"fluentd-elasticsearch", RS_COLLECTOR_FLUENTD},
    {"timberio/vector:0.34.0-debian", RS_COLLECTOR_VECTOR},
    {"grafana/promtail:2.9.2", RS_COLLECTOR_PROMTAIL},
    {"docker.elastic.co/beats/filebeat:8.11.0", RS_COLLECTOR_FILEBEAT},
    {"amazon/cloudwatch-agent:1.3", RS_COLLECTOR_CLOUDWATCH},
    {"cwagent", RS_COLLECTOR_CLOUDWATCH},
    {"fluent", RS_COLLECTOR_NONE},
    {"nginx", RS_COLLECTOR_NONE},
};

Test(check_match, collectors) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(collector_cases); i++)
    cr_assert_eq(rs_check_collector(collector_cases[i].name), collector_cases[i].c, "%s", collector_cases[i].name);
  cr_assert_str_eq(rs_collector_name(RS_COLLECTOR_FLUENT_BIT), "fluent-bit");
}

static const struct {
  const char *image;
  const char *argv[6];
  bool dind;
} dind_cases[] = {
    {"docker:dind", {NULL}, true},
    {"docker:24.0.7-dind-rootless", {NULL}, true},
    {"registry.local:5000/library/docker:dind", {NULL}, true},
    {"cruizba/ubuntu-dind:latest", {NULL}, true},
    {"docker:24-cli", {NULL}, false},
    {"docker@sha256:0123", {NULL}, false},
    {"localhost/busybox:1", {"dockerd", "--host=unix:///var/run/docker.sock"}, true},
    {"localhost/busybox:1", {"/usr/local/bin/dockerd"}, true},
    {"localhost/busybox:1", {"sh", "-c", "dockerd-entrypoint.sh & exec sleep 1000"}, true},
    {"localhost/busybox:1", {"sh", "-c", "echo dockerdx; docker ps"}, false},
    {"localhost/busybox:1", {"docker", "ps"}, false},
    {NULL, {NULL}, false},
};

Test(check_match, docker_in_docker) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(dind_cases); i++) {
    const char *why = "unset";
    bool got = rs_check_dind(dind_cases[i].image, dind_cases[i].argv, &why);
    cr_assert_eq(got, dind_cases[i].dind, "case %zu (%s)", i, dind_cases[i].image);
    if (got) cr_assert(why && *why);
    else cr_assert_null(why);
  }
}

/* ---- configurations ---- */

#define FB_TAIL(extra)                                                                                             \
  "[SERVICE]\n    Flush 1\n    Parsers_File parsers.conf\n\n[INPUT]\n    Name tail\n"                              \
  "    Path /var/log/containers/*.log\n" extra "    Tag kube.*\n"

static const struct {
  int collector;
  const char *keys[3], *vals[3];
  int want[4]; /* enum rs_conf_what, -1 ended */
  size_t line; /* of the first hit; 0: not checked */
} conf_cases[] = {
    /* fluent-bit, classic */
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {FB_TAIL("    Parser docker\n")}, {RS_CONF_DOCKER_PARSER, -1}, 8},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {FB_TAIL("    multiline.parser docker, cri\n")}, {-1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {FB_TAIL("    multiline.parser docker\n")},
     {RS_CONF_DOCKER_PARSER, -1}, 8},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {FB_TAIL("    Parser cri\n")}, {-1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {FB_TAIL("    Docker_Mode On\n")}, {RS_CONF_DOCKER_PARSER, -1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf", "parsers.conf"},
     {FB_TAIL("    Parser myjson\n"), "[PARSER]\n    Name   myjson\n    Format json\n    Time_Key time\n"},
     {RS_CONF_DOCKER_PARSER, -1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf", "parsers.conf"},
     {FB_TAIL("    Parser docker\n"), "[PARSER]\n    Name docker\n    Format regex\n    Regex ^(?<log>.*)$\n"},
     {-1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"},
     {"[INPUT]\n    Name tail\n    Path /var/log/syslog\n    Parser docker\n"}, {-1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"},
     {"[INPUT]\n    Name tail\n    Path /var/lib/docker/containers/*/*.log\n    Parser docker\n"},
     {RS_CONF_DOCKER_FILES, RS_CONF_DOCKER_PARSER, -1}, 3},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {"[INPUT]\n    Name docker_events\n"}, {RS_CONF_DOCKER_API, -1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.yaml"},
     {"pipeline:\n  inputs:\n    - name: tail\n      path: /var/log/containers/*.log\n      parser: docker\n"},
     {RS_CONF_DOCKER_PARSER, -1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.yaml"},
     {"pipeline:\n  inputs:\n    - name: tail\n      path: /var/log/containers/*.log\n"
      "      multiline.parser: docker, cri\n"}, {-1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {"Parser docker\n[INPUT]\n Name tail\n"}, {-1}, 0},
    /* fluentd */
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"},
     {"<source>\n  @type tail\n  path /var/log/containers/*.log\n  <parse>\n    @type json\n  </parse>\n</source>\n"},
     {RS_CONF_DOCKER_PARSER, -1}, 5},
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"},
     {"<source>\n  @type tail\n  path /var/log/containers/*.log\n  <parse>\n    @type cri\n  </parse>\n</source>\n"},
     {-1}, 0},
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"},
     {"<source>\n  @type tail\n  path /var/log/containers/*.log\n  <parse>\n    @type multi_format\n"
      "    <pattern>\n      format json\n    </pattern>\n    <pattern>\n      format regexp\n"
      "      expression /^(?<time>.+) (?<stream>stdout|stderr) [^ ]* (?<log>.*)$/\n    </pattern>\n"
      "  </parse>\n</source>\n"}, {-1}, 0},
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"},
     {"<source>\n  @type tail\n  path /var/log/containers/*.log\n  <parse>\n    @type multi_format\n"
      "    <pattern>\n      format json\n    </pattern>\n  </parse>\n</source>\n"}, {RS_CONF_DOCKER_PARSER, -1}, 0},
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"},
     {"<source>\n  type tail\n  path /var/log/containers/*.log\n  format json\n</source>\n"},
     {RS_CONF_DOCKER_PARSER, -1}, 4},
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"}, {"<filter docker.**>\n  @type docker_metadata\n</filter>\n"},
     {RS_CONF_DOCKER_API, -1}, 0},
    {RS_COLLECTOR_FLUENTD, {"fluent.conf"}, {"<source>\n  @type tail\n</sauce>\n"}, {-1}, 0},
    /* vector */
    {RS_COLLECTOR_VECTOR, {"vector.toml"}, {"[sources.d]\ntype = \"docker_logs\"\n"}, {RS_CONF_DOCKER_API, -1}, 2},
    {RS_COLLECTOR_VECTOR, {"vector.toml"},
     {"# files\n[sources.f]\ntype = 'file'\ninclude = [ \"/var/lib/docker/containers/*/*.log\" ] # old\n"},
     {RS_CONF_DOCKER_FILES, -1}, 4},
    {RS_COLLECTOR_VECTOR, {"vector.toml"}, {"[sources.k]\ntype = \"kubernetes_logs\"\n"}, {-1}, 0},
    {RS_COLLECTOR_VECTOR, {"vector.toml"}, {"sources.d.type = \"docker_logs\"\n"}, {RS_CONF_DOCKER_API, -1}, 0},
    {RS_COLLECTOR_VECTOR, {"vector.yaml"}, {"sources:\n  d:\n    type: docker_logs\n"}, {RS_CONF_DOCKER_API, -1}, 0},
    {RS_COLLECTOR_VECTOR, {"vector.json"}, {"{\"sources\": {\"d\": {\"type\": \"docker_logs\"}}}"},
     {RS_CONF_DOCKER_API, -1}, 0},
    /* promtail */
    {RS_COLLECTOR_PROMTAIL, {"promtail.yaml"},
     {"scrape_configs:\n  - job_name: pods\n    pipeline_stages:\n      - docker: {}\n"}, {RS_CONF_DOCKER_PARSER, -1}, 0},
    {RS_COLLECTOR_PROMTAIL, {"promtail.yaml"},
     {"scrape_configs:\n  - job_name: pods\n    pipeline_stages:\n      - docker: {}\n      - cri: {}\n"}, {-1}, 0},
    {RS_COLLECTOR_PROMTAIL, {"promtail.yaml"},
     {"scrape_configs:\n  - job_name: d\n    docker_sd_configs:\n      - host: unix:///var/run/docker.sock\n"},
     {RS_CONF_DOCKER_API, -1}, 0},
    /* filebeat */
    {RS_COLLECTOR_FILEBEAT, {"filebeat.yml"},
     {"filebeat.inputs:\n- type: docker\n  containers.ids: ['*']\n"}, {RS_CONF_DOCKER_FILES, -1}, 0},
    {RS_COLLECTOR_FILEBEAT, {"filebeat.yml"},
     {"filebeat:\n  inputs:\n  - type: container\n    format: docker\n    paths: [/var/log/containers/*.log]\n"},
     {RS_CONF_DOCKER_PARSER, -1}, 0},
    {RS_COLLECTOR_FILEBEAT, {"filebeat.yml"},
     {"filebeat.inputs:\n- type: container\n  paths:\n  - /var/log/containers/*.log\n"}, {-1}, 0},
    {RS_COLLECTOR_FILEBEAT, {"filebeat.yml"},
     {"filebeat.autodiscover:\n  providers:\n  - type: docker\nprocessors:\n- add_docker_metadata: ~\n"},
     {RS_CONF_DOCKER_API, RS_CONF_DOCKER_API, -1}, 0},
    /* CloudWatch agent */
    {RS_COLLECTOR_CLOUDWATCH, {"cwagentconfig.json"},
     {"{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":[{\"file_path\":"
      "\"/var/lib/docker/containers/*/*.log\"}]}}}}"}, {RS_CONF_DOCKER_FILES, -1}, 0},
    /* not readable: nothing said */
    {RS_COLLECTOR_PROMTAIL, {"promtail.yaml"},
     {"a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\nscrape_configs:\n  - pipeline_stages:\n    - docker: {}\n"},
     {-1}, 0},
    {RS_COLLECTOR_FLUENT_BIT, {"fluent-bit.conf"}, {"[INPUT]\n Name tail\n Path /var/log/containers/x\xff\n"}, {-1}, 0},
    {RS_COLLECTOR_VECTOR, {"vector.toml"}, {"[sources.d\ntype = \"docker_logs\"\n"}, {-1}, 0},
};

Test(check_conf, table) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(conf_cases); i++) {
    size_t n = 0, lens[3];
    while (n < 3 && conf_cases[i].keys[n]) {
      lens[n] = strlen(conf_cases[i].vals[n]);
      n++;
    }
    struct rs_conf_hits h = {0};
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_check_conf(conf_cases[i].collector, conf_cases[i].keys, conf_cases[i].vals, lens, n, &h, &e), 0,
                 "case %zu: %s", i, e.msg);
    size_t want = 0;
    while (conf_cases[i].want[want] >= 0) want++;
    cr_assert_eq(h.n, want, "case %zu: %zu hits (first: %s)", i, h.n, h.n ? h.v[0].where : "");
    for (size_t k = 0; k < want; k++) {
      cr_assert_eq(h.v[k].what, conf_cases[i].want[k], "case %zu hit %zu: %s", i, k, h.v[k].where);
      cr_assert(rs_startswith(h.v[k].where, conf_cases[i].keys[0]) ||
                (conf_cases[i].keys[1] && rs_startswith(h.v[k].where, conf_cases[i].keys[1])),
                "where names the key: %s", h.v[k].where);
    }
    if (conf_cases[i].line) cr_assert_eq(h.v[0].line, conf_cases[i].line, "case %zu: line %zu", i, h.v[0].line);
    rs_conf_hits_clear(&h);
  }
}

/* Bounds: a deep nesting, many sections, long lines: read or given up,
 * never a crash (the fuzz target goes further). */
Test(check_conf, bounds) {
  _cleanup_free_ char *deep = malloc(40 * 12 + 1);
  size_t n = 0;
  for (int i = 0; i < 40; i++) n += (size_t)snprintf(deep + n, 40 * 12 + 1 - n, "<d%02d>\n", i);
  struct rs_conf_hits h = {0};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  const char *k[] = {"fluent.conf"};
  const char *v[] = {deep};
  size_t l[] = {n};
  cr_assert_eq(rs_check_conf(RS_COLLECTOR_FLUENTD, k, v, l, 1, &h, &e), 0);
  cr_assert_eq(h.n, 0);
  /* YAML nested past RS_CONF_MAX_DEPTH: not read */
  char nest[2 * (RS_CONF_MAX_DEPTH + 8) + 1];
  size_t d = RS_CONF_MAX_DEPTH + 8;
  memset(nest, '[', d);
  memset(nest + d, ']', d);
  nest[2 * d] = '\0';
  const char *yk[] = {"promtail.yaml"};
  v[0] = nest;
  l[0] = 2 * d;
  cr_assert_eq(rs_check_conf(RS_COLLECTOR_PROMTAIL, yk, v, l, 1, &h, &e), 0);
  cr_assert_eq(h.n, 0);
  size_t big = RS_CONF_MAX_LINE + 10;
  _cleanup_free_ char *line = malloc(big + 1);
  memset(line, 'x', big);
  line[big] = '\0';
  v[0] = line;
  l[0] = big;
  cr_assert_eq(rs_check_conf(RS_COLLECTOR_FLUENTD, k, v, l, 1, &h, &e), 0);
  cr_assert_eq(h.n, 0);
}

/* ---- owners and pod specs ---- */

static json_t *obj(const char *kind, const char *ns, const char *name, const char *owner_kind, const char *owner) {
  json_t *o = json_pack("{s:s, s:{s:s, s:s}}", "kind", kind, "metadata", "namespace", ns, "name", name);
  if (owner)
    json_object_set_new(json_object_get(o, "metadata"), "ownerReferences",
                        json_pack("[{s:s, s:s, s:b}]", "kind", owner_kind, "name", owner, "controller", 1));
  return o;
}

Test(check_owner, resolution) {
  struct rs_owner_index *x = rs_owner_index_new();
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  json_auto_t *rs = obj("ReplicaSet", "a", "web-5d4f", "Deployment", "web");
  json_auto_t *job = obj("Job", "a", "nightly-2891", "CronJob", "nightly");
  json_auto_t *lone = obj("Job", "a", "once", NULL, NULL);
  cr_assert_eq(rs_owner_index_add(x, "ReplicaSet", rs, &e), 0);
  cr_assert_eq(rs_owner_index_add(x, "Job", job, &e), 0);
  cr_assert_eq(rs_owner_index_add(x, "Job", lone, &e), 0);
  static const struct {
    const char *owner_kind, *owner, *kind, *name;
  } cases[] = {
      {"ReplicaSet", "web-5d4f", "Deployment", "web"},
      {"ReplicaSet", "other-1", "ReplicaSet", "other-1"}, /* not indexed: itself */
      {"Job", "nightly-2891", "CronJob", "nightly"},
      {"Job", "once", "Job", "once"},
      {"DaemonSet", "agent", "DaemonSet", "agent"},
      {"StatefulSet", "db", "StatefulSet", "db"},
      {"Node", "node-1", "Pod", "p"},   /* a static pod's mirror */
      {NULL, NULL, "Pod", "p"},         /* bare */
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    json_auto_t *pod = obj("Pod", "a", "p", cases[i].owner_kind, cases[i].owner);
    struct rs_check_ref w;
    rs_check_pod_owner(x, pod, &w);
    cr_assert_str_eq(w.kind, cases[i].kind, "case %zu", i);
    cr_assert_str_eq(w.name, cases[i].name, "case %zu", i);
    cr_assert_str_eq(w.ns, "a");
  }
  rs_owner_index_free(x);
}

static const char *FB_CONF = FB_TAIL("    Parser docker\n");

static int fake_cm(void *ud, const char *ns, const char *name, json_t **ret, rs_err_t *err) {
  (void)ud;
  (void)err;
  *ret = NULL;
  if (strcmp(ns, "logs") == 0 && strcmp(name, "fb-config") == 0)
    *ret = json_pack("{s:{s:s, s:s}}", "data", "fluent-bit.conf", FB_CONF, "parsers.conf",
                     "[PARSER]\n    Name docker\n    Format json\n");
  return 0;
}

static const struct rs_check_finding *find(const struct rs_check_report *r, const char *check) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->v[i].check, check) == 0) return &r->v[i];
  return NULL;
}

/* The findings of one pod spec (JSON text) running on node, into r. */
static void scan_spec(struct rs_check_report *r, const char *spec_json, const char *prefix,
                      const struct rs_check_ref *w, const char *node) {
  struct rs_check_scan s = {.r = r, .get_configmap = fake_cm};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  json_auto_t *spec = json_loads(spec_json, 0, NULL);
  cr_assert(spec, "%s", spec_json);
  const char *nodes[] = {node, NULL};
  cr_assert_eq(rs_check_pod_spec(&s, spec, prefix, w, w, nodes, &e), 0, "%s", e.msg);
}

Test(check_workload, pod_spec_findings_merge_per_workload) {
  struct rs_check_report r = {0};
  const char *ds =
      "{\"volumes\": [{\"name\": \"run\", \"hostPath\": {\"path\": \"/var/run/\"}},"
      "               {\"name\": \"cfg\", \"configMap\": {\"name\": \"fb-config\"}},"
      "               {\"name\": \"sock\", \"hostPath\": {\"path\": \"/var/run\", \"type\": \"Directory\"}}],"
      " \"containers\": [{\"name\": \"fluent-bit\", \"image\": \"localhost/busybox:1\","
      "   \"volumeMounts\": [{\"name\": \"run\", \"mountPath\": \"/host/run\"},"
      "                      {\"name\": \"cfg\", \"mountPath\": \"/fluent-bit/etc\"},"
      "                      {\"name\": \"sock\", \"mountPath\": \"/d.sock\", \"subPath\": \"docker.sock\"}]}]}";
  struct rs_check_ref w = {.kind = "DaemonSet", .ns = "logs", .name = "fb"};
  scan_spec(&r, ds, "spec.template.spec", &w, "node-1");
  scan_spec(&r, ds, "spec.template.spec", &w, "node-2");
  const struct rs_check_finding *f = find(&r, "docker-socket-dir");
  cr_assert_not_null(f);
  cr_assert_eq(f->severity, RS_SEV_WARNING);
  cr_assert_str_eq(f->field, "spec.template.spec.volumes[0].hostPath.path");
  cr_assert_str_eq(f->value, "/var/run/");
  cr_assert_str_eq(f->object.kind, "DaemonSet");
  cr_assert_eq(rs_strv_len(f->nodes), 2, "one finding for both pods");
  cr_assert_str_eq(f->nodes[0], "node-1");
  cr_assert_str_eq(f->nodes[1], "node-2");
  f = find(&r, "docker-socket");
  cr_assert_not_null(f, "a subPath into /var/run reaching the socket");
  cr_assert_eq(f->severity, RS_SEV_BLOCKER);
  cr_assert_str_eq(f->field, "spec.template.spec.volumes[2].hostPath.path");
  cr_assert(strstr(f->message, "/run/docker.sock") && strstr(f->message, "subPath docker.sock"), "%s", f->message);
  f = find(&r, "log-docker-parser");
  cr_assert_not_null(f);
  cr_assert_str_eq(f->object.kind, "ConfigMap");
  cr_assert_str_eq(f->object.name, "fb-config");
  cr_assert_str_eq(f->field, "data[fluent-bit.conf] line 8");
  cr_assert_str_eq(f->value, "docker");
  cr_assert_null(find(&r, "log-collector-unseen"));
  cr_assert_eq(r.n, 3, "nothing else: %zu findings", r.n);
  rs_check_report_clear(&r);
}

Test(check_workload, dind_agents_unseen_collector) {
  struct rs_check_report r = {0};
  const char *spec =
      "{\"containers\": [{\"name\": \"build\", \"image\": \"docker:24-dind\"},"
      "                  {\"name\": \"datadog-agent\", \"image\": \"localhost/busybox:1\"},"
      "                  {\"name\": \"promtail\", \"image\": \"localhost/busybox:1\"},"
      "                  {\"name\": \"app\", \"image\": \"localhost/busybox:1\", \"command\": [\"sleep\", \"1\"]}],"
      " \"initContainers\": [{\"name\": \"prep\", \"image\": \"localhost/busybox:1\","
      "                       \"command\": [\"sh\", \"-c\", \"dockerd &\"]}]}";
  struct rs_check_ref pod = {.kind = "Pod", .ns = "ci", .name = "runner"};
  scan_spec(&r, spec, "spec", &pod, "node-1");
  size_t dind = 0;
  for (size_t i = 0; i < r.n; i++) dind += strcmp(r.v[i].check, "docker-in-docker") == 0;
  cr_assert_eq(dind, 2, "the image and the init container's command");
  const struct rs_check_finding *f = find(&r, "docker-agent");
  cr_assert_not_null(f);
  cr_assert_str_eq(f->field, "spec.containers[1]");
  f = find(&r, "log-collector-unseen");
  cr_assert_not_null(f);
  cr_assert_eq(f->severity, RS_SEV_INFO);
  cr_assert_eq(r.n, 4);
  rs_check_report_clear(&r);
}

/* ---- the plan's node findings ---- */

Test(check_plan, findings_kubenet_settings_crictl) {
  struct rs_check_report r = {.notes = rs_strv_new()};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  struct rs_check_node n = {.name = "node-1", .kubelet = "v1.23.17", .kubenet = -1};
  n.plan = json_loads(
      "{\"contract\": 1, \"ok\": false, \"warnings\": [\"w1\"], \"blockers\": [\"b1\"],"
      " \"files\": [{\"path\": \"/var/lib/kubelet/kubeadm-flags.env\", \"changes\":"
      "   [\"KUBELET_KUBEADM_ARGS: removed --network-plugin=kubenet\"]},"
      "  {\"path\": \"/etc/crictl.yaml\", \"action\": \"modify\", \"changes\":"
      "   [\"runtime-endpoint: unix:///var/run/dockershim.sock -> unix:///run/containerd/containerd.sock\"]}],"
      " \"docker_settings\": [{\"key\": \"registry-mirrors\", \"value\": \"https://m\", \"action\": \"carried\","
      "   \"target\": \"/etc/containerd/certs.d/docker.io/hosts.toml\"},"
      "  {\"key\": \"data-root\", \"value\": \"/data/docker\", \"action\": \"reported\", \"why\": \"no twin\"},"
      "  {\"key\": \"debug\", \"action\": \"dropped\"}, {\"key\": 3}]}",
      0, NULL);
  cr_assert(n.plan);
  cr_assert_eq(rs_check_plan(&r, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n.kubenet, 1);
  cr_assert_eq(find(&r, "preflight-blocker")->severity, RS_SEV_BLOCKER);
  cr_assert_eq(find(&r, "preflight-warning")->severity, RS_SEV_WARNING);
  cr_assert_eq(find(&r, "kubenet")->severity, RS_SEV_BLOCKER);
  const struct rs_check_finding *c = find(&r, "crictl");
  cr_assert(c && strstr(c->message, "dockershim"));
  size_t carried = 0, warned = 0;
  for (size_t i = 0; i < r.n; i++)
    if (strcmp(r.v[i].check, "docker-setting") == 0) {
      if (r.v[i].severity == RS_SEV_INFO) carried++;
      else warned++;
    }
  cr_assert_eq(carried, 1);
  cr_assert_eq(warned, 2);
  cr_assert_eq(rs_strv_len(r.notes), 0);
  cr_assert_eq(rs_check_worst(&r), RS_SEV_BLOCKER);
  json_decref(n.plan);
  rs_check_report_clear(&r);

  /* an older plan: no docker_settings (a note), no kubenet on a 1.24+ kubelet (unknown) */
  struct rs_check_report r2 = {.notes = rs_strv_new()};
  struct rs_check_node m = {.name = "node-2", .kubelet = "v1.34.4", .kubenet = -1};
  m.plan = json_loads("{\"contract\": 1, \"ok\": true, \"warnings\": [], \"blockers\": [],"
                      " \"files\": [{\"path\": \"/etc/containerd/config.toml\", \"changes\": [\"x\"]}]}", 0, NULL);
  cr_assert_eq(rs_check_plan(&r2, &m, &e), 0);
  cr_assert_eq(r2.n, 0);
  cr_assert_eq(m.kubenet, -1);
  cr_assert(m.kubenet_note && strstr(m.kubenet_note, "cri-dockerd"));
  cr_assert_eq(rs_strv_len(r2.notes), 1);
  free(m.kubenet_note);
  json_decref(m.plan);
  rs_check_report_clear(&r2);

  /* leaving cri-dockerd: its own --network-plugin, from the plan */
  static const char *const crid[][3] = {
      /* cni.network_plugin, its source; kubenet: 1 yes, 0 no, -1 unknown */
      {"\"kubenet\"", "\"cri-docker.service ExecStart=\"", "1"},
      {"\"cni\"", "\"cri-docker.service ExecStart=\"", "0"},
      {"\"\"", "\"cri-docker.service ExecStart=\"", "0"},
      {"null", "\"not known: cri-docker.service unread\"", "-1"},
  };
  for (size_t i = 0; i < sizeof crid / sizeof *crid; i++) {
    struct rs_check_report r3 = {.notes = rs_strv_new()};
    struct rs_check_node k = {.name = "node-3", .kubelet = "v1.34.4", .kubenet = -1};
    _cleanup_free_ char *doc = rs_strdup_printf(
        "{\"contract\": 1, \"ok\": true, \"warnings\": [], \"blockers\": [], \"docker_settings\": [],"
        " \"cni\": {\"bin_dir\": \"/opt/cni/bin\", \"network_plugin\": %s, \"network_plugin_source\": %s},"
        " \"files\": [{\"path\": \"/etc/containerd/config.toml\", \"changes\": [\"x\"]}]}",
        crid[i][0], crid[i][1]);
    k.plan = json_loads(doc, 0, NULL);
    cr_assert(k.plan, "%zu", i);
    cr_assert_eq(rs_check_plan(&r3, &k, &e), 0, "%zu: %s", i, e.msg);
    cr_assert_eq(k.kubenet, atoi(crid[i][2]), "%zu", i);
    size_t blockers = 0;
    for (size_t j = 0; j < r3.n; j++)
      if (strcmp(r3.v[j].check, "kubenet") == 0 && r3.v[j].severity == RS_SEV_BLOCKER) blockers++;
    cr_assert_eq(blockers, k.kubenet == 1 ? 1 : 0, "%zu", i);
    if (k.kubenet < 0) cr_assert(k.kubenet_note && strstr(k.kubenet_note, "unread"), "%zu", i);
    free(k.kubenet_note);
    json_decref(k.plan);
    rs_check_report_clear(&r3);
  }
}

/* ---- the report ---- */

Test(check_report, order_counts_json) {
  struct rs_check_report r = {.to = strdup("containerd"), .notes = rs_strv_new()};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  char *n1[] = {"node-1", NULL};
  struct rs_check_finding a = {.severity = RS_SEV_INFO, .check = "docker-setting", .nodes = n1,
                               .object = {.kind = "Node", .name = "node-1"}, .message = "m"};
  struct rs_check_finding b = {.severity = RS_SEV_WARNING, .check = "docker-socket-dir", .nodes = n1,
                               .workload = {.kind = "DaemonSet", .ns = "x", .name = "d"},
                               .object = {.kind = "DaemonSet", .ns = "x", .name = "d"}, .field = "f", .value = "/run"};
  struct rs_check_finding c = b;
  c.severity = RS_SEV_BLOCKER;
  c.check = "docker-socket";
  cr_assert_eq(rs_check_add(&r, &b, &e), 0);
  cr_assert_eq(rs_check_add(&r, &a, &e), 0);
  cr_assert_eq(rs_check_add(&r, &c, &e), 0);
  cr_assert_eq(rs_check_add(&r, &b, &e), 0, "the same finding again merges");
  cr_assert_eq(r.n, 3);
  rs_check_sort(&r);
  cr_assert_str_eq(r.v[0].check, "docker-setting", "node findings first");
  cr_assert_str_eq(r.v[1].check, "docker-socket", "then per workload, the worst first");
  size_t cnt[_RS_SEV_MAX];
  rs_check_counts(&r, cnt);
  cr_assert_eq(cnt[RS_SEV_BLOCKER], 1);
  cr_assert_eq(cnt[RS_SEV_WARNING], 1);
  cr_assert_eq(cnt[RS_SEV_INFO], 1);
  json_auto_t *doc = rs_check_report_to_json(&r);
  cr_assert(doc);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "apiVersion")), RS_CHECK_API_VERSION);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "kind")), "CheckReport");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "result")), "blockers");
  json_t *f0 = json_array_get(json_object_get(doc, "findings"), 0);
  cr_assert(json_is_null(json_object_get(f0, "workload")));
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f0, "object"), "kind")), "Node");
  rs_check_report_clear(&r);
}

/* ---- the command: exit codes through the plugin and the fake API ---- */

static struct fake F;
static char kc[1024];

static void start(void) {
  const char *a[] = {"--nodes", "3", "--claimed-node", "2", NULL};
  fake_start(&F, a);
  fake_kubeconfig(&F, NULL, "    token: x\n", kc, sizeof kc);
}
static void stop(void) { fake_stop(&F); }

static void run_plugin(const char *const *args, struct rs_proc_result *r) { fake_run_plugin(kc, args, r); }

Test(check_cli, exit_codes_and_output, .init = start, .fini = stop) {
  struct rs_proc_result r = {0};
  /* node-00000: a pod mounting the Docker socket, in docker:dind: blocker */
  const char *b[] = {"check", "node-00000", "--preflight=false", NULL};
  run_plugin(b, &r);
  cr_assert_eq(r.status, 11, "%s%s", r.out, r.errout);
  cr_assert(strstr(r.out, "docker-socket") && strstr(r.out, "ci          Pod/dind"), "%s", r.out);
  cr_assert(strstr(r.errout, "cannot list replicasets"), "what was not checked is said: %s", r.errout);
  rs_proc_result_free(&r);
  /* node-00002: a DaemonSet pod mounting /var/run/: a warning, as JSON */
  const char *w[] = {"check", "node-00002", "--preflight=false", "-o", "json", NULL};
  run_plugin(w, &r);
  cr_assert_eq(r.status, 10, "%s%s", r.out, r.errout);
  json_auto_t *doc = json_loads(r.out, 0, NULL);
  cr_assert(doc, "%s", r.out);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "result")), "warnings");
  json_t *f = json_array_get(json_object_get(doc, "findings"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(f, "check")), "docker-socket-dir");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "workload"), "kind")), "DaemonSet");
  cr_assert_str_eq(json_string_value(json_object_get(f, "value")), "/var/run/");
  rs_proc_result_free(&r);
  /* node-00001 runs containerd: nothing to say, exit 0 */
  const char *ok[] = {"check", "node-00001", NULL};
  run_plugin(ok, &r);
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.errout);
  cr_assert(strstr(r.out, "node-00001   containerd://1.7.2   not-needed"), "%s", r.out);
  cr_assert(strstr(r.out, "0 blocker(s), 0 warning(s), 0 info on 1 node(s)"), "%s", r.out);
  rs_proc_result_free(&r);
  /* the preflight where the working namespace does not exist: skipped, said;
   * node-00002's annotations claim a switch in progress that no lock
   * backs: said, not believed (the preflight is not held back by them) */
  const char *pf[] = {"check", "node-00002", "-n", "no-such-ns", NULL};
  run_plugin(pf, &r);
  cr_assert_eq(r.status, 10, "%s%s", r.out, r.errout);
  cr_assert(strstr(r.errout, "node node-00002: preflight skipped: not run: "), "%s", r.errout);
  cr_assert(strstr(r.errout, "20261206-110000-0002") && strstr(r.errout, "(the preflight runs)"), "%s", r.errout);
  rs_proc_result_free(&r);
  /* usage */
  const char *u1[] = {"check", NULL};
  run_plugin(u1, &r);
  cr_assert_eq(r.status, 2);
  rs_proc_result_free(&r);
  const char *u2[] = {"check", "node-00001", "--all", NULL};
  run_plugin(u2, &r);
  cr_assert_eq(r.status, 2);
  rs_proc_result_free(&r);
  const char *u3[] = {"check", "--all", "--to", "runc", NULL};
  run_plugin(u3, &r);
  cr_assert_eq(r.status, 2);
  rs_proc_result_free(&r);
  const char *m[] = {"check", "node-99999", NULL};
  run_plugin(m, &r);
  cr_assert_eq(r.status, 1);
  cr_assert(strstr(r.errout, "nodes \"node-99999\" not found"), "%s", r.errout);
  rs_proc_result_free(&r);
}
