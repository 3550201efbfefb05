/*
 * tn-blast: the guest end of the NIC benchmarks (static, in the bench
 * initramfs).  One job: send raw frames as fast as the interface takes them,
 * or count what it receives, and report packets/s from the interface's own
 * counters.
 *
 *   tn-blast tx IF SIZE SECONDS [WARMUP [go]]
 *       AF_PACKET raw socket on IF, PACKET_QDISC_BYPASS, sendmmsg batches of
 *       SIZE-byte frames (ethertype 0x88b5, broadcast); the figure is the
 *       delta of /sys/class/net/IF/statistics/tx_packets.
 *   tn-blast rx IF SIZE SECONDS [WARMUP [go]]
 *       Waits (up to 20 s) until rx_packets moves, i.e. the host started
 *       sending, then measures the delta of rx_packets.
 *
 * With "go" the host starts the window, so that two guests measured side
 * by side start together: first a hello every 100 ms until the host's
 * answer arrives (frames reach the guest now: QEMU's e1000 holds received
 * frames back for a second after each RCTL write), then an armed frame
 * every 100 ms until the go, the host's traffic (rx) or a short burst (tx).
 * Both skip WARMUP seconds (default 0.5) before the SECONDS window and print
 * one line: "pps=.. mbps=.. packets=.. seconds=.. total=.. total_seconds=..",
 * where total/total_seconds cover warm-up and window together; tx adds
 * accepted (frames sendmmsg took) and refused (calls a full ring refused).  Mbit/s is
 * SIZE * 8 * pps: SIZE bytes as handed to the NIC (Ethernet header and
 * payload, no FCS).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tn-frame.h"

#define BATCH 32

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long counter(const char *ifname, const char *name)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "tn-blast: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "tn-blast: cannot read %s\n", path);
		exit(1);
	}
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

static int open_tx(const char *ifname, unsigned int ifindex)
{
	struct sockaddr_ll sll;
	int one = 1, fd;

	fd = socket(AF_PACKET, SOCK_RAW, 0);	/* protocol 0: send only, receive nothing */
	if (fd < 0) {
		perror("tn-blast: AF_PACKET socket");
		exit(1);
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "tn-blast: bind to %s: %s\n", ifname, strerror(errno));
		exit(1);
	}
	/* Straight to the driver: the qdisc is not what is measured. */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		perror("tn-blast: PACKET_QDISC_BYPASS (continuing with the qdisc)");
	return fd;
}

static unsigned long long accepted, refused;

/*
 * Send for @until seconds.  A full ring refuses frames (ENOBUFS): they are
 * counted and retried; the figures come from the interface's counters anyway.
 */
static void send_until(int fd, struct mmsghdr *msgs, double until)
{
	unsigned int i = 0;

	while ((++i & 63) || now_s() < until) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n >= 0) {
			accepted += n;
		} else if (errno == ENOBUFS || errno == EAGAIN) {
			refused++;
		} else {
			perror("tn-blast: sendmmsg");
			exit(1);
		}
	}
}

/*
 * Until rx_packets of @ifname moves from @c0 (up to @patience seconds); with
 * @fd >= 0 a frame from source @src_last every 100 ms meanwhile, so that a
 * host end that starts listening late still hears one.
 */
static int wait_for_rx(const char *ifname, unsigned long long c0, int fd, uint8_t src_last,
		       double patience)
{
	double give_up = now_s() + patience, next = 0;
	uint8_t frame[64];

	bench_frame_fill(frame, sizeof(frame), bench_broadcast, src_last);
	while (counter(ifname, "rx_packets") == c0) {
		if (now_s() > give_up)
			return -1;
		if (fd >= 0 && now_s() >= next) {
			if (send(fd, frame, sizeof(frame), 0) != (ssize_t)sizeof(frame)) {
				perror("tn-blast: handshake frame");
				return -1;
			}
			next = now_s() + 0.1;
		}
		usleep(1000);
	}
	return 0;
}

/* The start handshake ("go" above); 0 once the host's go has arrived. */
static int handshake(const char *ifname, int fd)
{
	unsigned long long c;

	if (wait_for_rx(ifname, counter(ifname, "rx_packets"), fd, BENCH_HELLO_SRC, 20)) {
		fprintf(stderr, "tn-blast: no answer from the host to hellos on %s in 20 s\n",
			ifname);
		return -1;
	}
	/* Answers to earlier hellos may still be on their way: not the go. */
	do {
		c = counter(ifname, "rx_packets");
		usleep(50000);
	} while (counter(ifname, "rx_packets") != c);
	/* The host waits for the other guest of a pair as well. */
	if (wait_for_rx(ifname, c, fd, BENCH_ARMED_SRC, 120)) {
		fprintf(stderr, "tn-blast: armed on %s, but no go from the host in 120 s\n",
			ifname);
		return -1;
	}
	return 0;
}

static void wait_until(double until)
{
	while (now_s() < until)
		usleep(20000);
}

int main(int argc, char **argv)
{
	static uint8_t frame[BENCH_MAX_FRAME];
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	const char *dir, *ifname;
	unsigned long long c0, c1, c2;
	double seconds, warmup, t0, t1, t2;
	unsigned int ifindex;
	const char *name;
	long size;
	int fd = -1, go;

	if (argc < 5 || argc > 7 || (argc == 7 && strcmp(argv[6], "go"))) {
		fprintf(stderr, "usage: tn-blast tx|rx IF SIZE SECONDS [WARMUP [go]]\n");
		return 2;
	}
	dir = argv[1];
	ifname = argv[2];
	size = strtol(argv[3], NULL, 10);
	seconds = atof(argv[4]);
	warmup = argc > 5 ? atof(argv[5]) : 0.5;
	ifindex = if_nametoindex(ifname);
	if (!ifindex || size < ETH_HLEN || size > BENCH_MAX_FRAME || seconds <= 0 ||
	    (strcmp(dir, "tx") && strcmp(dir, "rx"))) {
		fprintf(stderr, "tn-blast: bad arguments (interface '%s', size %ld, seconds %g)\n",
			ifname, size, seconds);
		return 2;
	}
	name = !strcmp(dir, "tx") ? "tx_packets" : "rx_packets";

	go = argc == 7;
	if (!strcmp(dir, "tx") || go)
		fd = open_tx(ifname, ifindex);
	if (go && handshake(ifname, fd))
		return 1;
	if (!strcmp(dir, "tx")) {
		bench_frame_fill(frame, size, bench_broadcast, 0x02);
		iov.iov_base = frame;
		iov.iov_len = size;
		bench_frame_batch(msgs, BATCH, &iov);
		c0 = counter(ifname, name);
		t0 = now_s();
		send_until(fd, msgs, t0 + warmup);
		c1 = counter(ifname, name);
		t1 = now_s();
		send_until(fd, msgs, t1 + seconds);
		c2 = counter(ifname, name);
		t2 = now_s();
	} else {
		if (!go && wait_for_rx(ifname, counter(ifname, "rx_packets"), -1, 0, 20)) {
			fprintf(stderr, "tn-blast: nothing received on %s in 20 s\n", ifname);
			return 1;
		}
		c0 = counter(ifname, name);
		t0 = now_s();
		wait_until(t0 + warmup);
		c1 = counter(ifname, name);
		t1 = now_s();
		wait_until(t1 + seconds);
		c2 = counter(ifname, name);
		t2 = now_s();
	}
	printf("pps=%.0f mbps=%.1f packets=%llu seconds=%.3f total=%llu total_seconds=%.3f",
	       (c2 - c1) / (t2 - t1), (c2 - c1) * size * 8.0 / (t2 - t1) / 1e6, c2 - c1, t2 - t1,
	       c2 - c0, t2 - t0);
	if (!strcmp(dir, "tx"))
		printf(" accepted=%llu refused=%llu", accepted, refused);
	printf("\n");
	if (fd >= 0)
		close(fd);
	return c2 > c1 ? 0 : 1;
}
