/*
 * dmacheck throughput on synthetic traces with a realistic per-packet mix:
 * MAP + EXTENT, descriptor fetch, prefetch reference, buffer DMA, reference
 * drop, write-back, UNMAP; plus a live set of long-lived allocations whose
 * size is varied (10, 1e3, 1e5) to show the per-event cost grows only
 * logarithmically.  Each line is a ratio against the first (10 live).
 *
 * Usage: bench OUTDIR [events]
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "dmacheck.h"
#include "tracebuild.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

int main(int argc, char **argv)
{
	uint64_t events = argc > 2 ? strtoull(argv[2], NULL, 0) : 20000000;
	const uint32_t lives[] = { 10, 1000, 100000 };
	double base = 0, base_read = 0;
	unsigned k;

	(void)argv[1];
	printf("dmacheck bench: %llu events per trace, per-packet MAP/EXTENT/desc-read/"
	       "ref/buf-write/ref/writeback/UNMAP/DMA mix\n", (unsigned long long)events);
	for (k = 0; k < 3; k++) {
		if (argc > 3 && strtoul(argv[3], NULL, 0) != lives[k])
			continue;
		struct dc_result res;
		struct rusage ru;
		struct tb b;
		char err[256];
		double t0, dt, rate;

		build(&b, events, lives[k]);
		/* Baseline: touching every record once, the least any checker must do. */
		{
			const struct tn_rec *rec = (const void *)(b.buf + TN_TRACE_HEADER_SIZE);
			volatile uint64_t sink = 0;
			uint64_t i, sum = 0;

			t0 = now_s();
			for (i = 0; i < b.nrec; i++)
				sum += rec[i].time_ns ^ rec[i].type;
			sink = sum;
			(void)sink;
			base_read = b.nrec / (now_s() - t0);
		}
		t0 = now_s();
		if (dc_replay(b.buf, b.len, NULL, &res, err, sizeof(err))) {
			fprintf(stderr, "bench: %s\n", err);
			return 2;
		}
		dt = now_s() - t0;
		rate = res.records / dt;
		if (!base)
			base = rate;
		getrusage(RUSAGE_SELF, &ru);
		printf("live allocations %6u: %llu records in %.3f s = %.1f M events/s "
		       "(ratio to 10 live: %.2f; reading the records alone: %.1f M/s, "
		       "checker/read time ratio %.1f), %zu violations, peak RSS %ld MiB "
		       "(includes the %zu MiB trace held in memory)\n", lives[k],
		       (unsigned long long)res.records, dt, rate / 1e6, rate / base,
		       base_read / 1e6, base_read / rate, res.nv, ru.ru_maxrss / 1024, b.len >> 20);
		if (res.nv) {
			res.path = "bench";
			dc_report_text(stderr, &res);
			return 1;
		}
		dc_result_free(&res);
		free(b.buf);
	}
	return 0;
}
