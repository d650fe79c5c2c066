/* The floor of a last-byte release pass: N keep-alive connections to the target, each phase
 * every request written but its final byte, a 2 ms settle, then the N final bytes written by a
 * bare loop of write(2) calls, at SCHED_FIFO 1 when allowed (like soakmon's pass). Prints one
 * line per phase: the pass in nanoseconds (clock before the first write, after the last).
 *
 * usage: spread_floor PORT PHASES REQUESTS_FILE
 * REQUESTS_FILE: for each connection, a decimal length, a newline, then that many bytes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Read one response (head, then Content-Length bytes of body). */
static void read_response(int fd) {
    char buf[65536];
    size_t have = 0;
    long body = -1;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
        if (n <= 0) {
            fprintf(stderr, "connection closed\n");
            exit(1);
        }
        have += (size_t)n;
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL) continue;
        if (body < 0) {
            char *cl = strcasestr(buf, "\r\ncontent-length:");
            body = cl ? strtol(cl + 17, NULL, 10) : 0;
        }
        if ((long)(have - (size_t)(end + 4 - buf)) >= body) return;
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT PHASES REQUESTS_FILE\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), phases = atoi(argv[2]), n = 0;
    int fds[MAX_CONNS];
    char *reqs[MAX_CONNS];
    long lens[MAX_CONNS];
    FILE *f = fopen(argv[3], "rb");
    if (f == NULL) {
        perror("requests file");
        return 1;
    }
    while (n < MAX_CONNS && fscanf(f, "%ld", &lens[n]) == 1) {
        fgetc(f);
        reqs[n] = malloc((size_t)lens[n]);
        if (fread(reqs[n], 1, (size_t)lens[n], f) != (size_t)lens[n]) return 1;
        fds[n] = dial(port);
        n++;
    }
    fclose(f);
    struct sched_param fifo = {.sched_priority = 1}, other = {.sched_priority = 0};
    struct timespec settle = {0, 2000000};
    for (int p = 0; p < phases; p++) {
        for (int i = 0; i < n; i++)
            if (write(fds[i], reqs[i], (size_t)lens[i] - 1) != lens[i] - 1) return 1;
        nanosleep(&settle, NULL);
        int raised = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;
        long long first = now_ns();
        for (int i = 0; i < n; i++) write(fds[i], reqs[i] + lens[i] - 1, 1);
        long long last = now_ns();
        if (raised) sched_setscheduler(0, SCHED_OTHER, &other);
        for (int i = 0; i < n; i++) read_response(fds[i]);
        printf("%lld\n", last - first);
    }
    return 0;
}
