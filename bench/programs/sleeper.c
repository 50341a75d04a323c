/* Bench program, the native twin of sleeper.py: record the start, then sleep until a signal ends it.

   Usage: sleeper STARTS_FILE NAME. Appends one line `NAME PID TIME` (TIME in seconds since the epoch,
   like Python's time.time()) with a single write on an O_APPEND descriptor. It starts in about a
   millisecond, so "time until 100 programs run" measures the manager rather than 100 interpreters
   starting on two cores. */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec now;
    char line[256];
    int fd, n;

    if (argc != 3) {
        fprintf(stderr, "usage: %s STARTS_FILE NAME\n", argv[0]);
        return 2;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    n = snprintf(line, sizeof line, "%s %d %lld.%06ld\n", argv[2], (int)getpid(), (long long)now.tv_sec,
                 now.tv_nsec / 1000);
    fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    for (;;)
        pause();
}
