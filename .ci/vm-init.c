/* PID 1 of the kernel-matrix VM (.ci/kernel-matrix): mounts what zombies and its tests read,
 * runs /scenario with the kernel's console as its terminal, reaps every process that ends up
 * with it (as a real init does: the scenarios rely on a PID 1 that reaps at once), then prints
 * the scenario's exit status on the console and powers the VM off. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void mnt(const char *src, const char *dir, const char *type, const char *opts) {
    mkdir(dir, 0755);
    if (mount(src, dir, type, 0, opts) != 0)
        fprintf(stderr, "vm-init: mount %s on %s: %s\n", type, dir, strerror(errno));
}

int main(void) {
    mnt("proc", "/proc", "proc", NULL);
    mnt("sysfs", "/sys", "sysfs", NULL);
    mnt("devtmpfs", "/dev", "devtmpfs", NULL);
    mnt("devpts", "/dev/pts", "devpts", "ptmxmode=666,mode=620");
    mnt("mqueue", "/dev/mqueue", "mqueue", NULL);
    mnt("tmpfs", "/dev/shm", "tmpfs", "mode=1777");
    /* No tmpfs on /tmp: the initramfs is writable already, and the test binaries look for
     * the binary under the build tree's path, which may itself lie under /tmp. */
    chmod("/tmp", 01777);
    mnt("tmpfs", "/run", "tmpfs", "mode=755");

    pid_t scenario = fork();
    if (scenario == 0) {
        setsid();
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            ioctl(fd, TIOCSCTTY, 0);
            dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
        }
        execl("/bin/sh", "sh", "/scenario", (char *)NULL);
        _exit(127);
    }
    int status = 0, result = 255;
    for (;;) {
        pid_t w = waitpid(-1, &status, 0);
        if (w == scenario)
            result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (w < 0 && errno == ECHILD)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (w == scenario) {
            /* Whatever the scenario left running goes now, and is reaped by the loop. */
            kill(-1, SIGKILL);
        }
    }
    printf("\nZOMBIES-VM-RESULT %d\n", result);
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
