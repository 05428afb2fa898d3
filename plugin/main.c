#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("kubectl-runtime_switch %s\n", RS_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: kubectl runtime-switch version\n");
  return 2;
}
