/* Image carry-over: `docker save` into the run directory while Docker still
 * runs, then an import into the new runtime once its CRI answers.  A file
 * (not a pipe) because no shell joins the two commands; preflight checked
 * the space for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/run.h"

#define IMAGES_TIMEOUT_MS (45 * 60 * 1000LL)

char *rs_images_tar(const struct rs_run *run) {
  return rs_strdup_printf("%s%s/%s/images.tar", run->h->root, RS_HELPER_STATE_DIR, run->id);
}

int rs_images_save(struct rs_run *run, const struct rs_plan *plan, rs_err_t *err) {
  size_t n = rs_strv_len(plan->images);
  if (!n) return 0;
  _cleanup_free_ char *tar = rs_images_tar(run);
  const char **argv = calloc(n + 5, sizeof *argv);
  if (!tar || !argv) {
    free(argv);
    return rs_oom(err);
  }
  argv[0] = "docker";
  argv[1] = "save";
  argv[2] = "-o";
  argv[3] = tar;
  for (size_t i = 0; i < n; i++) argv[4 + i] = plan->images[i];
  int r = rs_host_run_ok(run->h, argv, IMAGES_TIMEOUT_MS, NULL, err);
  free(argv);
  return r;
}

int rs_images_import(struct rs_run *run, const struct rs_plan *plan, rs_err_t *err) {
  if (!rs_strv_len(plan->images)) return 0;
  _cleanup_free_ char *tar = rs_images_tar(run);
  _cleanup_free_ char *sock = rs_strdup_printf("%s%s", run->h->root, plan->socket);
  if (!tar || !sock) return rs_oom(err);
  if (access(tar, F_OK) < 0) return 0; /* imported before a restart of this step */
  int r;
  if (plan->to == RS_RT_CRIO) {
    const char *argv[] = {"podman", "load", "-i", tar, NULL};
    r = rs_host_run_ok(run->h, argv, IMAGES_TIMEOUT_MS, NULL, err);
  } else {
    const char *argv[] = {"ctr", "--address", sock, "-n", "k8s.io", "images", "import", tar, NULL};
    r = rs_host_run_ok(run->h, argv, IMAGES_TIMEOUT_MS, NULL, err);
  }
  if (r == 0 && unlink(tar) < 0 && errno != ENOENT)
    return rs_fail_errno(err, errno, "remove %s", tar);
  return r;
}
