/* Names: agents known to bind to Docker, log collectors, docker-in-docker.
 * A name (a workload's, a container's, an image reference) is compared
 * word by word, lower-cased and split on every character that is not a
 * letter or a digit, so "datadog-agent", "gcr.io/datadoghq/agent" and
 * "DD_AGENT" all read as words, and "falco" never matches "falcon". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/check.h"

#define MAX_WORDS 64
#define MAX_WORD 64

struct words {
  char w[MAX_WORDS][MAX_WORD];
  size_t n;
};

/* Split into at most MAX_WORDS words of at most MAX_WORD-1 characters
 * (longer words are cut: no name we look for is that long). */
static void split_words(const char *s, struct words *ret) {
  ret->n = 0;
  while (s && *s && ret->n < MAX_WORDS) {
    while (*s && !isalnum((unsigned char)*s)) s++;
    size_t k = 0;
    while (*s && isalnum((unsigned char)*s)) {
      if (k + 1 < MAX_WORD) ret->w[ret->n][k++] = (char)tolower((unsigned char)*s);
      s++;
    }
    if (k) ret->w[ret->n++][k] = '\0';
  }
}

/* pattern: words separated by one space, all of them consecutive in w */
static bool has_phrase(const struct words *w, const char *pattern) {
  struct words p;
  split_words(pattern, &p);
  if (!p.n || p.n > w->n) return false;
  for (size_t i = 0; i + p.n <= w->n; i++) {
    size_t k = 0;
    while (k < p.n && strcmp(w->w[i + k], p.w[k]) == 0) k++;
    if (k == p.n) return true;
  }
  return false;
}

/* ---- agents ----
 * The list of kubernetes.io's "Migrating telemetry and security agents
 * from dockershim" (content/en/docs/tasks/administer-cluster/
 * migrating-from-dockershim/migrating-telemetry-and-security-agents.md,
 * linked from "Check whether dockershim removal affects you"): the names
 * it says the pods accessing Docker may have, and what each vendor says to
 * do. */
static const struct {
  const char *words[4];
  struct rs_agent agent;
} agents[] = {
    {{"datadog", "datadoghq", "dd agent"},
     {"datadog", "Datadog Agent", RS_SEV_WARNING,
      "configure the agent for containerd/CRI (https://docs.datadoghq.com/agent/guide/docker-deprecation/)"}},
    {{"dynatrace", "oneagent"},
     {"dynatrace", "Dynatrace OneAgent", RS_SEV_WARNING,
      "move from Docker-only to generic container metrics (Dynatrace: \"Migrating from Docker-only to generic "
      "container metrics\")"}},
    {{"falco", "falcosecurity"},
     {"falco", "Falco", RS_SEV_WARNING,
      "point Falco at the CRI socket of the new runtime (https://falco.org/docs/getting-started/deployment/)"}},
    {{"twistlock", "prisma cloud", "prismacloud"},
     {"prisma-cloud", "Prisma Cloud (Twistlock) Defender", RS_SEV_WARNING,
      "redeploy the Defenders from a YAML generated with --cri (Prisma Cloud: \"Install Prisma Cloud on a CRI "
      "(non-Docker) cluster\")"}},
    {{"signalfx"},
     {"signalfx", "SignalFx Smart Agent", RS_SEV_WARNING,
      "remove the docker-container-stats monitor and enable kubelet-metrics; review dashboards and alerts"}},
    {{"kubectl flame"},
     {"kubectl-flame", "kubectl-flame", RS_SEV_WARNING,
      "kubectl-flame does not support runtimes other than Docker (yahoo/kubectl-flame#51)"}},
    {{"aquasec", "aqua enforcer", "aqua agent"},
     {"aqua", "Aqua Enforcer", RS_SEV_INFO, "nothing: Aqua works on the new runtime as it is"}},
};

const struct rs_agent *rs_check_agent(const char *name) {
  struct words w;
  split_words(name, &w);
  for (size_t i = 0; i < RS_ARRAY_SIZE(agents); i++)
    for (size_t k = 0; k < RS_ARRAY_SIZE(agents[i].words) && agents[i].words[k]; k++)
      if (has_phrase(&w, agents[i].words[k])) return &agents[i].agent;
  return NULL;
}

/* ---- log collectors ---- */

static const struct {
  int id;
  const char *name;
  const char *words[4];
} collectors[] = {
    {RS_COLLECTOR_FLUENT_BIT, "fluent-bit", {"fluent bit", "fluentbit"}},
    {RS_COLLECTOR_FLUENTD, "fluentd", {"fluentd"}},
    {RS_COLLECTOR_VECTOR, "vector", {"vector", "timberio"}},
    {RS_COLLECTOR_PROMTAIL, "promtail", {"promtail"}},
    {RS_COLLECTOR_FILEBEAT, "filebeat", {"filebeat"}},
    {RS_COLLECTOR_CLOUDWATCH, "cloudwatch-agent", {"cloudwatch agent", "cwagent", "amazon cloudwatch"}},
};

const char *rs_collector_name(int c) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(collectors); i++)
    if (collectors[i].id == c) return collectors[i].name;
  return "none";
}

int rs_check_collector(const char *name) {
  struct words w;
  split_words(name, &w);
  for (size_t i = 0; i < RS_ARRAY_SIZE(collectors); i++)
    for (size_t k = 0; k < RS_ARRAY_SIZE(collectors[i].words) && collectors[i].words[k]; k++)
      if (has_phrase(&w, collectors[i].words[k])) return collectors[i].id;
  return RS_COLLECTOR_NONE;
}

/* ---- docker-in-docker ---- */

/* "dockerd", "dockerd-entrypoint.sh", "/usr/local/bin/dockerd-rootless.sh" */
static bool is_dockerd_word(const char *w, size_t n) {
  const char *base = w;
  for (size_t i = 0; i < n; i++)
    if (w[i] == '/') base = w + i + 1;
  size_t bn = n - (size_t)(base - w);
  return bn >= 7 && memcmp(base, "dockerd", 7) == 0 && (bn == 7 || base[7] == '-' || base[7] == '.');
}

/* A command line: words split on blanks and shell punctuation (a command
 * may be `sh -c "dockerd --host ... & exec sleep"`). */
static bool runs_dockerd(const char *s) {
  static const char seps[] = " \t\r\n;&|()`$\"'<>";
  while (s && *s) {
    s += strspn(s, seps);
    size_t n = strcspn(s, seps);
    if (n && is_dockerd_word(s, n)) return true;
    s += n;
  }
  return false;
}

bool rs_check_dind(const char *image, const char *const *argv, const char **ret_why) {
  const char *why = NULL;
  if (image && *image) {
    /* repository[:tag][@digest]; the tag follows the last ':' after the
     * last '/' (a registry port has a '/' after it) */
    size_t end = strcspn(image, "@");
    const char *slash = NULL;
    for (size_t i = 0; i < end; i++)
      if (image[i] == '/') slash = image + i;
    const char *name = slash ? slash + 1 : image;
    const char *colon = memchr(name, ':', end - (size_t)(name - image));
    size_t name_len = colon ? (size_t)(colon - name) : end - (size_t)(name - image);
    const char *tag = colon ? colon + 1 : "";
    size_t tag_len = colon ? end - (size_t)(tag - image) : 0;
    bool tag_dind = false;
    for (size_t i = 0; i + 4 <= tag_len; i++)
      if (memcmp(tag + i, "dind", 4) == 0) tag_dind = true;
    struct words w;
    split_words(image, &w);
    if (name_len == 6 && memcmp(name, "docker", 6) == 0 && tag_dind)
      why = "the image is docker:*dind*";
    else if (has_phrase(&w, "dind"))
      why = "the image's name says dind";
  }
  for (size_t i = 0; !why && argv && argv[i]; i++)
    if (runs_dockerd(argv[i])) why = "its command runs dockerd";
  if (ret_why) *ret_why = why;
  return why != NULL;
}
