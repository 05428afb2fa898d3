/* Log collectors' configurations: where each tool's own language says
 * that it reads container logs as Docker's JSON lines (CRI writes
 * "<time> <stream> <P|F> <text>"), reads Docker's log files, or asks the
 * Docker daemon.  The settings are read by meaning, through the readers
 * of check_conf_parse.c, not by searching the text. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/check.h"
#include "check_int.h"

void rs_conf_hits_clear(struct rs_conf_hits *h) {
  for (size_t i = 0; i < h->n; i++) {
    free(h->v[i].where);
    free(h->v[i].value);
  }
  free(h->v);
  *h = (struct rs_conf_hits){0};
}

struct scan {
  struct rs_conf_hits *hits;
  const char *file;       /* the ConfigMap key being read */
  rs_err_t *err;
};

static int hit(struct scan *s, int what, size_t line, const char *value, const char *fmt, ...)
    RS_PRINTF(5, 6);
static int hit(struct scan *s, int what, size_t line, const char *value, const char *fmt, ...) {
  if (s->hits->n >= 256) return 0; /* enough to say what to fix */
  struct rs_conf_hit *v = realloc(s->hits->v, (s->hits->n + 1) * sizeof *v);
  if (!v) return rs_oom(s->err);
  s->hits->v = v;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(4096);
  va_list ap;
  va_start(ap, fmt);
  int r = rs_buf_printf(&b, s->err, "%s: ", s->file);
  if (r == 0) r = rs_buf_vprintf(&b, s->err, fmt, ap);
  va_end(ap);
  if (r < 0) return -1;
  char *val = strdup(value ? value : "");
  if (!val) return rs_oom(s->err);
  v[s->hits->n++] = (struct rs_conf_hit){.what = what, .line = line, .where = rs_buf_steal(&b, NULL),
                                         .value = val};
  return 0;
}

/* ---- small readers of the trees ---- */

static const char *str(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static size_t line_of(const json_t *o, const char *key) {
  json_int_t l = json_integer_value(json_object_get(json_object_get(o, "__lines"), key));
  if (!l) l = json_integer_value(json_object_get(o, "__line"));
  return l > 0 ? (size_t)l : 0;
}

static bool eq(const char *a, const char *b) { return a && b && strcasecmp(a, b) == 0; }

static bool truthy(const char *v) {
  return eq(v, "on") || eq(v, "true") || eq(v, "yes") || eq(v, "1");
}

/* Each item of a comma-separated list, trimmed, to fn; stops at the first
 * fn that returns true. */
static bool any_item(const char *list, bool (*fn)(const char *item, void *ud), void *ud) {
  if (!list) return false;
  for (const char *p = list; *p;) {
    while (*p == ',' || isspace((unsigned char)*p)) p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && isspace((unsigned char)t[-1])) t--;
    if (t > p) {
      char item[RS_CHECK_PATH_MAX + 1];
      size_t n = (size_t)(t - p) < sizeof item - 1 ? (size_t)(t - p) : sizeof item - 1;
      memcpy(item, p, n);
      item[n] = '\0';
      if (fn(item, ud)) return true;
    }
    p = e;
  }
  return false;
}

static bool item_is(const char *item, void *want) { return eq(item, want); }

/* Docker's log files: /var/lib/docker/containers (globs allowed) */
static bool is_docker_logs(const char *path, void *ud) {
  (void)ud;
  _cleanup_free_ char *r = NULL;
  rs_err_t e = RS_ERR_INIT;
  bool yes = rs_check_path_resolve(path, &r, &e) == 0 && rs_check_path_hit(r) == RS_PATH_LOGS;
  rs_err_clear(&e);
  return yes;
}

/* the logs of containers as the kubelet lays them out, or Docker's */
static bool is_container_logs(const char *path, void *ud) {
  (void)ud;
  return strstr(path, "/var/log/containers") || strstr(path, "/var/log/pods") || is_docker_logs(path, NULL);
}

static int check_docker_files(struct scan *s, const char *paths, size_t line, const char *what) {
  if (!any_item(paths, is_docker_logs, NULL)) return 0;
  return hit(s, RS_CONF_DOCKER_FILES, line, paths, "%s reads Docker's log files", what);
}

/* ---- fluent-bit ---- */

/* fluent-bit's YAML format as classic sections: pipeline.inputs[] ->
 * "input", pipeline.filters[] -> "filter", parsers[] -> "parser"; keys in
 * lower case, scalars only. */
static int fluentbit_from_yaml(const json_t *doc, json_t *sections) {
  static const struct {
    const char *parent, *list, *section;
  } lists[] = {{"pipeline", "inputs", "input"}, {"pipeline", "filters", "filter"}, {NULL, "parsers", "parser"}};
  for (size_t k = 0; k < RS_ARRAY_SIZE(lists); k++) {
    const json_t *l = lists[k].parent ? json_object_get(json_object_get(doc, lists[k].parent), lists[k].list)
                                      : json_object_get(doc, lists[k].list);
    size_t i;
    json_t *item;
    json_array_foreach(l, i, item) {
      json_t *sec = json_pack("{s:s}", "__section", lists[k].section);
      if (!sec || json_array_append_new(sections, sec) < 0) return -1;
      const char *key;
      json_t *v;
      json_object_foreach(item, key, v) {
        if (!json_is_string(v) || rs_startswith(key, "__")) continue;
        _cleanup_free_ char *lk = strdup(key);
        if (!lk) return -1;
        for (char *c = lk; *c; c++) *c = (char)tolower((unsigned char)*c);
        if (json_object_set(sec, lk, v) < 0) return -1;
      }
    }
  }
  return 0;
}

/* A parser's format: from the sections' [PARSER] definitions, else the
 * ones fluent-bit ships in its parsers.conf (docker: json, cri: regex). */
static const char *parser_format(const json_t *sections, const char *name) {
  size_t i;
  json_t *sec;
  json_array_foreach(sections, i, sec) {
    if (eq(str(sec, "__section"), "parser") && eq(str(sec, "name"), name)) return str(sec, "format");
  }
  if (eq(name, "docker")) return "json";
  if (eq(name, "cri")) return "regex";
  return NULL;
}

static int fluentbit_input(struct scan *s, const json_t *sections, const json_t *in) {
  const char *name = str(in, "name");
  if (eq(name, "docker") || eq(name, "docker_events"))
    return hit(s, RS_CONF_DOCKER_API, line_of(in, "name"), name, "[INPUT] %s asks the Docker daemon", name);
  if (!eq(name, "tail")) return 0;
  const char *path = str(in, "path");
  if (check_docker_files(s, path, line_of(in, "path"), "[INPUT] tail") < 0) return -1;
  if (!any_item(path, is_container_logs, NULL)) return 0;
  const char *ml = str(in, "multiline.parser");
  if (any_item(ml, item_is, "cri")) return 0; /* reads CRI lines (docker, cri reads both) */
  if (any_item(ml, item_is, "docker"))
    return hit(s, RS_CONF_DOCKER_PARSER, line_of(in, "multiline.parser"), ml,
               "[INPUT] tail %s: multiline.parser %s reads Docker's JSON lines only", path, ml);
  if (truthy(str(in, "docker_mode")))
    return hit(s, RS_CONF_DOCKER_PARSER, line_of(in, "docker_mode"), str(in, "docker_mode"),
               "[INPUT] tail %s: Docker_Mode reads Docker's JSON lines", path);
  const char *p = str(in, "parser");
  const char *fmt = p ? parser_format(sections, p) : NULL;
  if (eq(fmt, "json"))
    return hit(s, RS_CONF_DOCKER_PARSER, line_of(in, "parser"), p,
               "[INPUT] tail %s: Parser %s reads lines as JSON (Docker's format)", path, p);
  return 0;
}

static int fluentbit(struct scan *s, const char *const *keys, const char *const *vals,
                     const size_t *lens, size_t n) {
  /* every file first: the parsers may be defined in another key */
  json_auto_t *all = json_array();
  if (!all) return rs_oom(s->err);
  for (size_t i = 0; i < n; i++) {
    json_auto_t *t = NULL;
    bool yaml = rs_endswith(keys[i], ".yaml") || rs_endswith(keys[i], ".yml");
    if ((yaml ? rs_conf_read_yaml : rs_conf_read_fluentbit)(vals[i], lens[i], &t, s->err) < 0) return -1;
    if (!t) continue;
    json_auto_t *secs = yaml ? json_array() : json_incref(t);
    if (!secs || (yaml && fluentbit_from_yaml(t, secs) < 0)) return rs_oom(s->err);
    size_t k;
    json_t *sec;
    json_array_foreach(secs, k, sec) {
      if (json_object_set_new(sec, "__file", json_string(keys[i])) < 0 || json_array_append(all, sec) < 0)
        return rs_oom(s->err);
    }
  }
  size_t k;
  json_t *sec;
  json_array_foreach(all, k, sec) {
    if (!eq(str(sec, "__section"), "input")) continue;
    s->file = str(sec, "__file");
    if (fluentbit_input(s, all, sec) < 0) return -1;
  }
  return 0;
}

/* ---- fluentd ---- */

static const json_t *child(const json_t *d, const char *directive) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(d, "__children"), i, c) {
    if (eq(str(c, "__directive"), directive)) return c;
  }
  return NULL;
}

static const char *ftype(const json_t *d) {
  const char *t = str(d, "@type");
  return t ? t : str(d, "type");
}

/* The format a tail source parses with: its <parse> @type, or the old
 * `format` key; multi_format counts as CRI when any pattern reads CRI
 * lines (cri, or a regexp). */
static int fluentd_tail(struct scan *s, const json_t *src) {
  const char *path = str(src, "path");
  if (check_docker_files(s, path, line_of(src, "path"), "<source> @type tail") < 0) return -1;
  if (!any_item(path, is_container_logs, NULL)) return 0;
  const json_t *parse = child(src, "parse");
  const char *fmt = parse ? ftype(parse) : str(src, "format");
  size_t line = parse ? line_of(parse, "@type") : line_of(src, "format");
  if (eq(fmt, "multi_format")) {
    bool cri = false, json = false;
    size_t i;
    json_t *pat;
    json_array_foreach(json_object_get(parse, "__children"), i, pat) {
      const char *f = str(pat, "format");
      if (!f) f = ftype(pat);
      if (eq(f, "cri") || eq(f, "regexp")) cri = true;
      if (eq(f, "json")) json = true;
    }
    if (cri || !json) return 0;
  } else if (!eq(fmt, "json")) {
    return 0;
  }
  return hit(s, RS_CONF_DOCKER_PARSER, line, fmt, "<source> @type tail %s parses with %s (Docker's JSON lines)",
             path, fmt);
}

static int fluentd_walk(struct scan *s, const json_t *d, int depth) {
  if (depth > RS_CONF_MAX_DEPTH) return 0;
  const char *dir = str(d, "__directive");
  if (eq(dir, "source") && eq(ftype(d), "tail") && fluentd_tail(s, d) < 0) return -1;
  if (dir && eq(ftype(d), "docker_metadata") &&
      hit(s, RS_CONF_DOCKER_API, line_of(d, "@type"), "docker_metadata",
          "<%s> @type docker_metadata asks the Docker daemon", dir) < 0)
    return -1;
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(d, "__children"), i, c) {
    if (fluentd_walk(s, c, depth + 1) < 0) return -1;
  }
  return 0;
}

/* ---- vector ---- */

static int vector(struct scan *s, const json_t *doc) {
  const json_t *srcs = json_object_get(doc, "sources");
  const char *name;
  json_t *src;
  json_object_foreach((json_t *)srcs, name, src) {
    if (!json_is_object(src)) continue;
    const char *type = str(src, "type");
    if (eq(type, "docker_logs") &&
        hit(s, RS_CONF_DOCKER_API, line_of(src, "type"), type, "sources.%s type docker_logs asks the Docker daemon",
            name) < 0)
      return -1;
    if (!eq(type, "file")) continue;
    const json_t *inc = json_object_get(src, "include");
    size_t i;
    json_t *p;
    json_array_foreach(inc, i, p) {
      if (json_is_string(p) && check_docker_files(s, json_string_value(p), line_of(src, "include"), "a file source") < 0)
        return -1;
    }
    if (json_is_string(inc) && check_docker_files(s, json_string_value(inc), line_of(src, "include"), "a file source") < 0)
      return -1;
  }
  return 0;
}

/* ---- promtail ---- */

static int promtail(struct scan *s, const json_t *doc) {
  size_t i;
  json_t *sc;
  json_array_foreach(json_object_get(doc, "scrape_configs"), i, sc) {
    if (json_object_get(sc, "docker_sd_configs") &&
        hit(s, RS_CONF_DOCKER_API, 0, "docker_sd_configs", "scrape_configs[%zu] discovers targets from the Docker daemon",
            i) < 0)
      return -1;
    bool docker = false, cri = false;
    size_t k;
    json_t *stage;
    json_array_foreach(json_object_get(sc, "pipeline_stages"), k, stage) {
      if (json_object_get(stage, "docker")) docker = true;
      if (json_object_get(stage, "cri")) cri = true;
    }
    if (docker && !cri &&
        hit(s, RS_CONF_DOCKER_PARSER, 0, "docker", "scrape_configs[%zu].pipeline_stages has a docker stage and no cri "
            "stage (Docker's JSON lines only)", i) < 0)
      return -1;
    json_t *st;
    json_array_foreach(json_object_get(sc, "static_configs"), k, st) {
      const char *p = str(json_object_get(st, "labels"), "__path__");
      if (check_docker_files(s, p, 0, "static_configs __path__") < 0) return -1;
    }
  }
  return 0;
}

/* ---- filebeat ---- */

/* "filebeat.inputs" as one dotted key or as filebeat: {inputs: ...} */
static const json_t *dotted(const json_t *doc, const char *a, const char *b) {
  char key[128];
  snprintf(key, sizeof key, "%s.%s", a, b);
  const json_t *v = json_object_get(doc, key);
  return v ? v : json_object_get(json_object_get(doc, a), b);
}

static int docker_metadata(struct scan *s, const json_t *procs, const char *where) {
  size_t i;
  json_t *p;
  json_array_foreach(procs, i, p) {
    if (json_object_get(p, "add_docker_metadata") &&
        hit(s, RS_CONF_DOCKER_API, 0, "add_docker_metadata", "%s: processor add_docker_metadata asks the Docker daemon",
            where) < 0)
      return -1;
  }
  return 0;
}

static int filebeat(struct scan *s, const json_t *doc) {
  size_t i;
  json_t *in;
  json_array_foreach(dotted(doc, "filebeat", "inputs"), i, in) {
    const char *type = str(in, "type");
    char where[64];
    snprintf(where, sizeof where, "filebeat.inputs[%zu]", i);
    if (eq(type, "docker") &&
        hit(s, RS_CONF_DOCKER_FILES, 0, type, "%s type docker reads Docker's JSON log files", where) < 0)
      return -1;
    if (eq(type, "container") && eq(str(in, "format"), "docker") &&
        hit(s, RS_CONF_DOCKER_PARSER, 0, "format: docker", "%s type container with format docker reads Docker's "
            "JSON lines only", where) < 0)
      return -1;
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(in, "paths"), k, p) {
      if (check_docker_files(s, json_string_value(p), 0, where) < 0) return -1;
    }
    if (docker_metadata(s, json_object_get(in, "processors"), where) < 0) return -1;
  }
  json_t *prov;
  json_array_foreach(json_object_get(dotted(doc, "filebeat", "autodiscover"), "providers"), i, prov) {
    if (eq(str(prov, "type"), "docker") &&
        hit(s, RS_CONF_DOCKER_API, 0, "docker", "filebeat.autodiscover.providers[%zu] type docker asks the Docker "
            "daemon", i) < 0)
      return -1;
  }
  return docker_metadata(s, json_object_get(doc, "processors"), "processors");
}

/* ---- CloudWatch agent ---- */

static int cloudwatch(struct scan *s, const json_t *doc) {
  const json_t *files = json_object_get(json_object_get(json_object_get(doc, "logs"), "logs_collected"), "files");
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(files, "collect_list"), i, f) {
    if (check_docker_files(s, str(f, "file_path"), 0, "logs.logs_collected.files.collect_list") < 0) return -1;
  }
  return 0;
}

/* ---- dispatch ---- */

static bool ext(const char *key, const char *a, const char *b) {
  return rs_endswith(key, a) || (b && rs_endswith(key, b));
}

int rs_check_conf(int collector, const char *const *keys, const char *const *vals, const size_t *lens,
                  size_t n, struct rs_conf_hits *ret, rs_err_t *err) {
  struct rs_conf_hits hits = {0};
  struct scan s = {.hits = &hits, .err = err};
  int r = 0;
  if (collector == RS_COLLECTOR_FLUENT_BIT) r = fluentbit(&s, keys, vals, lens, n);
  for (size_t i = 0; r == 0 && collector != RS_COLLECTOR_FLUENT_BIT && i < n; i++) {
    json_auto_t *t = NULL;
    s.file = keys[i];
    switch (collector) {
    case RS_COLLECTOR_FLUENTD:
      r = rs_conf_read_fluentd(vals[i], lens[i], &t, err);
      if (r == 0 && t) r = fluentd_walk(&s, t, 0);
      break;
    case RS_COLLECTOR_VECTOR:
      r = ext(keys[i], ".toml", NULL)   ? rs_conf_read_toml(vals[i], lens[i], &t, err)
          : ext(keys[i], ".json", NULL) ? rs_conf_read_json(vals[i], lens[i], &t, err)
                                        : rs_conf_read_yaml(vals[i], lens[i], &t, err);
      if (r == 0 && t) r = vector(&s, t);
      break;
    case RS_COLLECTOR_PROMTAIL:
    case RS_COLLECTOR_FILEBEAT:
      r = rs_conf_read_yaml(vals[i], lens[i], &t, err);
      if (r == 0 && t) r = collector == RS_COLLECTOR_PROMTAIL ? promtail(&s, t) : filebeat(&s, t);
      break;
    case RS_COLLECTOR_CLOUDWATCH:
      r = ext(keys[i], ".yaml", ".yml") ? rs_conf_read_yaml(vals[i], lens[i], &t, err)
                                        : rs_conf_read_json(vals[i], lens[i], &t, err);
      if (r == 0 && t) r = cloudwatch(&s, t);
      break;
    default:
      break;
    }
  }
  if (r < 0) {
    rs_conf_hits_clear(&hits);
    return -1;
  }
  *ret = hits;
  return 0;
}
