/*
 * dmacheck throughput on synthetic traces with a realistic per-packet mix:
 * MAP + EXTENT, descriptor fetch, prefetch reference, buffer DMA, reference
 * drop, write-back, UNMAP; plus a live set of long-lived allocations (10,
 * 1e3, 1e5) that each packet also DMAs into at random, to show how the
 * per-event cost grows with the live state.
 *
 * Each trace is streamed to OUTDIR/bench.bin (48 bytes a record: 10^8
 * events take 4.5 GiB, so free space is checked first) and checked by the
 * real dmacheck binary, as a user would run it.  The figures are that
 * process's own CPU time (user + system, so reading the file counts) and
 * peak RSS, the median of RUNS runs, so neither the trace generation nor
 * other load on the machine counts.  Each run is paired with a baseline
 * measured the same way right after it: a process that only reads the trace
 * and touches every record.  The ratio of the two times is what the checker
 * costs beyond reading its input, and it holds when the host's speed swings
 * (its events/s figure alone moved between 26 and 42 M here from one
 * invocation to the next).
 *
 * With "fresh", every packet's buffer is at a new address (an IOVA allocator
 * that never recycles, one-shot buffers): nothing covers freed memory again,
 * so this shows what dmacheck keeps of it (replay.c age_freed).
 *
 * Usage: bench OUTDIR DMACHECK [events [live [runs [fresh]]]]   (live 0: all three)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmacheck.h"
#include "tracebuild.h"

#define FLUSH_BYTES (64u << 20)

static bool fresh;	/* a new buffer address for every packet */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write out what the builder holds and start its buffer again (records keep counting). */
static int flush(struct tb *b, FILE *f)
{
	if (fwrite(b->buf, 1, b->len, f) != b->len)
		return -1;
	tb_flushed(b);
	return 0;
}

/* One RX ring of 256 slots, buffers mapped per packet, @live extra allocations. */
static int build(FILE *f, uint64_t events, uint32_t live, uint64_t *nrec)
{
	const uint64_t ring = 0x100000, bufs = 0x10000000;
	uint32_t i, slot = 0, id = 1000000;
	struct tb b;
	int ret = 0;

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_SHARED, ring, 256 * 16, 0, TN_EXT_BUS);
	for (i = 0; i < live; i++)	/* spread over 4 GiB: a deep tree */
		tb_alloc1(&b, 10 + i, TN_API_MEMORY, 0x100000000ull + (uint64_t)i * 40960, 4096,
			  TN_NDIS_MEMORY_CONTIGUOUS, TN_EXT_BUS);
	tb_ref(&b, 1, 1, TN_REF_RING, ring, 256 * 16);
	while (b.nrec < events && !ret) {
		uint64_t buf = bufs + (fresh ? (uint64_t)(id - 1000000) : slot) * 2048;

		b.now += 1000;
		tb_map_dir(&b, id, buf, 2048, TN_DIR_FROM_DEVICE);
		tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ, ring + slot * 16, 16);
		tb_ref(&b, 1, 2 + slot, TN_REF_PREFETCH, buf, 2048);
		tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, buf, 1514);
		tb_ref(&b, 0, 2 + slot, TN_REF_PREFETCH, buf, 2048);
		tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK, ring + slot * 16 + 8, 8);
		tb_unmap_dir(&b, id, 2048, TN_DIR_FROM_DEVICE);
		/* The long-lived allocations see DMA too (a random one per packet). */
		if (live)
			tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ,
			       0x100000000ull + (uint64_t)((id * 2654435761u) % live) * 40960, 64);
		slot = (slot + 1) % 256;
		id++;
		if (b.len >= FLUSH_BYTES)
			ret = flush(&b, f);
	}
	tb_end(&b);
	if (ret || flush(&b, f))
		ret = -1;
	*nrec = b.nrec;
	free(b.buf);
	return ret;
}

static int write_trace(const char *path, uint64_t events, uint32_t live, uint64_t *nrec)
{
	FILE *f = fopen(path, "wb");

	if (!f || build(f, events, live, nrec) || fclose(f)) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* Wait for child @pid: its exit status (-1 if it did not exit), CPU seconds and peak RSS. */
static int wait_child(pid_t pid, double *cpu, long *rss_kib)
{
	struct rusage ru;
	int status;

	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status))
		return -1;
	*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	*rss_kib = ru.ru_maxrss;
	return WEXITSTATUS(status);
}

/* Run DMACHECK on @path; its exit status, CPU seconds and peak RSS. */
static int run_checker(const char *dmacheck, const char *path, double *cpu, long *rss_kib)
{
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
	return wait_child(pid, cpu, rss_kib);
}

/* The baseline: CPU seconds a process takes to read @path and touch every record. */
static int run_read_baseline(const char *path, double *cpu)
{
	long rss_kib;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		static uint8_t buf[TN_TRACE_REC_SIZE * 21845];	/* whole records, about 1 MiB */
		uint64_t sum = 0;
		FILE *f = fopen(path, "rb");
		size_t n, i;

		if (!f || fread(buf, 1, TN_TRACE_HEADER_SIZE, f) != TN_TRACE_HEADER_SIZE)
			_exit(127);
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			for (i = 0; i + TN_TRACE_REC_SIZE <= n; i += TN_TRACE_REC_SIZE)
				sum += buf[i] ^ buf[i + 8];	/* time and type bytes */
		_exit(sum == 1 ? 1 : 0);	/* uses sum: the loop cannot be dropped */
	}
	return wait_child(pid, cpu, &rss_kib) > 1 ? -1 : 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define MAX_RUNS 15

int main(int argc, char **argv)
{
	const uint32_t lives[] = { 10, 1000, 100000 };
	uint64_t events, need;
	unsigned k, runs;
	struct statvfs vfs;
	char path[4096];

	if (argc < 3) {
		fprintf(stderr, "usage: bench OUTDIR DMACHECK [events [live [runs [fresh]]]]\n");
		return 2;
	}
	events = argc > 3 ? strtoull(argv[3], NULL, 0) : 20000000;
	runs = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 0) : 3;
	runs = runs < 1 ? 1 : runs > MAX_RUNS ? MAX_RUNS : runs;
	fresh = argc > 6 && !strcmp(argv[6], "fresh");
	snprintf(path, sizeof(path), "%s/bench.bin", argv[1]);
	need = TN_TRACE_HEADER_SIZE + (events + 100010) * TN_TRACE_REC_SIZE;
	if (statvfs(argv[1], &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < need + (1u << 30)) {
		fprintf(stderr, "bench: %llu events need %llu MiB in %s (plus 1 GiB to spare); "
			"%llu MiB are free\n", (unsigned long long)events,
			(unsigned long long)(need >> 20), argv[1],
			(unsigned long long)((uint64_t)vfs.f_bavail * vfs.f_frsize >> 20));
		return 2;
	}
	printf("dmacheck bench: %llu events per trace, per packet MAP+EXTENT, desc read, "
	       "REF_TAKE, buffer DMA, REF_DROP, write-back, UNMAP, DMA into a long-lived "
	       "allocation; buffers %s; median of %u runs\n", (unsigned long long)events,
	       fresh ? "at a fresh address every packet" : "recycled over 256 ring slots", runs);
	for (k = 0; k < 3; k++) {
		double cpu[MAX_RUNS], base[MAX_RUNS], ratio[MAX_RUNS], t0, wall;
		long rss = 0, r;
		uint64_t nrec;
		unsigned i;
		int st;

		if (argc > 4 && strtoul(argv[4], NULL, 0) && strtoul(argv[4], NULL, 0) != lives[k])
			continue;
		if (write_trace(path, events, lives[k], &nrec))
			return 2;
		/* Once to bring the file into the page cache, then measured. */
		if (run_checker(argv[2], path, &cpu[0], &r) < 0)
			return 2;
		wall = 0;
		t0 = now_s();
		for (i = 0; i < runs; i++) {
			st = run_checker(argv[2], path, &cpu[i], &r);
			if (st) {
				fprintf(stderr, "bench: dmacheck exited %d on the synthetic trace "
					"(expected 0: it is a correct driver's trace)\n", st);
				return 1;
			}
			rss = r > rss ? r : rss;
			wall += now_s() - t0;
			if (run_read_baseline(path, &base[i]) < 0) {
				fprintf(stderr, "bench: the read baseline failed on %s\n", path);
				return 2;
			}
			ratio[i] = cpu[i] / (base[i] > 1e-3 ? base[i] : 1e-3);
			t0 = now_s();
		}
		wall /= runs;
		qsort(cpu, runs, sizeof(cpu[0]), by_value);
		qsort(base, runs, sizeof(base[0]), by_value);
		qsort(ratio, runs, sizeof(ratio[0]), by_value);
		printf("live allocations %6u: %llu records, %.2f s CPU (%.2f s wall) = %.1f M "
		       "events/s on one core (runs %.1f-%.1f), %.1f x the CPU time of reading "
		       "the trace (%.1f M records/s), peak RSS %ld MiB (trace file %llu MiB)\n",
		       lives[k], (unsigned long long)nrec, cpu[runs / 2], wall,
		       nrec / cpu[runs / 2] / 1e6, nrec / cpu[runs - 1] / 1e6, nrec / cpu[0] / 1e6,
		       ratio[runs / 2], nrec / base[runs / 2] / 1e6, rss / 1024,
		       (unsigned long long)(TN_TRACE_HEADER_SIZE + nrec * TN_TRACE_REC_SIZE) >> 20);
	}
	unlink(path);
	return 0;
}
