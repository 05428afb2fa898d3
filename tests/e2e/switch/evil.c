/* Test only: the bytes an attacker puts in place of the helper.  Run as
 * the helper would be (privileged, hostPID), it leaves a marker on the
 * host through PID 1's root and says so: the trust case proves it never
 * ran. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int fd = open("/proc/1/root/var/lib/rsw-e2e-evil-marker", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    (void)!write(fd, "ran\n", 4);
    close(fd);
  }
  puts("the attacker's bytes ran as root");
  return 0;
}
