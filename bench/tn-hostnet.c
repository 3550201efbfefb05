/*
 * tn-hostnet: the host end of a QEMU UDP socket netdev, for the NIC
 * benchmarks.  One job: count, or generate, UDP-encapsulated Ethernet frames
 * on loopback as fast as possible.
 *
 *   tn-hostnet sink ADDR:PORT [SECONDS [busy]]
 *       Bind ADDR:PORT (where QEMU's "-netdev socket,udp=ADDR:PORT" sends the
 *       guest's frames) and count datagrams until SIGINT/SIGTERM or SECONDS
 *       (0: no limit).  With "busy" it polls its socket instead of sleeping
 *       in recvmmsg: waking a sleeping receiver costs the sender (QEMU) a
 *       wake-up in every sendto, 4-9 % of its CPU time in a TX test, and
 *       more often the slower it sends, which widens any difference between
 *       two configurations.  It takes a CPU of its own.
 *       It answers each hello of tn-blast's start handshake with one frame
 *       to the sender and prints "tn-hostnet: guest armed" at the guest's
 *       first armed frame: the guest has received, and waits for its go.
 *   tn-hostnet source ADDR:PORT SIZE [SECONDS] [DSTMAC]
 *       Send SIZE-byte Ethernet frames (ethertype 0x88b5, to DSTMAC, default
 *       52:54:00:12:34:56) to ADDR:PORT (QEMU's "localaddr=") until
 *       SIGINT/SIGTERM or SECONDS.
 *
 * ADDR must be in 127.0.0.0/8.  Both print one line of key=value figures on
 * stdout at the end.  Datagrams go in batches with sendmmsg/recvmmsg.
 *
 * The source keeps the receiver's socket queue filled without flooding it:
 * it reads the queue of the socket bound to ADDR:PORT from /proc/net/udp and
 * sends a batch whenever that queue is below a watermark.  The receiver then
 * never waits for the source ("empty" counts the checks that found its queue
 * empty), and no CPU goes into frames the kernel would only drop (which would
 * take CPU from QEMU on a small machine).  Without a receiving socket in
 * /proc/net/udp it sends unpaced.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tn-frame.h"

#define BATCH 64
#define HIGH_WATER (64 * 1024)	/* receiver queue bytes (truesize) */
#define BATCH_BYTES (32 * 1024)	/* one batch stays well inside the receiver's buffer */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: tn-hostnet sink ADDR:PORT [SECONDS [busy]]\n"
		"       tn-hostnet source ADDR:PORT SIZE [SECONDS] [DSTMAC]\n"
		"ADDR must be in 127.0.0.0/8\n");
	exit(2);
}

static void parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		usage();
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	port = strtol(colon + 1, &end, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (*end || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		fprintf(stderr, "tn-hostnet: '%s' is not ADDR:PORT\n", s);
		exit(2);
	}
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "tn-hostnet: %s is not a loopback address (127.0.0.0/8)\n", host);
		exit(2);
	}
	sa->sin_port = htons(port);
}

static void setup_signals(double seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (seconds > 0) {
		struct itimerval it;

		memset(&it, 0, sizeof(it));
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec = (suseconds_t)((seconds - (time_t)seconds) * 1e6);
		setitimer(ITIMER_REAL, &it, NULL);
	}
}

static int sink(const struct sockaddr_in *sa, bool busy)
{
	static uint8_t bufs[BATCH][BENCH_MAX_FRAME];
	struct sockaddr_in from[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t packets = 0, bytes = 0;
	double first = 0, last = 0;
	int fd, i, rcvbuf = 4 << 20, armed = 0;
	uint8_t answer[64];

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("tn-hostnet: sink socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	bench_frame_fill(answer, sizeof(answer), bench_broadcast, BENCH_ANSWER_SRC);
	/* Ready: the caller may start the traffic once it has read this line. */
	printf("tn-hostnet: sink ready\n");
	fflush(stdout);
	while (!stop) {
		int n = recvmmsg(fd, msgs, BATCH, busy ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);

		if (n < 0) {
			if (errno == EINTR || (busy && errno == EAGAIN))
				continue;
			perror("tn-hostnet: recvmmsg");
			return 1;
		}
		last = now_s();
		if (!packets)
			first = last;
		for (i = 0; i < n && !armed; i++) {
			const uint8_t *f = bufs[i];

			if (msgs[i].msg_len < 14 || f[12] != 0x88 || f[13] != 0xb5)
				continue;
			if (f[11] == BENCH_HELLO_SRC &&
			    sendto(fd, answer, sizeof(answer), 0, (struct sockaddr *)&from[i],
				   msgs[i].msg_hdr.msg_namelen) < 0)
				perror("tn-hostnet: answer to the guest's hello");
			if (f[11] == BENCH_ARMED_SRC) {
				printf("tn-hostnet: guest armed\n");
				fflush(stdout);
				armed = 1;
			}
		}
		for (i = 0; i < n; i++) {
			bytes += msgs[i].msg_len;
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		packets += n;
	}
	printf("tn-hostnet: sink packets=%llu bytes=%llu seconds=%.6f pps=%.0f\n",
	       (unsigned long long)packets, (unsigned long long)bytes, last - first,
	       last > first ? (packets - 1) / (last - first) : 0.0);
	return 0;
}

/*
 * Queue bytes and drops of the UDP socket bound to @sa, from /proc/net/udp;
 * -1 if there is none.  Columns: sl local rem st tx_queue:rx_queue tr
 * tm->when retrnsmt uid timeout inode ref pointer drops.
 */
static long receiver_queue(const struct sockaddr_in *sa, unsigned long long *drops)
{
	static FILE *f;
	char line[512];
	unsigned int port = ntohs(sa->sin_port);
	unsigned int addr = sa->sin_addr.s_addr;	/* /proc prints it in host order of the raw bytes */
	long found = -1;

	if (!f) {
		f = fopen("/proc/net/udp", "r");
		if (!f)
			return -1;
		setvbuf(f, NULL, _IOFBF, 1 << 16);
	} else {
		rewind(f);
		fflush(f);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned int la, lp, txq, rxq;
		unsigned long long d;

		if (sscanf(line, " %*u: %x:%x %*x:%*x %*x %x:%x %*x:%*x %*x %*u %*u %*u %*u %*x %llu",
			   &la, &lp, &txq, &rxq, &d) != 5)
			continue;
		if (lp == port && (la == addr || la == 0)) {
			found = rxq;
			*drops = d;
			break;
		}
	}
	return found;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int m[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = m[i];
	return 0;
}

static int source(const struct sockaddr_in *sa, unsigned int size, const uint8_t dst[6])
{
	static uint8_t frame[BENCH_MAX_FRAME];
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	struct timespec nap = { 0, 20000 };
	/* Frames cost their size plus ~512 bytes of skb in the receiver's queue. */
	unsigned int batch = BATCH_BYTES / (size + 512);
	uint64_t sent = 0, checks = 0, empty = 0, waits = 0;
	unsigned long long drops0 = 0, drops1 = 0;
	bool paced;
	double t0, t1;
	int fd, sndbuf = 4 << 20;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("tn-hostnet: source socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	prctl(PR_SET_TIMERSLACK, 1000UL);
	bench_frame_fill(frame, size, dst, 0x01);
	iov.iov_base = frame;
	iov.iov_len = size;
	bench_frame_batch(msgs, BATCH, &iov);
	paced = receiver_queue(sa, &drops0) >= 0;
	t0 = now_s();
	while (!stop) {
		int n;

		if (paced) {
			unsigned long long d;
			long q = receiver_queue(sa, &d);

			checks++;
			if (q == 0)
				empty++;
			if (q >= HIGH_WATER) {
				waits++;
				nanosleep(&nap, NULL);
				continue;
			}
		}
		n = sendmmsg(fd, msgs, batch < 1 ? 1 : batch > BATCH ? BATCH : batch, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
				nanosleep(&nap, NULL);
				continue;
			}
			perror("tn-hostnet: sendmmsg");
			return 1;
		}
		sent += n;
	}
	t1 = now_s();
	if (paced)
		receiver_queue(sa, &drops1);
	printf("tn-hostnet: source packets=%llu size=%u seconds=%.6f pps=%.0f paced=%s "
	       "checks=%llu empty=%llu waits=%llu drops=%llu\n",
	       (unsigned long long)sent, size, t1 - t0, sent / (t1 - t0), paced ? "yes" : "no",
	       (unsigned long long)checks, (unsigned long long)empty,
	       (unsigned long long)waits, drops1 - drops0);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	parse_addr(argv[2], &sa);
	if (!strcmp(argv[1], "sink") && (argc <= 4 || (argc == 5 && !strcmp(argv[4], "busy")))) {
		setup_signals(argc > 3 ? atof(argv[3]) : 0);
		return sink(&sa, argc == 5);
	}
	if (!strcmp(argv[1], "source") && argc >= 4 && argc <= 6) {
		long size = strtol(argv[3], NULL, 10);

		if (size < BENCH_MIN_FRAME || size > BENCH_MAX_FRAME) {
			fprintf(stderr, "tn-hostnet: SIZE must be %d to %d bytes\n", BENCH_MIN_FRAME,
				BENCH_MAX_FRAME);
			return 2;
		}
		if (argc > 5 && parse_mac(argv[5], dst) < 0) {
			fprintf(stderr, "tn-hostnet: '%s' is not a MAC address\n", argv[5]);
			return 2;
		}
		setup_signals(argc > 4 ? atof(argv[4]) : 0);
		return source(&sa, (unsigned int)size, dst);
	}
	usage();
	return 2;
}
