/*
 * dmacheck throughput on synthetic traces with a realistic per-packet mix:
 * MAP + EXTENT, descriptor fetch, prefetch reference, buffer DMA, reference
 * drop, write-back, UNMAP; plus a live set of long-lived allocations (10,
 * 1e3, 1e5) that each packet also DMAs into at random, to show how the
 * per-event cost grows with the live state.
 *
 * Each trace is written to OUTDIR/bench.bin and checked by the real
 * dmacheck binary, as a user would run it (mmap, windows dropped once
 * replayed); the figures are that process's own CPU time and peak RSS, so
 * neither the trace generation nor other load on the machine counts.
 *
 * Usage: bench OUTDIR DMACHECK [events [live]]
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmacheck.h"
#include "tracebuild.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One RX ring of 256 slots, buffers mapped per packet, @live extra allocations. */
static void build(struct tb *b, uint64_t events, uint32_t live)
{
	const uint64_t ring = 0x100000, bufs = 0x10000000;
	uint32_t i, slot = 0, id = 1000000;

	tb_init(b);
	tb_alloc1(b, 1, TN_API_SHARED, ring, 256 * 16, 0, TN_EXT_BUS);
	for (i = 0; i < live; i++)	/* spread over 4 GiB: a deep tree */
		tb_alloc1(b, 10 + i, TN_API_MEMORY, 0x100000000ull + (uint64_t)i * 40960, 4096,
			  TN_NDIS_MEMORY_CONTIGUOUS, TN_EXT_BUS);
	tb_ref(b, 1, 1, TN_REF_RING, ring, 256 * 16);
	while (b->nrec < events) {
		uint64_t buf = bufs + (uint64_t)slot * 2048;

		b->now += 1000;
		tb_map(b, id, buf, 2048);
		tb_dma(b, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ, ring + slot * 16, 16);
		tb_ref(b, 1, 2 + slot, TN_REF_PREFETCH, buf, 2048);
		tb_dma(b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, buf, 1514);
		tb_ref(b, 0, 2 + slot, TN_REF_PREFETCH, buf, 2048);
		tb_dma(b, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK, ring + slot * 16 + 8, 8);
		tb_unmap(b, id, 2048);
		/* The long-lived allocations see DMA too (a random one per packet). */
		if (live)
			tb_dma(b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ,
			       0x100000000ull + (uint64_t)((id * 2654435761u) % live) * 40960, 64);
		slot = (slot + 1) % 256;
		id++;
	}
	tb_end(b);
}

static int write_trace(const char *path, const struct tb *b)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b->buf, 1, b->len, f) != b->len || fclose(f)) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* Run DMACHECK on @path; its exit status, CPU seconds and peak RSS. */
static int run_checker(const char *dmacheck, const char *path, double *cpu, long *rss_kib)
{
	struct rusage ru;
	int status;
	pid_t pid;

	fflush(stdout);		/* or the child's freopen writes our buffer out again */
	pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(dmacheck, dmacheck, path, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status))
		return -1;
	*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	*rss_kib = ru.ru_maxrss;
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	const uint32_t lives[] = { 10, 1000, 100000 };
	uint64_t events;
	char path[4096];
	unsigned k;

	if (argc < 3) {
		fprintf(stderr, "usage: bench OUTDIR DMACHECK [events [live]]\n");
		return 2;
	}
	events = argc > 3 ? strtoull(argv[3], NULL, 0) : 20000000;
	snprintf(path, sizeof(path), "%s/bench.bin", argv[1]);
	printf("dmacheck bench: %llu events per trace, per packet MAP+EXTENT, desc read, "
	       "REF_TAKE, buffer DMA, REF_DROP, write-back, UNMAP, DMA into a long-lived "
	       "allocation\n", (unsigned long long)events);
	for (k = 0; k < 3; k++) {
		uint64_t nrec;
		double t0, wall, cpu;
		long rss;
		struct tb b;
		int st;

		if (argc > 4 && strtoul(argv[4], NULL, 0) != lives[k])
			continue;
		build(&b, events, lives[k]);
		nrec = b.nrec;
		st = write_trace(path, &b);
		free(b.buf);
		if (st)
			return 2;
		/* Once to bring the file into the page cache, once measured. */
		if (run_checker(argv[2], path, &cpu, &rss) < 0)
			return 2;
		t0 = now_s();
		st = run_checker(argv[2], path, &cpu, &rss);
		wall = now_s() - t0;
		if (st) {
			fprintf(stderr, "bench: dmacheck exited %d on the synthetic trace (expected "
				"0: it is a correct driver's trace)\n", st);
			return 1;
		}
		printf("live allocations %6u: %llu records, %.2f s CPU (%.2f s wall) = %.1f M "
		       "events/s on one core, peak RSS %ld MiB (trace file %llu MiB)\n", lives[k],
		       (unsigned long long)nrec, cpu, wall, nrec / cpu / 1e6, rss / 1024,
		       (unsigned long long)(TN_TRACE_HEADER_SIZE + nrec * TN_TRACE_REC_SIZE) >> 20);
	}
	unlink(path);
	return 0;
}
