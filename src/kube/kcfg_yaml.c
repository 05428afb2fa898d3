/* One kubeconfig file through libyaml's document API into struct
 * rs_kcfg_file.  Types follow what kubectl sees after its YAML-to-JSON
 * step: plain scalars null/bool/number are not strings, *-data fields are
 * standard base64, unknown keys are ignored.  Every error names the file
 * and the node's line:column. */
#include "kcfg_yaml.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"

#define MAX_EXT_NODES 100000
#define MAX_EXT_DEPTH 64

struct pctx {
  yaml_document_t *doc;
  const char *path;
  const char *dir;
  rs_err_t *err;
};

static int fail_at(struct pctx *p, const yaml_node_t *n, const char *fmt, ...)
    RS_PRINTF(3, 4);
static int fail_at(struct pctx *p, const yaml_node_t *n, const char *fmt, ...) {
  _cleanup_free_ char *m = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&m, fmt, ap) < 0) m = NULL;
  va_end(ap);
  return rs_fail(p->err, RS_E_CONFIG, 0, "%s:%zu:%zu: %s", p->path,
                 n ? n->start_mark.line + 1 : 0,
                 n ? n->start_mark.column + 1 : 0, m ? m : "invalid");
}

/* ---- scalars ---- */

enum skind { SK_NULL, SK_TRUE, SK_FALSE, SK_NUMBER, SK_STRING };

static const char *const true_words[] = {"y", "Y", "yes", "Yes", "YES", "true",
                                         "True", "TRUE", "on", "On", "ON"};
static const char *const false_words[] = {"n", "N", "no", "No", "NO", "false",
                                          "False", "FALSE", "off", "Off", "OFF"};

static bool is_number(const char *s) {
  static regex_t re;
  static int ready = 0;
  if (!ready) {
    if (regcomp(&re,
                "^([-+]?(0|[1-9][0-9_]*|0[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)|"
                "[-+]?([0-9][0-9_]*)?\\.[0-9.]*([eE][-+][0-9]+)?|"
                "[-+]?[0-9][0-9_]*(\\.[0-9_]*)?[eE][-+]?[0-9]+|"
                "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
                REG_EXTENDED | REG_NOSUB) != 0)
      return false;
    ready = 1;
  }
  return regexec(&re, s, 0, NULL, 0) == 0;
}

static enum skind scalar_kind(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE) return SK_STRING;
  if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return SK_STRING;
  const char *s = (const char *)n->data.scalar.value;
  if (n->data.scalar.length == 0 || strcmp(s, "~") == 0 ||
      strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
    return SK_NULL;
  for (size_t i = 0; i < RS_ARRAY_SIZE(true_words); i++)
    if (strcmp(s, true_words[i]) == 0) return SK_TRUE;
  for (size_t i = 0; i < RS_ARRAY_SIZE(false_words); i++)
    if (strcmp(s, false_words[i]) == 0) return SK_FALSE;
  if (is_number(s)) return SK_NUMBER;
  return SK_STRING;
}

static const char *node_type_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_MAPPING_NODE: return "a mapping";
  case YAML_SEQUENCE_NODE: return "a list";
  default: break;
  }
  switch (scalar_kind(n)) {
  case SK_NULL: return "null";
  case SK_TRUE:
  case SK_FALSE: return "a boolean";
  case SK_NUMBER: return "a number";
  default: return "a string";
  }
}

static bool is_null(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE && scalar_kind(n) == SK_NULL;
}

/* A string field: null leaves *out alone, "" counts as unset. */
static int get_str(struct pctx *p, const yaml_node_t *n, const char *field,
                   char **out) {
  if (is_null(n)) return 0;
  if (n->type != YAML_SCALAR_NODE || scalar_kind(n) != SK_STRING)
    return fail_at(p, n, "%s: expected a string, found %s", field,
                   node_type_name(n));
  free(*out);
  *out = NULL;
  if (n->data.scalar.length == 0) return 0;
  *out = strndup((const char *)n->data.scalar.value, n->data.scalar.length);
  return *out ? 0 : rs_oom(p->err);
}

static int get_bool(struct pctx *p, const yaml_node_t *n, const char *field,
                    bool *out) {
  enum skind k = n->type == YAML_SCALAR_NODE ? scalar_kind(n) : SK_STRING;
  if (n->type != YAML_SCALAR_NODE ||
      (k != SK_NULL && k != SK_TRUE && k != SK_FALSE))
    return fail_at(p, n, "%s: expected a boolean, found %s", field,
                   node_type_name(n));
  *out = k == SK_TRUE;
  return 0;
}

static int get_path(struct pctx *p, const yaml_node_t *n, const char *field,
                    char **out) {
  if (get_str(p, n, field, out) < 0) return -1;
  if (*out && (*out)[0] != '/') {
    char *abs = rs_path_join(p->dir, *out);
    if (!abs) return rs_oom(p->err);
    free(*out);
    *out = abs;
  }
  return 0;
}

static int get_bytes(struct pctx *p, const yaml_node_t *n, const char *field,
                     struct rs_bytes *out, bool *has) {
  _cleanup_free_ char *s = NULL;
  if (get_str(p, n, field, &s) < 0) return -1;
  free(out->data);
  *out = (struct rs_bytes){0};
  *has = false;
  if (!s) return 0;
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  if (rs_base64_decode(s, strlen(s), out, &e) < 0)
    return fail_at(p, n, "%s: %s", field, e.msg);
  *has = true;
  return 0;
}

static int get_strv(struct pctx *p, const yaml_node_t *n, const char *field,
                    char ***out) {
  if (is_null(n)) return 0;
  if (n->type != YAML_SEQUENCE_NODE)
    return fail_at(p, n, "%s: expected a list, found %s", field,
                   node_type_name(n));
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) return rs_oom(p->err);
  for (yaml_node_item_t *it = n->data.sequence.items.start;
       it < n->data.sequence.items.top; it++) {
    yaml_node_t *item = yaml_document_get_node(p->doc, *it);
    if (!item) return fail_at(p, n, "%s: broken list", field);
    char *s = NULL;
    if (get_str(p, item, field, &s) < 0 ||
        rs_strv_consume(&v, s ? s : strdup(""), p->err) < 0)
      return -1;
  }
  rs_strv_free(*out);
  *out = TAKE_PTR(v);
  return 0;
}

/* Iterate a mapping: calls fn(p, key, value, ud) per pair. */
typedef int (*pair_fn)(struct pctx *p, const char *key, yaml_node_t *val,
                       void *ud);

static int each_pair(struct pctx *p, yaml_node_t *map, const char *what,
                     pair_fn fn, void *ud) {
  if (is_null(map)) return 0;
  if (map->type != YAML_MAPPING_NODE)
    return fail_at(p, map, "%s: expected a mapping, found %s", what,
                   node_type_name(map));
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
       pr < map->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
    if (!k || !v) return fail_at(p, map, "%s: broken mapping", what);
    if (k->type != YAML_SCALAR_NODE)
      return fail_at(p, k, "%s: keys must be strings", what);
    if (fn(p, (const char *)k->data.scalar.value, v, ud) < 0) return -1;
  }
  return 0;
}

/* ---- YAML to JSON (extensions) ---- */

static json_t *node_to_json(struct pctx *p, yaml_node_t *n, int depth,
                            size_t *budget) {
  if (depth > MAX_EXT_DEPTH || *budget == 0) {
    fail_at(p, n, "extension nested too deep or too large");
    return NULL;
  }
  (*budget)--;
  if (n->type == YAML_SCALAR_NODE) {
    const char *s = (const char *)n->data.scalar.value;
    switch (scalar_kind(n)) {
    case SK_NULL: return json_null();
    case SK_TRUE: return json_true();
    case SK_FALSE: return json_false();
    case SK_NUMBER: {
      json_error_t je;
      json_t *num = json_loads(s, JSON_DECODE_ANY, &je);
      if (num && json_is_number(num)) return num;
      json_decref(num);
      return json_stringn(s, n->data.scalar.length);
    }
    default: return json_stringn(s, n->data.scalar.length);
    }
  }
  if (n->type == YAML_SEQUENCE_NODE) {
    _cleanup_(json_decrefp) json_t *a = json_array();
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         a && it < n->data.sequence.items.top; it++) {
      yaml_node_t *c = yaml_document_get_node(p->doc, *it);
      json_t *j = c ? node_to_json(p, c, depth + 1, budget) : NULL;
      if (!j || json_array_append_new(a, j) < 0) return NULL;
    }
    return TAKE_PTR(a);
  }
  _cleanup_(json_decrefp) json_t *o = json_object();
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
       o && pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
    if (!k || !v || k->type != YAML_SCALAR_NODE) {
      fail_at(p, n, "extension: keys must be strings");
      return NULL;
    }
    json_t *j = node_to_json(p, v, depth + 1, budget);
    if (!j || json_object_set_new(o, (const char *)k->data.scalar.value, j) < 0) return NULL;
  }
  return TAKE_PTR(o);
}

/* ---- cluster ---- */

static int cluster_pair(struct pctx *p, const char *k, yaml_node_t *v,
                        void *ud) {
  struct kc_cluster *c = ud;
  if (strcmp(k, "server") == 0) return get_str(p, v, k, &c->server);
  if (strcmp(k, "tls-server-name") == 0)
    return get_str(p, v, k, &c->tls_server_name);
  if (strcmp(k, "certificate-authority") == 0)
    return get_path(p, v, k, &c->ca_file);
  if (strcmp(k, "certificate-authority-data") == 0)
    return get_bytes(p, v, k, &c->ca_data, &c->has_ca_data);
  if (strcmp(k, "insecure-skip-tls-verify") == 0)
    return get_bool(p, v, k, &c->insecure);
  if (strcmp(k, "proxy-url") == 0) return get_str(p, v, k, &c->proxy_url);
  if (strcmp(k, "disable-compression") == 0)
    return get_bool(p, v, k, &c->disable_compression);
  if (strcmp(k, "extensions") == 0) {
    if (is_null(v)) return 0;
    if (v->type != YAML_SEQUENCE_NODE)
      return fail_at(p, v, "extensions: expected a list, found %s",
                     node_type_name(v));
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
      yaml_node_t *e = yaml_document_get_node(p->doc, *it);
      if (!e || e->type != YAML_MAPPING_NODE)
        return fail_at(p, e ? e : v, "extensions: expected a mapping");
      _cleanup_free_ char *name = NULL;
      yaml_node_t *ext = NULL;
      for (yaml_node_pair_t *pr = e->data.mapping.pairs.start;
           pr < e->data.mapping.pairs.top; pr++) {
        yaml_node_t *kk = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *vv = yaml_document_get_node(p->doc, pr->value);
        if (!kk || !vv || kk->type != YAML_SCALAR_NODE) continue;
        const char *key = (const char *)kk->data.scalar.value;
        if (strcmp(key, "name") == 0 && get_str(p, vv, "name", &name) < 0)
          return -1;
        if (strcmp(key, "extension") == 0) ext = vv;
      }
      if (name && ext && strcmp(name, "client.authentication.k8s.io/exec") == 0) {
        size_t budget = MAX_EXT_NODES;
        json_t *j = node_to_json(p, ext, 0, &budget);
        if (!j) return -1;
        free(c->exec_ext);
        c->exec_ext = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        if (!c->exec_ext) return rs_oom(p->err);
      }
    }
  }
  return 0;
}

/* ---- user ---- */

static void env_item_clear(char *(*nv)[2]) {
  free((*nv)[0]);
  free((*nv)[1]);
}

static int env_item_pair(struct pctx *p, const char *k, yaml_node_t *v,
                         void *ud) {
  char **nv = ud;
  if (strcmp(k, "name") == 0) return get_str(p, v, "env.name", &nv[0]);
  if (strcmp(k, "value") == 0) return get_str(p, v, "env.value", &nv[1]);
  return 0;
}

static int exec_pair(struct pctx *p, const char *k, yaml_node_t *v, void *ud) {
  struct rs_kube_exec *e = ud;
  if (strcmp(k, "command") == 0) {
    if (get_str(p, v, k, &e->command) < 0) return -1;
    /* A command with a separator is a path relative to this file. */
    if (e->command && strchr(e->command, '/') && e->command[0] != '/') {
      char *abs = rs_path_join(p->dir, e->command);
      if (!abs) return rs_oom(p->err);
      free(e->command);
      e->command = abs;
    }
    return 0;
  }
  if (strcmp(k, "args") == 0) return get_strv(p, v, k, &e->args);
  if (strcmp(k, "apiVersion") == 0) return get_str(p, v, k, &e->api_version);
  if (strcmp(k, "installHint") == 0) return get_str(p, v, k, &e->install_hint);
  if (strcmp(k, "interactiveMode") == 0)
    return get_str(p, v, k, &e->interactive_mode);
  if (strcmp(k, "provideClusterInfo") == 0)
    return get_bool(p, v, k, &e->provide_cluster_info);
  if (strcmp(k, "env") == 0) {
    if (is_null(v)) return 0;
    if (v->type != YAML_SEQUENCE_NODE)
      return fail_at(p, v, "env: expected a list, found %s", node_type_name(v));
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
      yaml_node_t *item = yaml_document_get_node(p->doc, *it);
      if (!item) return fail_at(p, v, "env: broken list");
      _cleanup_(env_item_clear) char *nv[2] = {NULL, NULL};
      if (each_pair(p, item, "env", env_item_pair, nv) < 0) return -1;
      if (!nv[0]) return fail_at(p, item, "env: an entry has no name");
      if (rs_strv_consume(&e->env, rs_strdup_printf("%s=%s", nv[0], nv[1] ? nv[1] : ""),
                          p->err) < 0)
        return -1;
    }
  }
  return 0;
}

static int auth_provider_pair(struct pctx *p, const char *k, yaml_node_t *v,
                              void *ud) {
  struct kc_user *u = ud;
  if (strcmp(k, "name") == 0) return get_str(p, v, "auth-provider.name", &u->auth_provider);
  return 0;
}

static int user_pair(struct pctx *p, const char *k, yaml_node_t *v, void *ud) {
  struct kc_user *u = ud;
  if (strcmp(k, "client-certificate") == 0) return get_path(p, v, k, &u->cert_file);
  if (strcmp(k, "client-certificate-data") == 0)
    return get_bytes(p, v, k, &u->cert_data, &u->has_cert_data);
  if (strcmp(k, "client-key") == 0) return get_path(p, v, k, &u->key_file);
  if (strcmp(k, "client-key-data") == 0)
    return get_bytes(p, v, k, &u->key_data, &u->has_key_data);
  if (strcmp(k, "token") == 0) return get_str(p, v, k, &u->token);
  if (strcmp(k, "tokenFile") == 0) return get_path(p, v, k, &u->token_file);
  if (strcmp(k, "username") == 0) return get_str(p, v, k, &u->username);
  if (strcmp(k, "password") == 0) return get_str(p, v, k, &u->password);
  if (strcmp(k, "as") == 0) return get_str(p, v, k, &u->as);
  if (strcmp(k, "as-uid") == 0) return get_str(p, v, k, &u->as_uid);
  if (strcmp(k, "as-groups") == 0) return get_strv(p, v, k, &u->as_groups);
  if (strcmp(k, "auth-provider") == 0) {
    if (is_null(v)) return 0;
    if (each_pair(p, v, k, auth_provider_pair, u) < 0) return -1;
    if (!u->auth_provider && !(u->auth_provider = strdup(""))) return rs_oom(p->err);
    return 0;
  }
  if (strcmp(k, "exec") == 0) {
    if (is_null(v)) return 0;
    rs_kube_exec_free(u->exec);
    u->exec = calloc(1, sizeof *u->exec);
    if (!u->exec) return rs_oom(p->err);
    u->exec->args = rs_strv_new();
    u->exec->env = rs_strv_new();
    u->exec->origin = strdup(p->path);
    if (!u->exec->args || !u->exec->env || !u->exec->origin) return rs_oom(p->err);
    return each_pair(p, v, k, exec_pair, u->exec);
  }
  return 0;
}

static int context_pair(struct pctx *p, const char *k, yaml_node_t *v,
                        void *ud) {
  struct kc_context *c = ud;
  if (strcmp(k, "cluster") == 0) return get_str(p, v, k, &c->cluster);
  if (strcmp(k, "user") == 0) return get_str(p, v, k, &c->user);
  if (strcmp(k, "namespace") == 0) return get_str(p, v, k, &c->ns);
  return 0;
}

static void cluster_clear(struct kc_cluster *c) {
  free(c->name);
  free(c->server);
  free(c->tls_server_name);
  free(c->ca_file);
  free(c->ca_data.data);
  free(c->proxy_url);
  free(c->exec_ext);
}

static void user_clear(struct kc_user *u) {
  free(u->name);
  free(u->cert_file);
  free(u->cert_data.data);
  free(u->key_file);
  free(u->key_data.data);
  free(u->token);
  free(u->token_file);
  free(u->username);
  free(u->password);
  free(u->as);
  free(u->as_uid);
  rs_strv_free(u->as_groups);
  free(u->auth_provider);
  rs_kube_exec_free(u->exec);
}

static void context_clear(struct kc_context *c) {
  free(c->name);
  free(c->cluster);
  free(c->user);
  free(c->ns);
}

/* A named list: clusters, users or contexts. */
enum list_kind { L_CLUSTERS, L_USERS, L_CONTEXTS };

struct named_item {
  struct pctx *p;
  enum list_kind kind;
  char *name;
  yaml_node_t *body;
  const char *body_key;
};

static int named_pair(struct pctx *p, const char *k, yaml_node_t *v, void *ud) {
  struct named_item *ni = ud;
  if (strcmp(k, "name") == 0) return get_str(p, v, "name", &ni->name);
  if (strcmp(k, ni->body_key) == 0) ni->body = v;
  return 0;
}

static int parse_list(struct pctx *p, yaml_node_t *v, enum list_kind kind,
                      struct rs_kcfg_file *f) {
  static const char *const body_keys[] = {"cluster", "user", "context"};
  static const char *const list_names[] = {"clusters", "users", "contexts"};
  if (is_null(v)) return 0;
  if (v->type != YAML_SEQUENCE_NODE)
    return fail_at(p, v, "%s: expected a list, found %s", list_names[kind],
                   node_type_name(v));
  for (yaml_node_item_t *it = v->data.sequence.items.start;
       it < v->data.sequence.items.top; it++) {
    yaml_node_t *item = yaml_document_get_node(p->doc, *it);
    if (!item) return fail_at(p, v, "%s: broken list", list_names[kind]);
    struct named_item ni = {p, kind, NULL, NULL, body_keys[kind]};
    if (each_pair(p, item, list_names[kind], named_pair, &ni) < 0) {
      free(ni.name);
      return -1;
    }
    _cleanup_free_ char *name = ni.name ? ni.name : strdup("");
    if (!name) return rs_oom(p->err);
    int line = (int)item->start_mark.line + 1, col = (int)item->start_mark.column + 1;
    int r = 0;
    /* Within one file a later entry of the same name replaces an earlier. */
    if (kind == L_CLUSTERS) {
      struct kc_cluster c = {.line = line, .col = col};
      if (ni.body) r = each_pair(p, ni.body, "cluster", cluster_pair, &c);
      size_t i = 0;
      while (i < f->n_clusters && strcmp(f->clusters[i].name, name) != 0) i++;
      if (r == 0 && i == f->n_clusters) {
        struct kc_cluster *n = realloc(f->clusters, (i + 1) * sizeof *n);
        if (!n) r = rs_oom(p->err); else { f->clusters = n; f->n_clusters++; }
      } else if (r == 0) {
        cluster_clear(&f->clusters[i]);
      }
      if (r < 0) { cluster_clear(&c); return -1; }
      c.name = TAKE_PTR(name);
      f->clusters[i] = c;
    } else if (kind == L_USERS) {
      struct kc_user u = {.line = line, .col = col};
      if (ni.body) r = each_pair(p, ni.body, "user", user_pair, &u);
      size_t i = 0;
      while (i < f->n_users && strcmp(f->users[i].name, name) != 0) i++;
      if (r == 0 && i == f->n_users) {
        struct kc_user *n = realloc(f->users, (i + 1) * sizeof *n);
        if (!n) r = rs_oom(p->err); else { f->users = n; f->n_users++; }
      } else if (r == 0) {
        user_clear(&f->users[i]);
      }
      if (r < 0) { user_clear(&u); return -1; }
      u.name = TAKE_PTR(name);
      f->users[i] = u;
    } else {
      struct kc_context c = {.line = line, .col = col};
      if (ni.body) r = each_pair(p, ni.body, "context", context_pair, &c);
      size_t i = 0;
      while (i < f->n_contexts && strcmp(f->contexts[i].name, name) != 0) i++;
      if (r == 0 && i == f->n_contexts) {
        struct kc_context *n = realloc(f->contexts, (i + 1) * sizeof *n);
        if (!n) r = rs_oom(p->err); else { f->contexts = n; f->n_contexts++; }
      } else if (r == 0) {
        context_clear(&f->contexts[i]);
      }
      if (r < 0) { context_clear(&c); return -1; }
      c.name = TAKE_PTR(name);
      f->contexts[i] = c;
    }
  }
  return 0;
}

static int top_pair(struct pctx *p, const char *k, yaml_node_t *v, void *ud) {
  struct rs_kcfg_file *f = ud;
  if (strcmp(k, "current-context") == 0)
    return get_str(p, v, k, &f->current_context);
  if (strcmp(k, "clusters") == 0) return parse_list(p, v, L_CLUSTERS, f);
  if (strcmp(k, "users") == 0) return parse_list(p, v, L_USERS, f);
  if (strcmp(k, "contexts") == 0) return parse_list(p, v, L_CONTEXTS, f);
  return 0;
}

void rs_kcfg_file_free(rs_kcfg_file_t *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_clusters; i++) cluster_clear(&f->clusters[i]);
  for (size_t i = 0; i < f->n_users; i++) user_clear(&f->users[i]);
  for (size_t i = 0; i < f->n_contexts; i++) context_clear(&f->contexts[i]);
  free(f->clusters);
  free(f->users);
  free(f->contexts);
  free(f->current_context);
  free(f->path);
  free(f->dir);
  free(f);
}

RS_DEFINE_CLEANUP(rs_kcfg_file_t, rs_kcfg_file_free)
RS_DEFINE_CLEANUP(yaml_document_t, yaml_document_delete)
RS_DEFINE_CLEANUP(yaml_parser_t, yaml_parser_delete)

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

/* The first YAML document of data; the error names path:line:column. */
static int load_document(const char *data, size_t len, const char *path,
                         yaml_document_t *ret, rs_err_t *err) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return rs_oom(err);
  _cleanup_(yaml_parser_deletep) yaml_parser_t *pp = &parser;
  yaml_parser_set_input_string(pp, (const unsigned char *)data, len);
  if (!yaml_parser_load(pp, ret))
    return rs_fail(err, RS_E_CONFIG, 0, "%s:%zu:%zu: invalid YAML: %s%s%s", path,
                   pp->problem_mark.line + 1, pp->problem_mark.column + 1,
                   pp->problem ? pp->problem : "parse error", pp->context ? " " : "",
                   pp->context ? pp->context : "");
  return 0;
}

int rs_kcfg_parse(const char *data, size_t len, const char *path,
                  rs_kcfg_file_t **ret, rs_err_t *err) {
  if (len > RS_KUBECONFIG_MAX)
    return rs_fail(err, RS_E_LIMIT, 0, "%s: %zu bytes, more than the limit of %zu",
                   path, len, RS_KUBECONFIG_MAX);
  _cleanup_(rs_kcfg_file_freep) rs_kcfg_file_t *f = calloc(1, sizeof *f);
  if (!f) return rs_oom(err);
  f->path = strdup(path);
  f->dir = dir_of(path);
  if (!f->path || !f->dir) return rs_oom(err);

  yaml_document_t doc;
  if (load_document(data, len, path, &doc, err) < 0) return -1;
  _cleanup_(yaml_document_deletep) __attribute__((unused)) yaml_document_t *docp = &doc;
  struct pctx p = {&doc, f->path, f->dir, err};
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root && each_pair(&p, root, "kubeconfig", top_pair, f) < 0) return -1;
  *ret = TAKE_PTR(f);
  return 0;
}

/* ---- helpers shared with kubeconfig.c ---- */

void rs_kube_exec_free(struct rs_kube_exec *e) {
  if (!e) return;
  free(e->command);
  rs_strv_free(e->args);
  rs_strv_free(e->env);
  free(e->api_version);
  free(e->install_hint);
  free(e->interactive_mode);
  free(e->cluster_config);
  free(e->origin);
  free(e);
}

RS_DEFINE_CLEANUP(struct rs_kube_exec, rs_kube_exec_free)

struct rs_kube_exec *rs_kube_exec_dup(const struct rs_kube_exec *e) {
  if (!e) return NULL;
  _cleanup_(rs_kube_exec_freep) struct rs_kube_exec *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->provide_cluster_info = e->provide_cluster_info;
  if (rs_strdup0_to(&n->command, e->command) < 0 || !(n->args = rs_strv_dup(e->args)) ||
      !(n->env = rs_strv_dup(e->env)) || rs_strdup0_to(&n->api_version, e->api_version) < 0 ||
      rs_strdup0_to(&n->install_hint, e->install_hint) < 0 ||
      rs_strdup0_to(&n->interactive_mode, e->interactive_mode) < 0 ||
      rs_strdup0_to(&n->cluster_config, e->cluster_config) < 0 ||
      rs_strdup0_to(&n->origin, e->origin) < 0)
    return NULL;
  return TAKE_PTR(n);
}

/* dir + "/" + rel, then "." and ".." segments folded as filepath.Join. */
char *rs_path_join(const char *dir, const char *rel) {
  _cleanup_free_ char *joined = rel[0] == '/' ? strdup(rel)
                                              : rs_strdup_printf("%s/%s", dir, rel);
  if (!joined) return NULL;
  bool abs = joined[0] == '/';
  size_t n = strlen(joined);
  _cleanup_free_ char **segs = calloc(n / 2 + 2, sizeof(char *));
  if (!segs) return NULL;
  size_t ns = 0;
  for (char *save = NULL, *s = strtok_r(joined, "/", &save); s;
       s = strtok_r(NULL, "/", &save)) {
    if (strcmp(s, ".") == 0) continue;
    if (strcmp(s, "..") == 0) {
      if (ns > 0 && strcmp(segs[ns - 1], "..") != 0) { ns--; continue; }
      if (abs) continue;
    }
    segs[ns++] = s;
  }
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  if (abs && rs_buf_puts(&b, "/", NULL) < 0) return NULL;
  for (size_t i = 0; i < ns; i++)
    if ((i && rs_buf_puts(&b, "/", NULL) < 0) || rs_buf_puts(&b, segs[i], NULL) < 0)
      return NULL;
  if (b.len == 0 && rs_buf_puts(&b, ".", NULL) < 0) return NULL;
  return rs_buf_steal(&b, NULL);
}

/* ---- base64 ---- */

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static int b64_illegal(rs_err_t *err) {
  return rs_fail(err, RS_E_CONFIG, 0, "illegal base64 data");
}

int rs_base64_decode(const char *s, size_t len, struct rs_bytes *ret,
                     rs_err_t *err) {
  /* Go's decoder skips CR and LF; everything else must be the alphabet,
   * with '=' padding to a multiple of four. */
  _cleanup_free_ unsigned char *out = malloc(len / 4 * 3 + 4);
  if (!out) return rs_oom(err);
  size_t o = 0, q = 0, pad = 0;
  unsigned acc = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      if (q < 2) return b64_illegal(err);
      pad++;
      q++;
      if (q < 4) continue;
      if (pad == 2) out[o++] = (unsigned char)(acc >> 4);
      else { out[o++] = (unsigned char)(acc >> 10); out[o++] = (unsigned char)(acc >> 2); }
      q = 0;
      /* only CR/LF may follow padding */
      for (size_t j = i + 1; j < len; j++)
        if (s[j] != '\r' && s[j] != '\n') return b64_illegal(err);
      break;
    }
    if (pad) return b64_illegal(err);
    int v = b64val(c);
    if (v < 0) return b64_illegal(err);
    acc = (acc << 6) | (unsigned)v;
    if (++q == 4) {
      out[o++] = (unsigned char)(acc >> 16);
      out[o++] = (unsigned char)(acc >> 8);
      out[o++] = (unsigned char)acc;
      acc = 0;
      q = 0;
    }
  }
  if (q != 0) return b64_illegal(err);
  ret->data = TAKE_PTR(out);
  ret->len = o;
  return 0;
}

char *rs_base64_encode(const unsigned char *d, size_t len) {
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc((len + 2) / 3 * 4 + 1);
  if (!out) return NULL;
  size_t o = 0, i = 0;
  for (; i + 2 < len; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
    out[o++] = tbl[v >> 18];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = tbl[(v >> 6) & 63];
    out[o++] = tbl[v & 63];
  }
  if (i < len) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < len ? (unsigned)d[i + 1] << 8 : 0);
    out[o++] = tbl[v >> 18];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = '\0';
  return out;
}
