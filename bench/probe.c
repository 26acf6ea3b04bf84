/* Start-up probe for the benchmark: starts a server command and measures the time from the
 * process start (just before fork) to the first complete HTTP answer with status 200 to
 * `GET PATH` on 127.0.0.1:PORT, polling in a tight loop. Then stops the server (SIGTERM,
 * SIGKILL after 5 s) and prints the milliseconds on stdout.
 *
 * Usage: probe PORT PATH LOGFILE -- COMMAND [ARG...]
 * Exit status: 0 measured; 1 the server exited, did not answer 200 within 10 s, or could
 * not be started; 2 usage. The server's stdout and stderr go to LOGFILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#define PROBE_DEADLINE_MS 10000.0

/* Milliseconds on the monotonic clock. */
static double
probe_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One attempt: connects, sends the request and reads the status line. Returns the HTTP status,
 * 0 when nothing listens yet or the connection closed early, -1 on another error. */
static int
probe_once(int port, const char *path)
{
    struct sockaddr_in sin;
    struct timeval tv = {1, 0};
    char req[512], buf[256];
    size_t got = 0;
    int fd, n, status = -1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        status = errno == ECONNREFUSED ? 0 : -1;
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
        status = 0;
        goto out;
    }
    while (got < 12) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (r <= 0) {
            status = 0;
            goto out;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    status = strncmp(buf, "HTTP/1.", 7) == 0 ? atoi(buf + 9) : -1;
out:
    close(fd);
    return status;
}

/* Stops the child: SIGTERM, then SIGKILL if it is still there after 5 s. */
static void
probe_stop(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

int
main(int argc, char **argv)
{
    double t0, ms = -1;
    int port, logfd, st, status = 0, rc = 1;
    pid_t pid;

    if (argc < 6 || strcmp(argv[4], "--") != 0 || (port = atoi(argv[1])) <= 0 || port > 65535) {
        fprintf(stderr, "usage: %s PORT PATH LOGFILE -- COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    logfd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        fprintf(stderr, "probe: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    t0 = probe_now_ms();
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "probe: fork: %s\n", strerror(errno));
        close(logfd);
        return 1;
    }
    if (pid == 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
        execvp(argv[5], argv + 5);
        _exit(127);
    }
    close(logfd);
    while (probe_now_ms() - t0 < PROBE_DEADLINE_MS) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "probe: the server exited before answering (see %s)\n", argv[3]);
            return 1;
        }
        status = probe_once(port, argv[2]);
        if (status == 200) {
            ms = probe_now_ms() - t0;
            break;
        }
        if (status != 0) {
            fprintf(stderr, "probe: GET %s answered %d\n", argv[2], status);
            break;
        }
        usleep(200);
    }
    probe_stop(pid);
    if (ms >= 0) {
        printf("%.2f\n", ms);
        rc = 0;
    } else if (status == 0) {
        fprintf(stderr, "probe: no answer within %.0f ms\n", PROBE_DEADLINE_MS);
    }
    return rc;
}
