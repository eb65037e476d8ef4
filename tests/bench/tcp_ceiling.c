// SPDX-License-Identifier: Apache-2.0
/*
 * tcp_ceiling [MIB] - the loopback TCP ceiling the NFS benchmark runs under: one
 * connection over 127.0.0.1 carries MIB mebibytes (default 2048) in 1 MiB writes to a
 * reader that drains them in 1 MiB reads, as an NFS READ stream moves them. Prints the
 * rate in MiB/s (one number). Used by nfs_bench.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static int lfd;

static void *reader(void *arg)
{
	char *buf = malloc(CHUNK);
	int fd = accept(lfd, NULL, NULL);

	(void)arg;
	if (fd < 0 || !buf)
		exit(1);
	while (read(fd, buf, CHUNK) > 0)
		;
	close(fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 2048;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char *buf = malloc(CHUNK);
	struct timespec t0, t1;
	pthread_t th;
	int fd;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!buf || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) ||
	    pthread_create(&th, NULL, reader, NULL)) {
		perror("tcp_ceiling");
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("tcp_ceiling: connect");
		return 1;
	}
	memset(buf, 0x5a, CHUNK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; k < mib; k++) {
		for (size_t done = 0; done < CHUNK;) {
			ssize_t n = write(fd, buf + done, CHUNK - done);

			if (n <= 0) {
				perror("tcp_ceiling: write");
				return 1;
			}
			done += (size_t)n;
		}
	}
	close(fd);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", (double)mib / ((double)(t1.tv_sec - t0.tv_sec) +
					(double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
	free(buf);
	return 0;
}
