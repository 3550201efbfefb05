// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tracenic-trafficgen: floods UDP datagrams at a guest through QEMU's slirp
 * hostfwd on loopback, so the device's RX path (and its DMA into the
 * driver's buffers) runs under load while the guest tears things down.
 *
 * It only ever sends to 127.0.0.0/8: the harness's traffic stays on this
 * machine.
 *
 *   tracenic-trafficgen --port P --count N [--size BYTES] [--host 127.0.0.1]
 *                       [--pps RATE]
 *
 * Exit status: 0 all sent, 1 a send failed, 2 bad arguments.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The largest UDP payload; above 1472 bytes slirp sends IP fragments. */
#define MAX_SIZE 65507

static void usage(void)
{
	fprintf(stderr,
		"usage: tracenic-trafficgen --port P --count N [--size BYTES] "
		"[--host 127.x.y.z] [--pps RATE]\n"
		"Sends N UDP datagrams of BYTES (1..%d, default 1000) to HOST:P on loopback,\n"
		"RATE per second (default 0: as fast as the socket takes them).\n",
		MAX_SIZE);
}

static int parse_ulong(const char *name, const char *s, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || *s == '-' || *out > max) {
		fprintf(stderr, "tracenic-trafficgen: --%s must be a whole number up to %lu, not '%s'\n",
			name, max, s);
		return -1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pace(double start, unsigned long sent, unsigned long pps)
{
	double due = start + (double)sent / (double)pps;
	double wait = due - now_s();
	struct timespec ts;

	if (wait <= 0)
		return;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "pps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long port = 0, count = 0, size = 1000, pps = 0, sent = 0, retries = 0;
	const char *host = "127.0.0.1";
	struct sockaddr_in dst = { .sin_family = AF_INET };
	unsigned char *buf;
	double start, secs;
	int opt, fd;

	while ((opt = getopt_long(argc, argv, "p:c:s:H:r:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_ulong("port", optarg, 65535, &port))
				return 2;
			break;
		case 'c':
			if (parse_ulong("count", optarg, 100000000UL, &count))
				return 2;
			break;
		case 's':
			if (parse_ulong("size", optarg, MAX_SIZE, &size))
				return 2;
			break;
		case 'H':
			host = optarg;
			break;
		case 'r':
			if (parse_ulong("pps", optarg, 10000000UL, &pps))
				return 2;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || port == 0 || size == 0) {
		usage();
		return 2;
	}
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
		fprintf(stderr, "tracenic-trafficgen: --host must be an IPv4 address, not '%s'\n",
			host);
		return 2;
	}
	if ((ntohl(dst.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr,
			"tracenic-trafficgen: refusing to send to %s: only loopback (127.0.0.0/8) "
			"is allowed, the harness's traffic stays on this machine\n", host);
		return 2;
	}
	dst.sin_port = htons((uint16_t)port);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	buf = calloc(1, size);
	if (fd < 0 || !buf) {
		perror("tracenic-trafficgen: socket");
		return 1;
	}
	start = now_s();
	while (sent < count) {
		/* Sequence number first, so a capture shows which datagrams arrived. */
		uint32_t seq = htonl((uint32_t)sent);

		memcpy(buf, &seq, size < sizeof(seq) ? size : sizeof(seq));
		if (pps)
			pace(start, sent, pps);
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			/* Nothing listens yet or the socket buffer is full: retry a little. */
			if ((errno == ECONNREFUSED || errno == ENOBUFS || errno == EAGAIN) &&
			    retries++ < 1000) {
				nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
				continue;
			}
			fprintf(stderr, "tracenic-trafficgen: sending datagram %lu to %s:%lu failed: %s\n",
				sent, host, port, strerror(errno));
			free(buf);
			close(fd);
			return 1;
		}
		sent++;
	}
	secs = now_s() - start;
	printf("sent %lu datagrams of %lu bytes to %s:%lu in %.3f s\n", sent, size, host, port,
	       secs);
	free(buf);
	close(fd);
	return 0;
}
