/* A run's state directory on the host and its append-only journal.
 *
 * Journal lines: "<unix-seconds> <event> <name>[ <reason>]\n", event one of
 *   begin/done/fail  name = a step
 *   state            name = a run state
 *   boot             name = the boot id apply or the guard started in: a
 *                    step done before the latest boot record may have been
 *                    undone by that boot (services do not survive it)
 *   force            name = "rollback": the rollback may replace files
 *                    edited since the switch (rollback --force)
 *   retry            name = a step: one of its attempts failed (reason)
 *                    and the step tries again
 * Each line is written with one write() and fsync'd; a torn last line and
 * lines that do not parse are ignored. */
#ifndef RS_HELPER_JOURNAL_H
#define RS_HELPER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "common/buf.h"
#include "common/err.h"
#include "helper/host.h"

struct rs_run {
  const struct rs_host *h;
  char *id;
  char *dir; /* the state directory, as a path on this filesystem */
  long records;
};

struct rs_jrec {
  long long time;
  char *event, *name, *reason;
};

struct rs_journal {
  struct rs_jrec *recs;
  size_t n;
  const char *state;  /* latest state, NULL if none (points into recs) */
  const char *reason; /* its reason */
  const char *last_step;
  const char *boot_id; /* latest boot record's id, NULL if none */
  size_t boot_at;      /* its index (0 if none) */
};

#define RS_JOURNAL_MAX ((size_t)4 << 20)

bool rs_run_id_ok(const char *id);
int rs_run_open(const struct rs_host *h, const char *id, bool create,
                struct rs_run *ret, rs_err_t *err);
void rs_run_close(struct rs_run *r);
char *rs_run_file(const struct rs_run *r, const char *name);

int rs_journal_append(struct rs_run *r, const char *event, const char *name,
                      const char *reason, rs_err_t *err);
int rs_journal_read(const struct rs_run *r, struct rs_journal *ret, rs_err_t *err);
/* The parser behind rs_journal_read (text need not be NUL-terminated). */
int rs_journal_parse(const char *text, size_t len, struct rs_journal *ret, rs_err_t *err);
void rs_journal_free(struct rs_journal *j);
bool rs_journal_done(const struct rs_journal *j, const char *step);
/* Steps done after the latest "state <state>" record */
bool rs_journal_done_since(const struct rs_journal *j, const char *state,
                           const char *step);
/* A "done" record of step at index from or later. */
bool rs_journal_done_after(const struct rs_journal *j, size_t from, const char *step);
/* Index of the latest record with this event (and name, if not NULL); 0
 * when there is none. */
size_t rs_journal_last(const struct rs_journal *j, const char *event, const char *name);

/* Record this boot when it differs from the journal's latest boot record,
 * or always (the guard: it runs only at boot, and a container's restart
 * may keep the kernel's boot id); *ret_new tells whether it did.  The
 * caller reads j again afterwards. */
int rs_journal_note_boot(struct rs_run *r, const struct rs_journal *j, bool always, bool *ret_new,
                         rs_err_t *err);

/* One process at a time works on a run (apply, the guard, rollback): an
 * flock on the run's lock file, released when the process dies.  Without
 * wait, a run held by another process fails with EBUSY. */
int rs_run_lock(const struct rs_run *r, bool wait, int *ret_fd, rs_err_t *err);

/* The report JSON (contract.h) for a run; *ret_exit the matching code. */
int rs_report_json(const struct rs_run *r, const struct rs_journal *j,
                   const char *from, const char *to, rs_buf_t *out,
                   int *ret_exit, rs_err_t *err);
/* final state → exit code; NULL/other → RS_HX_RUNNING */
int rs_state_exit(const char *state);

#endif
