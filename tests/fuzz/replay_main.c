/* Replays every file of the given corpus directories (or files) through a
 * fuzz target's LLVMFuzzerTestOneInput, so `make test` re-checks every
 * crash input and seed without a fuzzing engine. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rbe");
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) { free(buf); buf = NULL; break; }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) return -1;
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  long count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) < 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (replay_file(argv[i]) < 0) return 1;
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) return 1;
    char **names = NULL;
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      char **nv = realloc(names, (nn + 1) * sizeof *names);
      if (!nv) return 1;
      names = nv;
      names[nn] = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
      if (!names[nn]) return 1;
      snprintf(names[nn], strlen(argv[i]) + strlen(de->d_name) + 2, "%s/%s", argv[i], de->d_name);
      nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp);
    for (size_t k = 0; k < nn; k++) {
      if (replay_file(names[k]) < 0) return 1;
      count++;
      free(names[k]);
    }
    free(names);
  }
  if (count == 0) {
    fprintf(stderr, "replay: no inputs found in the corpus: a fuzz target must ship seeds\n");
    return 1;
  }
  printf("replay %s: %ld inputs, no crash\n", argv[0], count);
  return 0;
}
