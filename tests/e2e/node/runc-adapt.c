/*
 * runc-adapt: installed in the e2e nodes as /usr/local/sbin/runc, ahead of
 * Debian's /usr/sbin/runc in every service's PATH -- a MACHINE ADAPTATION of
 * the test harness, not product behaviour. Runtime configuration files stay
 * exactly as the packages ship them; every runtime (Docker's containerd shim,
 * containerd's CRI) still runs the real runc through this wrapper.
 *
 * The test machine's capability bounding set lacks CAP_SYS_RESOURCE, which
 * breaks two things a normal node takes for granted:
 *   1. Docker 20.10 asks runc for every capability when a container is
 *      privileged; runc then fails with "unable to apply caps: operation not
 *      permitted". (containerd only grants what it holds.)
 *   2. Pod sandboxes get oom_score_adj -998 (kubelet's PodInfraOOMAdj), and
 *      guaranteed pods -997; lowering oom_score_adj needs CAP_SYS_RESOURCE,
 *      so runc init dies ("can't get final child's PID from pipe: EOF") on
 *      both runtimes.
 * And its kernel binds the hugetlb controller to the cgroup v2 hierarchy
 * while the others are on v1, so a node has no v1 hugetlb controller:
 *   3. CRI-O 1.34 still puts the kubelet's hugepage limits into the spec
 *      (containerd drops them: tolerate_missing_hugetlb_controller), and
 *      runc fails every container ("cannot set hugetlb limit: container
 *      could not join or create cgroup").
 *
 * For "create"/"run" the wrapper rewrites the bundle's config.json (and for
 * "exec --process FILE" that process file): every capability list inside the
 * "capabilities" object keeps only capabilities in the wrapper's bounding
 * set, an "oomScoreAdj" below the wrapper's own value is raised to it, and,
 * on a cgroup v1 node without a hugetlb controller, the "hugepageLimits"
 * list is emptied. Then it executes the real runc with the very same
 * arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef REAL_RUNC
#define REAL_RUNC "/usr/sbin/runc"
#endif

/* The lowest oom_score_adj this process may set: its own current value. */
static long oom_floor(void)
{
	long v = 0;
	FILE *f = fopen("/proc/self/oom_score_adj", "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * Raise "oomScoreAdj": N to the floor where N is lower. Works in place on a
 * buffer of length *n with room for 32 more bytes; returns 1 if changed.
 */
static int clamp_oom(char *buf, size_t *n)
{
	static const char key[] = "\"oomScoreAdj\"";
	long floor = oom_floor(), v;
	char *p = buf, *num, *end, repl[32];
	int changed = 0;
	size_t rl;

	while ((p = strstr(p, key)) != NULL) {
		p += sizeof(key) - 1;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
			p++;
		num = p;
		v = strtol(num, &end, 10);
		if (end == num)
			continue;
		if (v < floor) {
			rl = (size_t)snprintf(repl, sizeof(repl), "%ld", floor);
			memmove(num + rl, end, *n - (size_t)(end - buf) + 1);
			memcpy(num, repl, rl);
			*n = *n - (size_t)(end - num) + rl;
			changed = 1;
			p = num + rl;
		} else {
			p = end;
		}
	}
	return changed;
}

/* A cgroup v1 (or hybrid) node without a v1 hugetlb controller. */
static int hugetlb_missing(void)
{
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0 &&
	       access("/sys/fs/cgroup/hugetlb", F_OK) != 0;
}

/*
 * Empty the list after "hugepageLimits" in place (buffer of length *n);
 * returns 1 if changed. Its elements are objects of a page size and a
 * number: no brackets inside.
 */
static int drop_hugepage_limits(char *buf, size_t *n)
{
	static const char key[] = "\"hugepageLimits\"";
	char *p = buf, *open, *close;
	int changed = 0;

	while ((p = strstr(p, key)) != NULL) {
		p += sizeof(key) - 1;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
			p++;
		if (*p != '[')
			continue;
		open = p;
		close = strchr(open, ']');
		if (!close)
			break;
		if (close > open + 1) {
			memmove(open + 1, close, *n - (size_t)(close - buf) + 1);
			*n -= (size_t)(close - open - 1);
			changed = 1;
		}
		p = open + 1;
	}
	return changed;
}

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

/* Is the capability named by the len bytes at name allowed? Unknown names
 * are kept: runc will judge them. */
static int cap_allowed(const char *name, size_t len)
{
	size_t i;
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (strlen(cap_names[i]) == len && memcmp(cap_names[i], name, len) == 0)
			return prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) == 1;
	}
	return 1;
}

/* Length of the JSON string starting at s[0] == '"', quotes included, or 0. */
static size_t json_string_len(const char *s, size_t n)
{
	size_t i;
	for (i = 1; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;
	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * Copy src to out, filtering the string arrays inside the object that
 * follows the key "capabilities". Returns the output length.
 */
static size_t filter_caps(const char *src, size_t n, char *out, int *changed)
{
	static const char key[] = "\"capabilities\"";
	size_t i = 0, o = 0;
	int depth = -1; /* brace depth inside the capabilities object, -1: outside */

	while (i < n) {
		char c = src[i];
		if (c == '"') {
			size_t l = json_string_len(src + i, n - i);
			if (l == 0)
				l = n - i;
			if (depth < 0 && l == sizeof(key) - 1 && memcmp(src + i, key, l) == 0)
				depth = 0; /* the object starts at the next '{' */
			memcpy(out + o, src + i, l);
			o += l;
			i += l;
			continue;
		}
		if (depth >= 0 && c == '{') {
			depth++;
		} else if (depth > 0 && c == '}') {
			if (--depth == 0)
				depth = -1;
		} else if (depth > 0 && c == '[') {
			/* A list of capability names: keep the allowed ones. */
			int first = 1;
			out[o++] = '[';
			i++;
			while (i < n && src[i] != ']') {
				if (src[i] == '"') {
					size_t l = json_string_len(src + i, n - i);
					if (l == 0)
						l = n - i;
					if (l >= 2 && cap_allowed(src + i + 1, l - 2)) {
						if (!first)
							out[o++] = ',';
						memcpy(out + o, src + i, l);
						o += l;
						first = 0;
					} else {
						*changed = 1;
					}
					i += l;
				} else {
					i++; /* commas and white space are rewritten */
				}
			}
			if (i < n)
				out[o++] = src[i++];
			continue;
		}
		out[o++] = c;
		i++;
	}
	return o;
}

static int rewrite(const char *path)
{
	size_t n, o;
	int changed = 0, fd;
	char *src, *out, tmp[4096];
	struct stat st;

	src = read_file(path, &n);
	if (!src) {
		fprintf(stderr, "runc-adapt: read %s: %s\n", path, strerror(errno));
		return -1;
	}
	out = malloc(n + 64);
	if (!out) {
		free(src);
		return -1;
	}
	o = filter_caps(src, n, out, &changed);
	free(src);
	out[o] = '\0';
	if (clamp_oom(out, &o))
		changed = 1;
	if (hugetlb_missing() && drop_hugepage_limits(out, &o))
		changed = 1;
	if (!changed) {
		free(out);
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.runc-adapt", path) >= (int)sizeof(tmp)) {
		free(out);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out, o) != (ssize_t)o) {
		fprintf(stderr, "runc-adapt: write %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(out);
		return -1;
	}
	free(out);
	if (stat(path, &st) == 0)
		fchmod(fd, st.st_mode & 07777);
	close(fd);
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "runc-adapt: rename %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* runc global options that take a value (as separate argument). */
static int global_opt_with_value(const char *a)
{
	static const char *const opts[] = {"--root", "--log", "--log-format", "--criu", "--rootless", NULL};
	int i;
	if (strchr(a, '='))
		return 0;
	for (i = 0; opts[i]; i++)
		if (strcmp(a, opts[i]) == 0)
			return 1;
	return 0;
}

/* Value of option long/short in argv[from..], or NULL. */
static const char *opt_value(int argc, char **argv, int from, const char *lng, const char *shrt)
{
	size_t ll = strlen(lng);
	int i;
	for (i = from; i < argc; i++) {
		if ((strcmp(argv[i], lng) == 0 || strcmp(argv[i], shrt) == 0) && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], lng, ll) == 0 && argv[i][ll] == '=')
			return argv[i] + ll + 1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int i;
	const char *sub = NULL;
	char path[4096];

	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			sub = argv[i];
			break;
		}
		if (global_opt_with_value(argv[i]))
			i++;
	}
	if (sub && (strcmp(sub, "create") == 0 || strcmp(sub, "run") == 0)) {
		const char *bundle = opt_value(argc, argv, i + 1, "--bundle", "-b");
		snprintf(path, sizeof(path), "%s/config.json", bundle ? bundle : ".");
		if (rewrite(path) < 0)
			return 1;
	} else if (sub && strcmp(sub, "exec") == 0) {
		const char *proc = opt_value(argc, argv, i + 1, "--process", "-p");
		if (proc && rewrite(proc) < 0)
			return 1;
	}
	argv[0] = (char *)REAL_RUNC;
	execv(REAL_RUNC, argv);
	fprintf(stderr, "runc-adapt: exec %s: %s\n", REAL_RUNC, strerror(errno));
	return 127;
}
