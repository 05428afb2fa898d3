/* Preflight, what the switch does: the images it carries from Docker, the
 * services it stops and starts, and its steps in order. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "plan_int.h"

static int split_lines(const char *text, char ***v, rs_err_t *err) {
  for (const char *s = text; s && *s;) {
    size_t n = strcspn(s, "\n");
    size_t m = n;
    while (m && isspace((unsigned char)s[m - 1])) m--;
    if (m) {
      _cleanup_free_ char *line = strndup(s, m);
      if (!line) return rs_oom(err);
      if (!rs_strv_contains(*v, line) && rs_strv_push(v, line, err) < 0) return -1;
    }
    s += n;
    if (*s) s++;
  }
  return 0;
}

int plan_images(struct ctx *c, bool no_images) {
  struct rs_plan *p = c->p;
  if (!(p->images = rs_strv_new())) return rs_oom(c->err);
  if (no_images || !plan_uses_docker(p->from) || plan_uses_docker(p->to)) return 0;
  if (p->to == RS_RT_CRIO && !rs_host_has_cmd(c->h, "podman"))
    return WARN(c, "images are not carried over to cri-o (podman is not installed); "
                   "the node pulls them again");
  const char *argv[] = {"docker", "ps", "-a", "--filter", "label=io.kubernetes.pod.name",
                        "--format", "{{.Image}}", NULL};
  _cleanup_free_ char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_host_run_ok(c->h, argv, 120000, &out, &e) < 0) {
    BLOCK(c, "cannot list docker's containers: %s", e.msg);
    rs_err_clear(&e);
    return 0;
  }
  _cleanup_strv_ char **refs = rs_strv_new();
  if (!refs || split_lines(out, &refs, c->err) < 0) return -1;
  if (p->sandbox_image && !rs_strv_contains(refs, p->sandbox_image) &&
      rs_strv_push(&refs, p->sandbox_image, c->err) < 0)
    return -1;
  for (size_t i = 0; refs[i]; i++) {
    const char *r = refs[i];
    size_t n = strlen(r);
    bool id = rs_startswith(r, "sha256:") || (n == 12 && strspn(r, "0123456789abcdef") == 12);
    if (id) {
      /* cri-dockerd starts containers by image id: carry the id's names */
      const char *ta[] = {"docker", "image", "inspect", "--format",
                          "{{range .RepoTags}}{{println .}}{{end}}", r, NULL};
      _cleanup_free_ char *tags = NULL;
      _cleanup_strv_ char **names = rs_strv_new();
      if (!names) return rs_oom(c->err);
      if (rs_host_run_ok(c->h, ta, 60000, &tags, &e) < 0) rs_err_clear(&e);
      else if (split_lines(tags, &names, c->err) < 0) return -1;
      if (!names[0]) WARN(c, "image %s has no name in docker and is not carried over", r);
      for (size_t k = 0; names[k]; k++)
        if (!rs_strv_contains(refs, names[k]) && rs_strv_push(&refs, names[k], c->err) < 0) return -1;
      continue;
    }
    const char *ia[] = {"docker", "image", "inspect", "--format", "{{.Size}}", r, NULL};
    _cleanup_free_ char *sz = NULL;
    long size;
    if (rs_host_run_ok(c->h, ia, 60000, &sz, &e) < 0) {
      rs_err_clear(&e);
      continue; /* docker no longer has it (e.g. the sandbox image) */
    }
    sz[strcspn(sz, "\n")] = '\0';
    if (rs_parse_long(sz, 0, __LONG_MAX__, &size) < 0) continue;
    p->images_bytes += (unsigned long long)size;
    if (rs_strv_push(&p->images, r, c->err) < 0) return -1;
  }
  if (!p->images[0]) return 0;
  unsigned long long fs = 0, fs_dev = 0, rt = 0, rt_dev = 0;
  const char *rt_dir = rs_rt_info(p->to)->image_dir;
  if (rs_host_free_bytes(c->h, RS_HELPER_STATE_DIR, &fs, &fs_dev, c->err) < 0 ||
      rs_host_free_bytes(c->h, rt_dir, &rt, &rt_dev, c->err) < 0)
    return -1;
  unsigned long long need = p->images_bytes + p->images_bytes / 10 + (64ull << 20);
  p->free_bytes = fs < rt ? fs : rt;
  if (fs_dev == rt_dev) {
    if (fs < 2 * need)
      return BLOCK(c, "not enough disk for the image carry-over: %llu MiB needed, %llu MiB free",
                   (2 * need) >> 20, fs >> 20);
  } else if (fs < need || rt < need) {
    return BLOCK(c, "not enough disk for the image carry-over: %llu MiB needed on %s and on %s",
                 need >> 20, RS_HELPER_STATE_DIR, rt_dir);
  }
  return 0;
}

int plan_units_and_steps(struct ctx *c, bool carry) {
  struct rs_plan *p = c->p;
  if (plan_add_unit(c, "kubelet.service", RS_ROLE_KUBELET, true) < 0) return -1;
  /* Docker Engine stays when it only gets a CRI shim (docker -> cri-dockerd) */
  bool keep_docker = plan_uses_docker(p->to);
  const struct rs_rt_info *from = rs_rt_info(p->from);
  for (size_t i = 0; !(keep_docker && from->docker_engine) && i < RS_ARRAY_SIZE(from->stop) &&
                     from->stop[i]; i++)
    if (plan_add_unit(c, from->stop[i], RS_ROLE_SOURCE, false) < 0) return -1;
  if (p->from == RS_RT_CONTAINERD && p->to == RS_RT_CRIO)
    WARN(c, "containerd keeps running (Docker may need it); the kubelet no longer uses it");
  /* The pods of a CRI runtime outlive the switch unless removed: crio
   * leaves its containers running when it stops (and on cgroup v1 their
   * conmon processes stay in crio.service: systemd then waits out its stop
   * timeout, kills them, and the unit ends failed); containerd keeps
   * running for Docker, its CRI pods with it */
  bool cri_from = p->from == RS_RT_CRIO || p->from == RS_RT_CONTAINERD;
  bool cri_pods = cri_from && rs_host_has_cmd(c->h, "crictl");
  if (p->from == RS_RT_CRIO && !cri_pods)
    WARN(c, "crictl is not installed: CRI-O's pods keep running after crio stops, and stopping "
            "crio.service may wait for its stop timeout");
  else if (p->from == RS_RT_CONTAINERD && !cri_pods)
    WARN(c, "crictl is not installed: containerd's pods keep running beside the new runtime's "
            "(remove them with ctr -n k8s.io)");
  const char *steps[16];
  size_t n = 0;
  bool rt_files = false, dropins = false;
  for (size_t i = 0; i < p->nfiles; i++) {
    if (p->files[i].group == RS_FG_RUNTIME) rt_files = true;
    /* a unit's drop-in: systemd reads it again before the restart */
    if (p->files[i].group == RS_FG_RUNTIME && rs_startswith(p->files[i].path, "/etc/systemd/system/")) dropins = true;
  }
  if (carry) steps[n++] = RS_STEP_IMAGES_SAVE;
  steps[n++] = RS_STEP_STOP_KUBELET;
  if ((plan_uses_docker(p->from) && !keep_docker) || cri_pods) steps[n++] = RS_STEP_REMOVE_PODS;
  for (size_t i = 0; i < p->nunits; i++)
    if (p->units[i].role == RS_ROLE_SOURCE) {
      steps[n++] = RS_STEP_STOP_SOURCE;
      break;
    }
  if (rt_files) {
    if (rs_rt_info(p->to)->config != RS_RT_CFG_NONE) steps[n++] = RS_STEP_VALIDATE;
    steps[n++] = RS_STEP_INSTALL_RUNTIME;
    if (dropins) steps[n++] = RS_STEP_DAEMON_RELOAD;
  }
  steps[n++] = RS_STEP_RESTART_RUNTIME;
  steps[n++] = RS_STEP_WAIT_RUNTIME;
  if (carry) steps[n++] = RS_STEP_IMAGES_IMPORT;
  steps[n++] = RS_STEP_INSTALL_KUBELET;
  steps[n++] = RS_STEP_START_KUBELET;
  steps[n++] = RS_STEP_WAIT_KUBELET;
  /* the old runtime stays enabled until the kubelet is healthy on the new
   * one: a reboot before that boots the old runtime again */
  for (size_t i = 0; i < p->nunits; i++)
    if (p->units[i].role == RS_ROLE_SOURCE) {
      steps[n++] = RS_STEP_DISABLE_SOURCE;
      break;
    }
  for (size_t i = 0; i < n; i++)
    if (rs_strv_push(&p->steps, steps[i], c->err) < 0) return -1;
  return 0;
}
