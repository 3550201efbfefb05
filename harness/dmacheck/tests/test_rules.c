/*
 * One hand-built trace per rule that must fire, and a near-miss twin that
 * must not; plus invalid inputs that must be rejected.
 *
 * test-rules [--write-corpus DIR] also writes every rule test's trace as
 * DIR/<test-name>.bin with DIR/<test-name>.expect, the names of the rules
 * dmacheck must report on it, one a line in rule-number order (empty: clean);
 * the inputs dmacheck must reject go to DIR/invalid/<test-name>.bin.  The CLI
 * test, the fuzzer's seeds and the device-agreement test read that corpus.
 */
#define _POSIX_C_SOURCE 200809L	/* open_memstream */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "dmacheck.h"
#include "tracebuild.h"

#define SH TN_API_SHARED
#define BUS TN_EXT_BUS
#define PHYS TN_EXT_PHYS
#define FM TN_FREE_API_FREE_MEMORY
#define FS TN_FREE_API_FREE_SHARED
#define PASSIVE TN_IRQL_PASSIVE
#define DISPATCH TN_IRQL_DISPATCH
#define CONTIG TN_NDIS_MEMORY_CONTIGUOUS
#define NONCACHED TN_NDIS_MEMORY_NONCACHED

static const char *corpus;	/* --write-corpus DIR, or NULL */
static int passed, failed;

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "test-rules: cannot write %s: %s; check that the corpus "
			"directory is writable\n", path, strerror(errno));
		exit(2);
	}
}

/* DIR/<name>.bin and, for a rule test (@want non-NULL), DIR/<name>.expect. */
static void save(const char *name, const uint8_t *data, size_t len, const bool *want)
{
	char path[512], text[512];
	size_t n = 0;
	unsigned r;

	if (!corpus)
		return;
	snprintf(path, sizeof(path), want ? "%s/%s.bin" : "%s/invalid/%s.bin", corpus, name);
	write_file(path, data, len);
	if (!want)
		return;
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++)
		if (want[r])
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n", tn_rule_name(r));
	snprintf(path, sizeof(path), "%s/%s.expect", corpus, name);
	write_file(path, text, n);
}

/* Expect exactly the rules listed (TN_RULE_COUNT-terminated), no others. */
static void expect(const char *name, struct tb *b, ...)
{
	bool want[TN_RULE_COUNT] = { false };
	struct dc_result res;
	char err[512];
	bool ok = true;
	va_list ap;
	int r;

	va_start(ap, b);
	while ((r = va_arg(ap, int)) != TN_RULE_COUNT)
		want[r] = true;
	va_end(ap);
	save(name, b->buf, b->len, want);
	if (dc_replay(b->buf, b->len, NULL, &res, err, sizeof(err))) {
		printf("FAIL %s: rejected: %s\n", name, err);
		failed++;
		free(b->buf);
		return;
	}
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++) {
		if (want[r] != (res.rule_count[r] > 0)) {
			printf("FAIL %s: rule %s %s\n", name, tn_rule_name(r),
			       want[r] ? "did not fire" : "fired unexpectedly");
			ok = false;
		}
	}
	if (!ok) {
		res.path = name;
		dc_report_text(stdout, &res);
	}
	ok ? passed++ : failed++;
	if (ok)
		printf("ok   %s\n", name);
	dc_result_free(&res);
	free(b->buf);
}

/* The first violation's detail mentions @needle (or, with @absent, does not); @b is kept. */
static void expect_detail(const char *name, struct tb *b, const char *needle, bool absent)
{
	struct dc_result res;
	char err[512];

	if (dc_replay(b->buf, b->len, NULL, &res, err, sizeof(err))) {
		printf("FAIL %s: rejected: %s\n", name, err);
		failed++;
		return;
	}
	if (!res.nv || !strstr(res.v[0].detail, needle) != absent) {
		printf("FAIL %s: detail \"%s\" %s \"%s\"\n", name, res.nv ? res.v[0].detail : "",
		       absent ? "mentions" : "does not mention", needle);
		failed++;
	} else {
		printf("ok   %s\n", name);
		passed++;
	}
	dc_result_free(&res);
}

static void expect_invalid(const char *name, const uint8_t *data, size_t len, const char *needle)
{
	struct dc_result res;
	char err[512] = "";

	save(name, data, len, NULL);
	if (dc_replay(data, len, NULL, &res, err, sizeof(err)) == 0) {
		printf("FAIL %s: accepted an invalid trace\n", name);
		failed++;
	} else if (!strstr(err, needle)) {
		printf("FAIL %s: message \"%s\" does not mention \"%s\"\n", name, err, needle);
		failed++;
	} else {
		printf("ok   %s (%s)\n", name, err);
		passed++;
	}
	dc_result_free(&res);
}

#define END TN_RULE_COUNT

/* The text report mentions @needle; @b is kept. */
static void expect_report(const char *name, struct tb *b, const char *needle)
{
	struct dc_result res;
	char err[512], *text = NULL;
	size_t n = 0;
	FILE *o;

	if (dc_replay(b->buf, b->len, NULL, &res, err, sizeof(err))) {
		printf("FAIL %s: rejected: %s\n", name, err);
		failed++;
		return;
	}
	res.path = name;
	o = open_memstream(&text, &n);
	if (!o)
		abort();
	dc_report_text(o, &res);
	fclose(o);
	if (!strstr(text, needle)) {
		printf("FAIL %s: the report does not mention \"%s\":\n%s", name, needle, text);
		failed++;
	} else {
		printf("ok   %s\n", name);
		passed++;
	}
	free(text);
	dc_result_free(&res);
}

/* Three devices on one trace: tracenic (0), e1000e (1), the ledger device (2). */
#define E1000E_VENDOR 0x8086
#define E1000E_DEVICE 0x10d3

static void tb_three_devices(struct tb *b)
{
	tb_init(b);
	tb_device(b, 0, "tracenic", TN_PCI_VENDOR_ID, TN_PCI_DEVICE_ID, 4 << 3);
	tb_device(b, 1, "e1000e", E1000E_VENDOR, E1000E_DEVICE, 3 << 3);
	tb_device(b, 2, "tracenic-ledger", TN_PCI_VENDOR_ID, TN_LEDGER_PCI_DEVICE_ID, 5 << 3);
}

static void device_rules(void)
{
	struct tb b;

	/*
	 * No ledger anywhere (an unmodified driver, no agent): nothing says what
	 * memory is allocated, so DMA is not judged, and the report says so.
	 */
	tb_init(&b);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x5000, 64);
	tb_end(&b);
	expect_report("no-ledger-unjudged-report", &b,
		      "UNJUDGED (no ledger): 2 records, 0 distinct violations");
	expect_report("no-ledger-unjudged-note", &b, "1 DMA access came before any ledger "
		      "record and was not judged");
	expect("no-ledger-unjudged", &b, END);
	/* Twin: the driver reports through a ledger (a MARK is enough): wild. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x5000, 64);
	tb_end(&b);
	expect("no-ledger-twin-ledger", &b, TN_RULE_WILD_DMA, END);
	/* DMA before the first ledger record: not judged, and said; the rest is. */
	tb_init(&b);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x5000, 64);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x9000, 64);
	tb_end(&b);
	expect_report("ledger-late-note", &b, "nothing had yet reported what memory");
	expect("ledger-late", &b, TN_RULE_WILD_DMA, END);

	/*
	 * Without a ledger two rules still apply.  dma-outside-ram: a DMA the
	 * bus or an IOMMU rejected reached no guest memory.
	 */
	tb_init(&b);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_DESC_READ, 0xfffffff000000000ull, 16);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_MEMTX;
	tb_end(&b);
	expect_report("no-ledger-outside-ram-report", &b, "DMA      failed read rx-desc-read of "
		      "0xfffffff000000000+16");
	expect("no-ledger-outside-ram", &b, TN_RULE_DMA_OUTSIDE_RAM, END);
	/* Twin: with bus mastering off the device never issued it. */
	tb_init(&b);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_DESC_READ, 0xfffffff000000000ull, 16);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_BUS_MASTER;
	tb_end(&b);
	expect("no-ledger-outside-ram-twin-bus-master", &b, END);
	/* Twin: with a ledger the allocation rules judge it (wild-dma says more). */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_DESC_READ, 0xfffffff000000000ull, 16);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_MEMTX;
	tb_end(&b);
	expect("no-ledger-outside-ram-twin-ledger", &b, TN_RULE_WILD_DMA, END);

	/* ref-held-at-end: a posted buffer never written back, a ring never disabled. */
	tb_init(&b);
	tb_ring_enable(&b, TN_RING_ID_RX, 0x1000, 256);
	tb_ref(&b, 1, 7, TN_REF_RING, 0x1000, 4096);
	tb_ref(&b, 1, 8, TN_REF_POSTED, 0x8000, 2048);
	tb_ref(&b, 1, 9, TN_REF_POSTED, 0x9000, 2048);
	tb_ref(&b, 0, 9, TN_REF_POSTED, 0x9000, 2048);
	tb_end(&b);
	expect_report("no-ledger-ref-held-report", &b, "holding ref 8: posted buffer, RX ring "
		      "descriptor 0, 0x8000+2048");
	expect_report("no-ledger-ref-held-occurrences", &b, "2 occurrences");
	expect("no-ledger-ref-held", &b, TN_RULE_REF_HELD_AT_END, END);
	/* Twin: everything dropped before the end. */
	tb_init(&b);
	tb_ref(&b, 1, 8, TN_REF_POSTED, 0x8000, 2048);
	tb_ref(&b, 0, 8, TN_REF_POSTED, 0x8000, 2048);
	tb_end(&b);
	expect("no-ledger-ref-held-twin-dropped", &b, END);
	/* Twin: dropped by a drain the driver never observed is dropped for the device. */
	tb_init(&b);
	tb_ref(&b, 1, 8, TN_REF_POSTED, 0x8000, 2048);
	tb_ref(&b, 0, 8, TN_REF_POSTED, 0x8000, 2048);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	tb_end(&b);
	expect("no-ledger-ref-held-twin-drained", &b, END);
	/* Twin: with a ledger, leak and free-not-quiesced judge the memory instead. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_ref(&b, 1, 8, TN_REF_POSTED, 0x8000, 2048);
	tb_end(&b);
	expect("no-ledger-ref-held-twin-ledger", &b, END);
	/* Twin: a trace without END says nothing about its end. */
	tb_init(&b);
	tb_ref(&b, 1, 8, TN_REF_POSTED, 0x8000, 2048);
	expect("no-ledger-ref-held-twin-incomplete", &b, TN_RULE_TRACE_INCOMPLETE, END);

	/* e1000e reads a buffer the driver freed through the ledger device. */
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 2048, 0, BUS);
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 2048, 0, TN_IRQL_PASSIVE);
	b.dev = 1;
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	tb_end(&b);
	expect_report("dev-dma-after-free-named", &b, "by e1000e 00:03.0 (device 1)");
	expect("dev-dma-after-free", &b, TN_RULE_DMA_AFTER_FREE, END);
	/* Twin: the same DMA before the free. */
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 2048, 0, BUS);
	b.dev = 1;
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	b.dev = 2;
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 2048, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("dev-dma-after-free-twin", &b, END);

	/* Memory freed under another device's running ring. */
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 4096, 0, BUS);
	b.dev = 1;
	tb_ring_enable(&b, TN_RING_ID_RX, 0x1000, 256);
	b.dev = 2;
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 4096, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect_detail("dev-ring-not-quiesced-detail", &b,
		      "the RX ring of e1000e 00:03.0 (device 1) (0x1000-0x1fff)", false);
	expect("dev-ring-not-quiesced", &b, TN_RULE_FREE_NOT_QUIESCED, END);
	/* Twin: that ring went idle first; tracenic's own RX ring idling is not enough. */
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 4096, 0, BUS);
	b.dev = 1;
	tb_ring_enable(&b, TN_RING_ID_RX, 0x1000, 256);
	tb_state(&b, TN_ST_RING_IDLE, TN_RING_ID_RX, 0);
	b.dev = 2;
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 4096, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("dev-ring-not-quiesced-twin", &b, END);
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 4096, 0, BUS);
	b.dev = 1;
	tb_ring_enable(&b, TN_RING_ID_RX, 0x1000, 256);
	b.dev = 0;
	tb_state(&b, TN_ST_RING_IDLE, TN_RING_ID_RX, 0);
	b.dev = 2;
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 4096, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("dev-ring-idle-of-other-device", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/*
	 * A drained reference of e1000e counts as held until the driver sees
	 * e1000e's drain: tracenic's QUIESCED_SEEN does not release it.
	 */
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 2048, 0, BUS);
	b.dev = 1;
	tb_ref(&b, 1, 7, TN_REF_PREFETCH, 0x1000, 2048);
	tb_ref(&b, 0, 7, TN_REF_PREFETCH, 0x1000, 2048);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	b.dev = 0;
	tb_state(&b, TN_ST_QUIESCED_SEEN, TN_RING_ID_NONE, 1);
	b.dev = 2;
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 2048, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("dev-drain-seen-of-other-device", &b, TN_RULE_FREE_NOT_QUIESCED, END);
	/* Twin: the driver saw e1000e's own drain end. */
	tb_three_devices(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 2048, 0, BUS);
	b.dev = 1;
	tb_ref(&b, 1, 7, TN_REF_PREFETCH, 0x1000, 2048);
	tb_ref(&b, 0, 7, TN_REF_PREFETCH, 0x1000, 2048);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	tb_state(&b, TN_ST_QUIESCED_SEEN, TN_RING_ID_NONE, 1);
	b.dev = 2;
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x1000, 2048, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("dev-drain-seen-twin", &b, END);
}

static void dma_rules(void)
{
	struct tb b;

	/* DMA into a buffer after its FREE. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	b.now = 10;
	tb_free(&b, 1, FS, 0x1000, 256, 0, PASSIVE);
	b.now = 20;
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x1010, 64);
	tb_end(&b);
	expect("dma-after-free", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Twin: the bytes were allocated again before the DMA. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_free(&b, 1, FS, 0x1000, 256, 0, PASSIVE);
	tb_alloc1(&b, 2, SH, 0x1000, 256, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x1010, 64);
	tb_end(&b);
	expect("dma-after-free-twin-realloc", &b, END);

	/* Twin: one byte before the freed region, inside a live neighbour. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_alloc1(&b, 2, SH, 0x0f00, 256, 0, BUS);
	tb_free(&b, 1, FS, 0x1000, 256, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x0fff, 1);
	tb_end(&b);
	expect("dma-after-free-twin-byte-before", &b, END);

	/* An IOMMU blocked it, but the driver still handed out freed memory. */
	tb_init(&b);
	tb_map(&b, 5, 0x8000, 1514);
	tb_unmap(&b, 5, 1514);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ, 0x8000, 1514);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_MEMTX;
	tb_end(&b);
	expect("dma-after-unmap-iommu-blocked", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Twin: bus mastering was off: the device never issued the access. */
	tb_init(&b);
	tb_map(&b, 5, 0x8000, 1514);
	tb_unmap(&b, 5, 1514);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ, 0x8000, 1514);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_BUS_MASTER;
	tb_end(&b);
	expect("dma-after-unmap-twin-bus-master-off", &b, END);

	/* Two 2 KiB buffers share a page; both unmapped; DMA into the first one. */
	tb_init(&b);
	tb_map(&b, 1, 0x10000, 2048);
	tb_map(&b, 2, 0x10800, 2048);
	tb_unmap(&b, 1, 2048);
	tb_unmap(&b, 2, 2048);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x10000, 64);
	tb_end(&b);
	expect("dma-after-free-same-page", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* A freed 4 KiB region, then a 512-byte one on its first bytes freed too:
	 * the tail still belongs to the first region's free. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x30000, 4096, 0, BUS);
	tb_free(&b, 1, FS, 0x30000, 4096, 0, PASSIVE);
	tb_alloc1(&b, 2, SH, 0x30000, 512, 0, BUS);
	tb_free(&b, 2, FS, 0x30000, 512, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x30800, 64);
	tb_end(&b);
	expect("dma-after-free-layered", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Freed long ago: 100000 other map/unmap pairs in between. */
	tb_init(&b);
	tb_map(&b, 1, 0x10000, 2048);
	tb_unmap(&b, 1, 2048);
	for (uint32_t i = 0; i < 100000; i++) {
		tb_map(&b, 100 + i, 0x100000000ull + (uint64_t)i * 4096, 2048);
		tb_unmap(&b, 100 + i, 2048);
	}
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x10000, 64);
	tb_end(&b);
	expect("dma-after-free-long-ago", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Half of a freed region covered again; the DMA spans both halves. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x20000, 8192, 0, BUS);
	tb_free(&b, 1, FS, 0x20000, 8192, 0, PASSIVE);
	tb_alloc1(&b, 2, SH, 0x20000, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x20f00, 0x200);
	tb_end(&b);
	expect("dma-after-free-half-reused", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Twin: the DMA stays in the reused half. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x20000, 8192, 0, BUS);
	tb_free(&b, 1, FS, 0x20000, 8192, 0, PASSIVE);
	tb_alloc1(&b, 2, SH, 0x20000, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x20e00, 0x200);
	tb_end(&b);
	expect("dma-after-free-twin-half-reused", &b, END);

	/* Twin: one byte past the freed buffer, where nothing ever was: wild. */
	tb_init(&b);
	tb_map(&b, 1, 0x50000, 2048);
	tb_unmap(&b, 1, 2048);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x50800, 1);
	tb_end(&b);
	expect("dma-after-free-twin-byte-after-is-wild", &b, TN_RULE_WILD_DMA, END);

	/* A pool buffer mapped per packet (identity bus address): DMA through the
	 * mapping is fine, after its UNMAP it is after-free, not non-DMA memory. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x60000, 2048, 0, PHYS);
	tb_map(&b, 2, 0x60000, 2048);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x60000, 1514);
	tb_unmap(&b, 2, 2048);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x60000, 1514);
	tb_end(&b);
	expect("dma-after-unmap-of-pool-buffer", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Twin: only the DMA while mapped. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x60000, 2048, 0, PHYS);
	tb_map(&b, 2, 0x60000, 2048);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x60000, 1514);
	tb_unmap(&b, 2, 2048);
	tb_end(&b);
	expect("dma-after-unmap-twin-pool-buffer-mapped", &b, END);

	/* A valid allocation of 5000 non-adjacent pages (the 16-bit extent count allows 65535). */
	tb_init(&b);
	tb_alloc(&b, 1, TN_API_MEMORY, 0xffff888000000000ull, 5000 * 4096, 0, 5000);
	for (uint32_t i = 0; i < 5000; i++)
		tb_extent(&b, 1, (uint16_t)i, 0x1000000ull + (uint64_t)i * 8192, 4096, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000000ull + 4999ull * 8192, 64);
	tb_free(&b, 1, FM, 0x0, 5000 * 4096, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000000ull + 2500ull * 8192, 64);
	tb_end(&b);
	expect("dma-after-free-5000-extents", &b, TN_RULE_DMA_AFTER_FREE, END);

	/* Overrun past the end of a buffer. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x1f00, 0x200);
	tb_end(&b);
	/* The report names the buffer the access ran past. */
	expect_detail("wild-dma-overrun-names-the-buffer", &b,
		      "directly after the end of NdisMAllocateSharedMemory id 1's extent 0x1000+4096",
		      false);
	expect("wild-dma-overrun", &b, TN_RULE_WILD_DMA, END);

	/* Twin: wild bytes not adjacent to any extent name nothing. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x3000, 0x200);
	tb_end(&b);
	expect_detail("wild-dma-far-names-nothing", &b, "directly after", true);
	free(b.buf);

	/* Twin: exactly up to the end. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x1f00, 0x100);
	tb_end(&b);
	expect("wild-dma-twin-exact-end", &b, END);

	/* A two-page buffer whose pages are not adjacent, DMA'd as one range. */
	tb_init(&b);
	tb_alloc(&b, 1, TN_API_MEMORY, 0xffff888000010000ull, 8192, CONTIG, 2);
	tb_extent(&b, 1, 0, 0x10000, 4096, BUS);
	tb_extent(&b, 1, 1, 0x30000, 4096, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x10000, 8192);
	tb_end(&b);
	expect_detail("wild-dma-noncontiguous-names-the-page", &b,
		      "after the end of NdisAllocateMemory id 1's extent 0x10000+4096 (2 extents)",
		      false);
	expect("wild-dma-noncontiguous", &b, TN_RULE_WILD_DMA, END);

	/* Twin: the two pages are adjacent, so the range is covered. */
	tb_init(&b);
	tb_alloc(&b, 1, TN_API_MEMORY, 0xffff888000010000ull, 8192, CONTIG, 2);
	tb_extent(&b, 1, 0, 0x10000, 4096, BUS);
	tb_extent(&b, 1, 1, 0x11000, 4096, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x10000, 8192);
	tb_end(&b);
	expect("wild-dma-twin-contiguous", &b, END);

	/* Pool memory handed to the device. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x5000, 256, 0, PHYS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x5000, 128);
	tb_end(&b);
	expect("dma-non-dma-memory", &b, TN_RULE_DMA_NON_DMA_MEMORY, END);

	/* Twin: shared memory is device-visible. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x5000, 256, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x5000, 128);
	tb_end(&b);
	expect("dma-non-dma-memory-twin-shared", &b, END);
}

static void quiesce_rules(void)
{
	static uint32_t ref_ids[3000];	/* unpatterned ids: they collide in the id map */
	struct tb b;

	srand(7);
	for (uint32_t i = 0; i < 3000; i++)
		ref_ids[i] = (uint32_t)rand() << 12 | i;

	/* Freed while a prefetched descriptor still points into it. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x2000, 2048, 0, BUS);
	tb_ref(&b, 1, 9, TN_REF_PREFETCH, 0x2000, 2048);
	tb_free(&b, 1, FS, 0x2000, 2048, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-prefetch", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/* Freed the ring right after clearing ENABLE, before the drain ended. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x3000, 4096, 0, BUS);
	tb_ref(&b, 1, 1, TN_REF_RING, 0x3000, 4096);
	tb_state(&b, TN_ST_RING_ENABLE, TN_RING_ID_RX, 0x3000);
	tb_state(&b, TN_ST_QUIESCED, 0xff, 0);
	b.now = 100;
	tb_state(&b, TN_ST_RING_DISABLE, TN_RING_ID_RX, 0);
	tb_free(&b, 1, FS, 0x3000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-ring", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/* The drain did finish, but the driver never looked: it won a race. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x3000, 4096, 0, BUS);
	tb_ref(&b, 1, 1, TN_REF_RING, 0x3000, 4096);
	tb_state(&b, TN_ST_RING_ENABLE, TN_RING_ID_RX, 0x3000);
	tb_state(&b, TN_ST_RING_DISABLE, TN_RING_ID_RX, 0);
	b.now = 20000;
	tb_ref(&b, 0, 1, TN_REF_RING, 0x3000, 4096);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	tb_state(&b, TN_ST_RING_IDLE, TN_RING_ID_RX, 0);
	tb_state(&b, TN_ST_QUIESCED, 0xff, 1);
	tb_free(&b, 1, FS, 0x3000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-drain-unobserved", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/* Twin: the same, but the driver read QUIESCED before freeing. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x3000, 4096, 0, BUS);
	tb_ref(&b, 1, 1, TN_REF_RING, 0x3000, 4096);
	tb_state(&b, TN_ST_RING_ENABLE, TN_RING_ID_RX, 0x3000);
	tb_state(&b, TN_ST_RING_DISABLE, TN_RING_ID_RX, 0);
	b.now = 20000;
	tb_ref(&b, 0, 1, TN_REF_RING, 0x3000, 4096);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	tb_state(&b, TN_ST_RING_IDLE, TN_RING_ID_RX, 0);
	tb_state(&b, TN_ST_QUIESCED, 0xff, 1);
	tb_state(&b, TN_ST_QUIESCED_SEEN, 0xff, 1);
	tb_free(&b, 1, FS, 0x3000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-twin-after-quiesced", &b, END);

	/* Twin: 3000 prefetched buffers dropped by a drain, then observed: every one
	 * is forgotten (the id map is edited while it is walked), none fires. */
	tb_init(&b);
	for (uint32_t i = 0; i < 3000; i++) {
		tb_map(&b, 10 + i, 0x100000 + (uint64_t)i * 2048, 2048);
		tb_ref(&b, 1, ref_ids[i], TN_REF_PREFETCH, 0x100000 + (uint64_t)i * 2048, 2048);
	}
	for (uint32_t i = 0; i < 3000; i++) {
		tb_ref(&b, 0, ref_ids[i], TN_REF_PREFETCH, 0x100000 + (uint64_t)i * 2048, 2048);
		((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	}
	tb_state(&b, TN_ST_QUIESCED_SEEN, 0xff, 1);
	for (uint32_t i = 0; i < 3000; i++)
		tb_unmap(&b, 10 + i, 2048);
	tb_end(&b);
	expect("free-not-quiesced-twin-3000-drained-observed", &b, END);

	/* Twin: per-ring observation (RING_STATUS.ACTIVE clear) of the RX ring. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x3000, 4096, 0, BUS);
	tb_ref(&b, 1, 1, TN_REF_RING, 0x3000, 4096);
	tb_ref(&b, 0, 1, TN_REF_RING, 0x3000, 4096);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.ref.drained = 1;
	tb_state(&b, TN_ST_QUIESCED_SEEN, TN_RING_ID_RX, 2);
	tb_free(&b, 1, FS, 0x3000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-twin-ring-status", &b, END);

	/* The RX ring's memory freed while the ring is enabled, no reference reported. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x60000, 4096, 0, BUS);
	tb_ring_enable(&b, TN_RING_ID_RX, 0x60000, 256);
	tb_state(&b, TN_ST_QUIESCED, 0xff, 0);
	tb_free(&b, 1, FS, 0x60000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-ring-enabled", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/* Twin: another buffer freed while that ring runs; the ring is elsewhere. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x60000, 4096, 0, BUS);
	tb_alloc1(&b, 2, SH, 0x61000, 4096, 0, BUS);
	tb_ring_enable(&b, TN_RING_ID_RX, 0x60000, 256);
	tb_state(&b, TN_ST_QUIESCED, 0xff, 0);
	tb_free(&b, 2, FS, 0x61000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-twin-ring-elsewhere", &b, END);

	/* Twin: the ring went idle (drained) before the free. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x60000, 4096, 0, BUS);
	tb_ring_enable(&b, TN_RING_ID_RX, 0x60000, 256);
	tb_state(&b, TN_ST_RING_DISABLE, TN_RING_ID_RX, 0);
	tb_state(&b, TN_ST_RING_IDLE, TN_RING_ID_RX, 0);
	tb_state(&b, TN_ST_QUIESCED, 0xff, 1);
	tb_free(&b, 1, FS, 0x60000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-not-quiesced-twin-ring-idle", &b, END);

	/* An in-flight transfer into a buffer unmapped before it completed. */
	tb_init(&b);
	tb_map(&b, 2, 0x9000, 1514);
	tb_ref(&b, 1, 7, TN_REF_INFLIGHT, 0x9000, 1514);
	tb_unmap(&b, 2, 1514);
	tb_end(&b);
	expect("free-not-quiesced-inflight", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/* Twin: the reference ends one byte before the mapping. */
	tb_init(&b);
	tb_map(&b, 2, 0x9000, 1514);
	tb_ref(&b, 1, 7, TN_REF_INFLIGHT, 0x8000, 0x1000);
	tb_unmap(&b, 2, 1514);
	tb_end(&b);
	expect("free-not-quiesced-twin-ref-byte-before", &b, END);

	/* Twin: a TX buffer unmapped after its descriptor completed, ring still running. */
	tb_init(&b);
	tb_ref(&b, 1, 1, TN_REF_RING, 0x3000, 4096);
	tb_map(&b, 2, 0x9000, 1514);
	tb_ref(&b, 1, 2, TN_REF_PREFETCH, 0x9000, 1514);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x9000, 1514);
	tb_ref(&b, 0, 2, TN_REF_PREFETCH, 0x9000, 1514);
	tb_unmap(&b, 2, 1514);
	tb_end(&b);
	expect("free-not-quiesced-twin-completed-tx", &b, END);

	/* Twin: a reference with id 0 (no id the map can hold) is ignored, not an error. */
	tb_init(&b);
	tb_map(&b, 2, 0x9000, 1514);
	tb_ref(&b, 1, 0, TN_REF_PREFETCH, 0x9000, 1514);
	tb_unmap(&b, 2, 1514);
	tb_end(&b);
	expect("free-not-quiesced-twin-ref-id-0", &b, END);
}

static void free_rules(void)
{
	struct tb b;

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, CONTIG, BUS);
	tb_free(&b, 1, FM, 0x4000, 8192, 0, PASSIVE);
	tb_end(&b);
	expect("free-flags-contiguous-passed-zero", &b, TN_RULE_FREE_FLAGS, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, CONTIG, BUS);
	tb_free(&b, 1, FM, 0x4000, 8192, CONTIG, PASSIVE);
	tb_end(&b);
	expect("free-flags-twin-matching", &b, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 100, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 100, CONTIG, PASSIVE);
	tb_end(&b);
	expect("free-flags-pool-nonzero", &b, TN_RULE_FREE_FLAGS, END);

	/* Pool memory: Length is ignored. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 100, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 12345, 0, DISPATCH);
	tb_end(&b);
	expect("free-length-twin-pool-ignored", &b, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, CONTIG, BUS);
	tb_free(&b, 1, FM, 0x4000, 4096, CONTIG, PASSIVE);
	tb_end(&b);
	expect("free-length-contiguous", &b, TN_RULE_FREE_LENGTH, END);

	/* NdisAllocateMemory with flags 0 and MemoryFlags 0: Length ignored. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 1, 0, DISPATCH);
	tb_end(&b);
	expect("free-length-twin-flags-zero", &b, END);

	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x4000, 8192, TN_FLAG_SHARED_CACHED, BUS);
	tb_free(&b, 1, FS, 0x4000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-shared-length-and-cached", &b, TN_RULE_FREE_LENGTH, TN_RULE_FREE_FLAGS, END);

	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x4000, 8192, 0, BUS);
	tb_free(&b, 1, FM, 0x4000, 8192, 0, PASSIVE);
	tb_end(&b);
	expect("free-api-shared-with-freememory", &b, TN_RULE_FREE_API, END);

	/* dma_alloc_coherent memory (the guest agent's ledger): freed with another size. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_DMA_COHERENT, 0x4000, 8192, 0, BUS);
	tb_free(&b, 1, TN_FREE_API_DMA_FREE, 0x4000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("free-length-dma-coherent", &b, TN_RULE_FREE_LENGTH, END);

	/* Twin: its own size, in softirq context (DISPATCH_LEVEL: allowed). */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_DMA_COHERENT, 0x4000, 8192, 0, BUS);
	tb_free(&b, 1, TN_FREE_API_DMA_FREE, 0x4000, 8192, 0, DISPATCH);
	tb_end(&b);
	expect("free-length-twin-dma-coherent", &b, END);

	/* With interrupts off (DIRQL), and through an NDIS free function. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_DMA_COHERENT, 0x4000, 8192, 0, BUS);
	tb_free(&b, 1, FS, 0x4000, 8192, 0, TN_IRQL_DIRQL);
	tb_end(&b);
	expect("free-api-irql-dma-coherent", &b, TN_RULE_FREE_API, TN_RULE_FREE_IRQL, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, CONTIG, BUS);
	tb_free(&b, 1, FM, 0x4000, 8192, CONTIG, DISPATCH);
	tb_end(&b);
	expect("free-irql-contiguous-dispatch", &b, TN_RULE_FREE_IRQL, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, NONCACHED, BUS);
	tb_free(&b, 1, FM, 0x4000, 8192, NONCACHED, DISPATCH);
	tb_end(&b);
	expect("free-irql-noncached-dispatch", &b, TN_RULE_FREE_IRQL, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_MEMORY, 0x4000, 8192, NONCACHED, BUS);
	tb_free(&b, 1, FM, 0x4000, 8192, NONCACHED, TN_IRQL_APC);
	tb_end(&b);
	expect("free-irql-twin-noncached-apc", &b, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 64, 0, TN_IRQL_DIRQL);
	tb_end(&b);
	expect("free-irql-pool-dirql", &b, TN_RULE_FREE_IRQL, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 64, 0, DISPATCH);
	tb_end(&b);
	expect("free-irql-twin-pool-dispatch", &b, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 64, 0, PASSIVE);
	tb_free(&b, 1, FM, 0x4000, 64, 0, PASSIVE);
	tb_end(&b);
	expect("double-free", &b, TN_RULE_DOUBLE_FREE, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 64, 0, PASSIVE);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_free(&b, 1, FM, 0x4000, 64, 0, PASSIVE);
	tb_end(&b);
	expect("double-free-twin-id-reused", &b, END);

	tb_init(&b);
	tb_free(&b, 99, FM, 0x4000, 64, 0, PASSIVE);
	tb_end(&b);
	expect("free-unknown", &b, TN_RULE_FREE_UNKNOWN, END);

	/* FREE of a live mapping's id: free-unknown, saying it is a mapping. */
	tb_init(&b);
	tb_map(&b, 7, 0x7000, 1514);
	tb_free(&b, 7, FM, 0x7000, 1514, 0, PASSIVE);
	tb_unmap(&b, 7, 1514);
	tb_end(&b);
	expect_detail("free-unknown-of-mapping-detail", &b,
		      "id 7 is a live DMA mapping (VA 0xffff888000007000, length 1514), not an "
		      "allocation: a mapping is released with UNMAP", false);
	expect("free-unknown-of-mapping", &b, TN_RULE_FREE_UNKNOWN, END);

	/* Twin: the mapping released with UNMAP. */
	tb_init(&b);
	tb_map(&b, 7, 0x7000, 1514);
	tb_unmap(&b, 7, 1514);
	tb_end(&b);
	expect("free-unknown-of-mapping-twin-unmapped", &b, END);

	/* Twin: a FREE of an id nothing has: the generic words. */
	tb_init(&b);
	tb_free(&b, 7, FM, 0x7000, 1514, 0, PASSIVE);
	tb_end(&b);
	expect_detail("free-unknown-twin-no-such-id-detail", &b, "no live allocation has id 7",
		      false);
	free(b.buf);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_free(&b, 1, FM, 0x4010, 64, 0, PASSIVE);
	tb_end(&b);
	expect("free-interior", &b, TN_RULE_FREE_INTERIOR, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_mark(&b, TN_MARK_HALT_BEGIN);
	tb_mark(&b, TN_MARK_HALT_END);
	tb_end(&b);
	expect("leak", &b, TN_RULE_LEAK, END);

	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, 0x4000, 64, 0, PHYS);
	tb_mark(&b, TN_MARK_HALT_BEGIN);
	tb_free(&b, 1, FM, 0x4000, 64, 0, PASSIVE);
	tb_mark(&b, TN_MARK_HALT_END);
	tb_end(&b);
	expect("leak-twin-freed-in-halt", &b, END);

	tb_init(&b);
	tb_map(&b, 3, 0x7000, 1514);
	tb_mark(&b, TN_MARK_HALT_END);
	tb_end(&b);
	expect("map-leak", &b, TN_RULE_MAP_LEAK, END);

	tb_init(&b);
	tb_unmap(&b, 3, 1514);
	tb_end(&b);
	expect("unmap-unknown", &b, TN_RULE_UNMAP_UNKNOWN, END);

	tb_init(&b);
	tb_map(&b, 3, 0x7000, 1514);
	tb_unmap(&b, 3, 1514);
	tb_mark(&b, TN_MARK_HALT_END);
	tb_end(&b);
	expect("map-leak-twin-unmapped", &b, END);
}

static void trace_rules(void)
{
	struct tb b;

	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	expect("trace-incomplete", &b, TN_RULE_TRACE_INCOMPLETE, END);

	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_end(&b);
	b.len += 20;	/* a cut-off record after END is still a cut-off record */
	expect("trace-incomplete-partial-record", &b, TN_RULE_TRACE_INCOMPLETE, END);

	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_rec(&b, TN_REC_TRUNCATED, 0, 0);
	tb_end(&b);
	expect("trace-truncated", &b, TN_RULE_TRACE_TRUNCATED, END);

	tb_init(&b);
	tb_rec(&b, TN_REC_WRITE_ERROR, 0, 0)->u.write_error.error = 28;
	tb_end(&b);
	expect("trace-write-error", &b, TN_RULE_TRACE_WRITE_ERROR, END);

	/* END counts dropped records, but the TRUNCATED record is missing: still truncated. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_end(&b);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.end.dropped = 3;
	expect_detail("trace-truncated-end-only-detail", &b,
		      "the END record counts 3 dropped records, but no TRUNCATED", false);
	expect("trace-truncated-end-only", &b, TN_RULE_TRACE_TRUNCATED, END);

	/* END's reason says writing failed, but the WRITE_ERROR record is missing. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_end(&b);
	((struct tn_rec *)(b.buf + b.len) - 1)->kind = TN_END_WRITE_ERROR;
	expect_detail("trace-write-error-end-only-detail", &b,
		      "the END record says writing failed", false);
	expect("trace-write-error-end-only", &b, TN_RULE_TRACE_WRITE_ERROR, END);

	/* Twin: END counts nothing dropped and closed normally. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_end(&b);
	expect("trace-end-only-twin-nothing-lost", &b, END);

	/* Twin: TRUNCATED and END agree: one trace-truncated, worded as the size cap. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_rec(&b, TN_REC_TRUNCATED, 0, 0);
	tb_end(&b);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.end.dropped = 3;
	expect_detail("trace-truncated-marked-detail", &b, "3 records were dropped at the size cap",
		      false);
	expect("trace-truncated-marked", &b, TN_RULE_TRACE_TRUNCATED, END);

	/*
	 * END's DMA and violation totals: equal to what was read when nothing was
	 * lost; at least that when records were dropped; anything else is refused.
	 */
	{
		static const struct { const char *name; int64_t d_bytes, d_vio; } bad[] = {
			{ "invalid-end-dma-bytes-low", -1, 0 },
			{ "invalid-end-dma-bytes-high", 4096, 0 },
			{ "invalid-end-violations-low", 0, -1 },
			{ "invalid-end-violations-high", 0, 2 },
		};
		struct tn_rec *end;
		size_t k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			tb_init(&b);
			tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
			tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
			tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ, 0x1040, 64);
			tb_rec(&b, TN_REC_VIOLATION, TN_RULE_WILD_DMA, 0);
			tb_end(&b);
			end = (struct tn_rec *)(b.buf + b.len) - 1;
			end->u.end.dma_bytes += bad[k].d_bytes;
			end->u.end.violations += bad[k].d_vio;
			expect_invalid(bad[k].name, b.buf, b.len,
				       "online violations, but the records before it hold 64 "
				       "and 1; the trace is corrupt");
			free(b.buf);
		}
	}
	/* Twin: the same trace with END's totals as the device writes them. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ, 0x1040, 64);
	tb_end(&b);
	expect("end-totals-twin-exact", &b, END);
	/* Twin: records were dropped at the cap, so END counts more than was kept. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	tb_rec(&b, TN_REC_TRUNCATED, 0, 0);
	tb_end(&b);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.end.dropped = 5;
	((struct tn_rec *)(b.buf + b.len) - 1)->u.end.dma_bytes += 5 * 64;
	((struct tn_rec *)(b.buf + b.len) - 1)->u.end.violations += 2;
	expect("end-totals-twin-dropped", &b, TN_RULE_TRACE_TRUNCATED, END);
	/* Twin: writing failed; that END is written before the totals are known (0). */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	tb_rec(&b, TN_REC_WRITE_ERROR, 0, 0)->u.write_error.error = 28;
	tb_end(&b);
	((struct tn_rec *)(b.buf + b.len) - 1)->kind = TN_END_WRITE_ERROR;
	((struct tn_rec *)(b.buf + b.len) - 1)->u.end.dma_bytes = 0;
	expect("end-totals-twin-write-error", &b, TN_RULE_TRACE_WRITE_ERROR, END);

	/* Hostile sizes that must be handled, not crash. */
	tb_init(&b);
	tb_alloc(&b, 1, SH, 0, 0xffffffff, 0, 65535);
	tb_extent(&b, 1, 0, UINT64_MAX - 10, 0xffffffff, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, UINT64_MAX - 4, 0xffffffff);
	tb_end(&b);
	expect("huge-lengths", &b, TN_RULE_WILD_DMA, END);
}

/*
 * The top of the 64-bit address space.  The device rejects an extent whose
 * end does not fit in 64 bits (bus + length wraps, ending exactly at 2^64
 * included), so the largest extent ends at 2^64 - 1 and no extent holds the
 * last byte: every DMA byte from 2^64 - 1 on, past 2^64 too, is wild.
 */
#define TOP UINT64_MAX

static void top_of_space(void)
{
	static const struct { const char *name; uint8_t type; uint32_t len; } top_byte[] = {
		{ "wild-dma-top-byte-read", TN_REC_DMA_READ, 1 },
		{ "wild-dma-top-byte-write", TN_REC_DMA_WRITE, 1 },
		{ "wild-dma-top-byte-failed", TN_REC_DMA_FAILED, 1 },
		{ "wild-dma-top-byte-4-gib", TN_REC_DMA_WRITE, 0xffffffff },
	};
	struct tb b;
	unsigned i;

	/* A DMA reaching the last byte, of any kind and length. */
	for (i = 0; i < sizeof(top_byte) / sizeof(top_byte[0]); i++) {
		tb_init(&b);
		tb_alloc1(&b, 1, SH, TOP - 4095, 4095, 0, BUS);
		/*
		 * From the byte below the top: a DMA starting at the top byte itself
		 * is DMA_MAPPING_ERROR (map-error-unchecked, map_error_rules()).
		 */
		tb_dma(&b, top_byte[i].type, TN_CAUSE_RX_BUF_WRITE, TOP - 1,
		       top_byte[i].len == UINT32_MAX ? UINT32_MAX : top_byte[i].len + 1);
		((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_MEMTX;
		tb_end(&b);
		expect(top_byte[i].name, &b, TN_RULE_WILD_DMA, END);
	}

	/* Twin: bus mastering was off, so the device never issued it. */
	tb_init(&b);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_BUF_WRITE, TOP, 1);
	((struct tn_rec *)(b.buf + b.len) - 1)->u.dma.reason = TN_DMA_FAIL_BUS_MASTER;
	tb_end(&b);
	expect("wild-dma-top-byte-twin-bus-master-off", &b, END);

	/* A DMA ending exactly at 2^64 into the largest extent there can be: its last byte. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, TOP - 4095, 4095, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, TOP - 4095, 4096);
	tb_end(&b);
	expect_detail("wild-dma-ending-at-2-64-names-the-byte", &b,
		      "bytes 0xffffffffffffffff-0xffffffffffffffff (the top of the 64-bit address "
		      "space, where no extent reaches), directly after the end of "
		      "NdisMAllocateSharedMemory id 1's extent 0xfffffffffffff000+4095", false);
	expect("wild-dma-ending-at-2-64", &b, TN_RULE_WILD_DMA, END);

	/* Twin: the same DMA one byte shorter stays in the extent. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, TOP - 4095, 4095, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, TOP - 4095, 4095);
	tb_end(&b);
	expect("wild-dma-ending-at-2-64-twin-one-byte-shorter", &b, END);

	/* A hand-made extent ending exactly at 2^64, which the device rejects: it covers nothing. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, TOP - 4095, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, TOP - 4095, 64);
	tb_end(&b);
	expect("extent-ending-at-2-64-covers-nothing", &b, TN_RULE_WILD_DMA, END);

	/* A DMA across 2^64 where nothing is: one wild run, its end printed in 65 bits. */
	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);	/* a ledger: DMA is judged */
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TOP - 15, 64);
	tb_end(&b);
	expect_detail("wild-dma-across-2-64-detail", &b,
		      "bytes 0xfffffffffffffff0-0x1000000000000002f (the top", false);
	expect("wild-dma-across-2-64", &b, TN_RULE_WILD_DMA, END);

	/* Across 2^64 from freed memory: after-free below the top, wild from it. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, TOP - 4095, 4095, 0, BUS);
	tb_free(&b, 1, FS, TOP - 4095, 4095, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TOP - 15, 64);
	tb_end(&b);
	expect("dma-after-free-across-2-64", &b, TN_RULE_DMA_AFTER_FREE, TN_RULE_WILD_DMA, END);

	/* Across 2^64 from pool memory: non-DMA memory below the top, wild from it. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_POOL, TOP - 4095, 4095, 0, PHYS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TOP - 15, 64);
	tb_end(&b);
	expect("dma-non-dma-memory-across-2-64", &b, TN_RULE_DMA_NON_DMA_MEMORY, TN_RULE_WILD_DMA,
	       END);

	/* Twin: the same start, ending just below the top, in live shared memory. */
	tb_init(&b);
	tb_alloc1(&b, 1, SH, TOP - 4095, 4095, 0, BUS);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TOP - 15, 15);
	tb_end(&b);
	expect("dma-across-2-64-twin-below-the-top", &b, END);

	/*
	 * A hand-made region whose first extent wraps: the device rejects it, and
	 * then the second as out of order; neither covers memory, and the region's
	 * FREE is still an ordinary free.
	 */
	tb_init(&b);
	tb_alloc(&b, 1, SH, 0xffff888000001000ull, 8192, 0, 2);
	tb_extent(&b, 1, 0, TOP - 15, 64, BUS);
	tb_extent(&b, 1, 1, 0x1000, 4096, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	tb_free(&b, 1, FS, 0x1000, 8192, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, TOP - 15, 8);
	tb_end(&b);
	expect("extent-wrapping-covers-nothing", &b, TN_RULE_WILD_DMA, END);

	/* Twin: both extents valid: the first DMA is fine, the second after the free. */
	tb_init(&b);
	tb_alloc(&b, 1, SH, 0xffff888000001000ull, 8192, 0, 2);
	tb_extent(&b, 1, 0, TOP - 64, 64, BUS);
	tb_extent(&b, 1, 1, 0x1000, 4096, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x1000, 64);
	tb_free(&b, 1, FS, 0x1000, 8192, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, TOP - 64, 8);
	tb_end(&b);
	expect("extent-wrapping-twin-valid", &b, TN_RULE_DMA_AFTER_FREE, END);
}

/*
 * A trace from a VM that on-violation=stop paused and that was then ended:
 * header flag STOP, a VIOLATION record, no END.  Without the option (the
 * corpus's .expect) it is trace-incomplete; with --stopped-on-violation it is
 * not, unless the pause cannot have happened (no STOP flag, no VIOLATION) or
 * the last record is cut short.
 */
static void stopped_trace(struct tb *b, uint32_t flags, bool violation)
{
	tb_init(b);
	((struct tn_trace_header *)b->buf)->flags = flags;
	tb_map(b, 5, 0x8000, 1514);
	tb_unmap(b, 5, 1514);
	tb_dma(b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x8000, 64);
	if (violation)
		tb_rec(b, TN_REC_VIOLATION, TN_RULE_DMA_AFTER_FREE, 5)->u.violation.addr = 0x8000;
}

/* With --stopped-on-violation, exactly @rules (bits) fire and @stopped is as said. */
static void expect_stopped(const char *name, const struct tb *b, unsigned rules, bool stopped)
{
	const struct dc_options opt = { .stopped_on_violation = true };
	struct dc_result res;
	char err[512];
	unsigned got = 0, r;

	if (dc_replay(b->buf, b->len, &opt, &res, err, sizeof(err))) {
		printf("FAIL %s: rejected: %s\n", name, err);
		failed++;
		return;
	}
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++)
		if (res.rule_count[r])
			got |= 1u << r;
	if (got == rules && res.stopped == stopped) {
		printf("ok   %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: rules 0x%x (expected 0x%x), stopped %d (expected %d)\n", name, got,
		       rules, res.stopped, stopped);
		failed++;
	}
	dc_result_free(&res);
}

static void stopped_on_violation(void)
{
	const uint32_t stop = TN_TRACE_F_CHECK | TN_TRACE_F_STOP;
	const unsigned daf = 1u << TN_RULE_DMA_AFTER_FREE;
	const unsigned inc = 1u << TN_RULE_TRACE_INCOMPLETE;
	struct tb b;

	stopped_trace(&b, stop, true);
	expect_stopped("stopped-on-violation-ends-at-the-stop", &b, daf, true);
	expect("stopped-on-violation", &b, TN_RULE_DMA_AFTER_FREE, TN_RULE_TRACE_INCOMPLETE, END);

	/* Twin: the device did not record a violation, so no pause happened. */
	stopped_trace(&b, stop, false);
	expect_stopped("stopped-on-violation-twin-no-violation-record", &b, daf | inc, false);
	expect("stopped-on-violation-twin-no-violation", &b, TN_RULE_DMA_AFTER_FREE,
	       TN_RULE_TRACE_INCOMPLETE, END);

	/* Twin: on-violation was not stop (header without TN_TRACE_F_STOP). */
	stopped_trace(&b, TN_TRACE_F_CHECK, true);
	expect_stopped("stopped-on-violation-twin-no-stop-flag-option", &b, daf | inc, false);
	expect("stopped-on-violation-twin-no-stop-flag", &b, TN_RULE_DMA_AFTER_FREE,
	       TN_RULE_TRACE_INCOMPLETE, END);

	/* Twin: the last record is cut short: that is not a pause. */
	stopped_trace(&b, stop, true);
	b.len += 20;
	expect_stopped("stopped-on-violation-twin-cut-short-option", &b, daf | inc, false);
	expect("stopped-on-violation-twin-cut-short", &b, TN_RULE_DMA_AFTER_FREE,
	       TN_RULE_TRACE_INCOMPLETE, END);

	/* Twin: the trace has its END after all: an ordinary complete trace. */
	stopped_trace(&b, stop, true);
	tb_end(&b);
	expect_stopped("stopped-on-violation-twin-complete-option", &b, daf, false);
	expect("stopped-on-violation-twin-complete", &b, TN_RULE_DMA_AFTER_FREE, END);
}

/* A hopeless trace: every distinct violation beyond the cap is counted, not stored. */
static void violation_cap(void)
{
	const uint32_t n = DC_MAX_VIOLATIONS + 50000;
	struct dc_result res;
	char err[512];
	struct tb b;
	bool ok;

	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);		/* a ledger: DMA is judged */
	for (uint32_t i = 0; i < n; i++)	/* a different page each: nothing merges them */
		tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x100000000ull + (uint64_t)i * 4096, 64);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x100000000ull, 64);	/* a repeat */
	tb_end(&b);
	ok = dc_replay(b.buf, b.len, NULL, &res, err, sizeof(err)) == 0 &&
	     res.nv == DC_MAX_VIOLATIONS && res.not_itemised == 50000 &&
	     res.rule_count[TN_RULE_WILD_DMA] == n + 1 && res.v[0].count == 2;
	printf("%s violation-cap (%zu itemised, %llu not)\n", ok ? "ok  " : "FAIL", res.nv,
	       (unsigned long long)res.not_itemised);
	ok ? passed++ : failed++;
	dc_result_free(&res);
	free(b.buf);
}

static void invalid_inputs(void)
{
	struct tb b;
	uint8_t *copy;

	tb_init(&b);
	tb_end(&b);
	expect_invalid("invalid-short", b.buf, 100, "fewer than");
	copy = malloc(b.len);
	memcpy(copy, b.buf, b.len);
	copy[0] = 'X';
	expect_invalid("invalid-magic", copy, b.len, "magic");
	memcpy(copy, b.buf, b.len);
	copy[8] = 2;
	expect_invalid("invalid-version", copy, b.len, "version 2");
	memcpy(copy, b.buf, b.len);
	copy[12] = 64;
	expect_invalid("invalid-record-size", copy, b.len, "record size");
	free(copy);
	free(b.buf);

	tb_init(&b);
	b.now = 100;
	tb_mark(&b, TN_MARK_STEP);
	b.now = 50;
	tb_mark(&b, TN_MARK_STEP);
	tb_end(&b);
	expect_invalid("invalid-time-backwards", b.buf, b.len, "back in time");
	free(b.buf);

	tb_init(&b);
	tb_rec(&b, 99, 0, 0);
	expect_invalid("invalid-type", b.buf, b.len, "unknown type 99");
	free(b.buf);

	tb_init(&b);
	tb_device(&b, 1, "e1000e", E1000E_VENDOR, E1000E_DEVICE, 3 << 3);
	((struct tn_rec *)(b.buf + b.len) - 1)->idx = 2;
	tb_end(&b);
	expect_invalid("invalid-device-number", b.buf, b.len, "carries another device number");
	free(b.buf);

	tb_init(&b);
	b.dev = 1;
	tb_mark(&b, TN_MARK_STEP);
	tb_device(&b, 1, "e1000e", E1000E_VENDOR, E1000E_DEVICE, 3 << 3);
	tb_end(&b);
	expect_invalid("invalid-device-late", b.buf, b.len, "already wrote records");
	free(b.buf);

	tb_init(&b);
	tb_device(&b, 1, "e1000e", E1000E_VENDOR, E1000E_DEVICE, 3 << 3);
	tb_device(&b, 1, "e1000e", E1000E_VENDOR, E1000E_DEVICE, 3 << 3);
	tb_end(&b);
	expect_invalid("invalid-device-twice", b.buf, b.len, "announces device 1 a second time");
	free(b.buf);

	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_rec(&b, TN_REC_END, TN_END_CLOSE, 0)->u.end.records = 7;
	expect_invalid("invalid-end-count", b.buf, b.len, "records were lost");
	free(b.buf);

	tb_init(&b);
	tb_mark(&b, TN_MARK_STEP);
	tb_rec(&b, TN_REC_END, TN_END_CLOSE, 0)->u.end.records = 0;
	expect_invalid("invalid-end-count-low", b.buf, b.len,
		       "counts 0 records but 1 precede it; 1 more than it counts");
	free(b.buf);

	tb_init(&b);
	tb_end(&b);
	tb_mark(&b, TN_MARK_STEP);
	expect_invalid("invalid-after-end", b.buf, b.len, "follows the END");
	free(b.buf);
}

/* The last record built: a DMA's fields the helpers leave at their defaults. */
static struct tn_rec *last_rec(struct tb *b)
{
	return (struct tn_rec *)(b->buf + b->len) - 1;
}

/*
 * dma-direction: the device may write only into a from-device mapping and
 * read only a to-device one (dma-debug's direction check); bidirectional
 * mappings take both, allocations have no direction.
 */
static void direction_rules(void)
{
	struct tb b;

	/* An RX buffer mapped to-device: the device writes the frame into it. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_TO_DEVICE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x8000, 64);
	tb_unmap(&b, 5, 1522);
	tb_end(&b);
	expect("dma-direction-rx-into-to-device", &b, TN_RULE_DMA_DIRECTION, END);

	/* Twin: mapped from-device, as an RX buffer must be. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_FROM_DEVICE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x8000, 64);
	tb_unmap(&b, 5, 1522);
	tb_end(&b);
	expect("dma-direction-twin-rx-from-device", &b, END);

	/* A TX buffer mapped from-device: the device reads it to send it. */
	tb_init(&b);
	tb_map_dir(&b, 6, 0x9000, 1514, TN_DIR_FROM_DEVICE);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x9000, 1514);
	tb_unmap(&b, 6, 1514);
	tb_end(&b);
	expect("dma-direction-tx-from-from-device", &b, TN_RULE_DMA_DIRECTION, END);

	/* Twin: bidirectional takes both; a coherent allocation has no direction. */
	tb_init(&b);
	tb_map_dir(&b, 6, 0x9000, 1514, TN_DIR_BIDIRECTIONAL);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, 0x9000, 1514);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x9000, 64);
	tb_alloc1(&b, 7, TN_API_DMA_COHERENT, 0x10000, 4096, 0, BUS);
	tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ, 0x10000, 16);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK, 0x1000c, 4);
	tb_unmap(&b, 6, 1514);
	tb_free(&b, 7, TN_FREE_API_DMA_FREE, 0x10000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("dma-direction-twin-bidirectional-and-coherent", &b, END);

	/* An IOMMU blocked the write into the read-only (to-device) mapping. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_TO_DEVICE);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_BUF_WRITE, 0x8000, 64);
	last_rec(&b)->u.dma.write = 1;
	last_rec(&b)->u.dma.reason = TN_DMA_FAIL_MEMTX;
	tb_unmap(&b, 5, 1522);
	tb_end(&b);
	expect("dma-direction-iommu-blocked-write", &b, TN_RULE_DMA_DIRECTION, END);

	/* Twin: a blocked read of the same mapping is no direction mistake. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_TO_DEVICE);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ, 0x8000, 64);
	last_rec(&b)->u.dma.reason = TN_DMA_FAIL_MEMTX;
	tb_unmap(&b, 5, 1522);
	tb_end(&b);
	expect("dma-direction-twin-iommu-blocked-read", &b, END);

	/* A write across a from-device mapping and a to-device one after it: one report. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 0x800, TN_DIR_FROM_DEVICE);
	tb_map_dir(&b, 6, 0x8800, 0x800, TN_DIR_TO_DEVICE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x8700, 0x200);
	tb_unmap(&b, 5, 0x800);
	tb_unmap(&b, 6, 0x800);
	tb_end(&b);
	expect("dma-direction-across-two-mappings", &b, TN_RULE_DMA_DIRECTION, END);
}

/*
 * unmap-mismatch: an unmap passes its map's size and direction (dma-debug:
 * "frees DMA memory with different size / direction").
 */
static void unmap_rules(void)
{
	struct tb b;

	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_FROM_DEVICE);
	tb_unmap_dir(&b, 5, 2048, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("unmap-mismatch-size", &b, TN_RULE_UNMAP_MISMATCH, END);

	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_FROM_DEVICE);
	tb_unmap_dir(&b, 5, 1522, TN_DIR_TO_DEVICE);
	tb_end(&b);
	expect("unmap-mismatch-direction", &b, TN_RULE_UNMAP_MISMATCH, END);

	/* Twin: its own size and direction. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_FROM_DEVICE);
	tb_unmap_dir(&b, 5, 1522, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("unmap-mismatch-twin-same", &b, END);

	/* Twin: an unmap that passes no direction (an API without one) is judged on size. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_TO_DEVICE);
	tb_unmap(&b, 5, 1522);
	tb_end(&b);
	expect("unmap-mismatch-twin-no-direction", &b, END);
}

/*
 * free-while-mapped: the page allocator got back pages a live mapping
 * covers (the agent's page-free probe, TN_FREE_API_PAGE_FREE); the device's
 * DMA after it is dma-after-free, and the mapping's own UNMAP still closes it.
 * unmap-unknown for a second unmap of one mapping (dma-debug: "device driver
 * tries to free DMA memory it has not allocated").
 */
static void page_free_rules(void)
{
	struct tb b;

	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 4096, TN_DIR_FROM_DEVICE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x8000, 64);
	tb_free(&b, 5, TN_FREE_API_PAGE_FREE, 0x8000, 4096, 0, PASSIVE);
	tb_unmap_dir(&b, 5, 4096, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("free-while-mapped", &b, TN_RULE_FREE_WHILE_MAPPED, END);

	/* The device writes into the page after the allocator got it back. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 4096, TN_DIR_FROM_DEVICE);
	tb_free(&b, 5, TN_FREE_API_PAGE_FREE, 0x8000, 4096, 0, PASSIVE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x8000, 64);
	tb_unmap_dir(&b, 5, 4096, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("free-while-mapped-then-dma", &b, TN_RULE_FREE_WHILE_MAPPED,
	       TN_RULE_DMA_AFTER_FREE, END);

	/* The late unmap is still judged on what its map passed. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 4096, TN_DIR_FROM_DEVICE);
	tb_free(&b, 5, TN_FREE_API_PAGE_FREE, 0x8000, 4096, 0, PASSIVE);
	tb_unmap_dir(&b, 5, 2048, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("free-while-mapped-unmap-mismatch", &b, TN_RULE_FREE_WHILE_MAPPED,
	       TN_RULE_UNMAP_MISMATCH, END);

	/* Twin: unmapped first (the page free then reports nothing), DMA before. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 4096, TN_DIR_FROM_DEVICE);
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x8000, 64);
	tb_unmap_dir(&b, 5, 4096, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("free-while-mapped-twin-unmap-first", &b, END);

	/* A second unmap of one mapping. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1514, TN_DIR_TO_DEVICE);
	tb_unmap_dir(&b, 5, 1514, TN_DIR_TO_DEVICE);
	tb_unmap_dir(&b, 5, 1514, TN_DIR_TO_DEVICE);
	tb_end(&b);
	expect("unmap-unknown-double-unmap", &b, TN_RULE_UNMAP_UNKNOWN, END);

	/* Twin: the id mapped again between the two unmaps. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1514, TN_DIR_TO_DEVICE);
	tb_unmap_dir(&b, 5, 1514, TN_DIR_TO_DEVICE);
	tb_map_dir(&b, 5, 0x8000, 1514, TN_DIR_TO_DEVICE);
	tb_unmap_dir(&b, 5, 1514, TN_DIR_TO_DEVICE);
	tb_end(&b);
	expect("unmap-unknown-twin-mapped-again", &b, END);

	/* Two pages of one mapping freed one after the other: one report. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 8192, TN_DIR_FROM_DEVICE);
	tb_free(&b, 5, TN_FREE_API_PAGE_FREE, 0x8000, 4096, 0, PASSIVE);
	tb_free(&b, 5, TN_FREE_API_PAGE_FREE, 0x9000, 4096, 0, PASSIVE);
	tb_unmap_dir(&b, 5, 8192, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("free-while-mapped-two-pages", &b, TN_RULE_FREE_WHILE_MAPPED, END);

	/* A page-free record after the unmap names nothing live. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 4096, TN_DIR_FROM_DEVICE);
	tb_unmap_dir(&b, 5, 4096, TN_DIR_FROM_DEVICE);
	tb_free(&b, 5, TN_FREE_API_PAGE_FREE, 0x8000, 4096, 0, PASSIVE);
	tb_end(&b);
	expect("page-free-of-nothing-live", &b, TN_RULE_FREE_UNKNOWN, END);
}

/*
 * map-error-unchecked: a failed map's DMA_MAPPING_ERROR posted to the device
 * (dma-debug: "device driver failed to check map error").  The kit refuses
 * the access (it runs past 2^64) and records it failed.
 */
static void map_error_rules(void)
{
	struct tb b;

	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_FROM_DEVICE);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_BUF_WRITE, TN_DMA_MAPPING_ERROR, 1522);
	last_rec(&b)->u.dma.write = 1;
	last_rec(&b)->u.dma.reason = TN_DMA_FAIL_WRAP;
	tb_unmap_dir(&b, 5, 1522, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("map-error-unchecked", &b, TN_RULE_MAP_ERROR_UNCHECKED, END);

	/* Without a ledger too: the value alone says it. */
	tb_init(&b);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ, TN_DMA_MAPPING_ERROR, 64);
	last_rec(&b)->u.dma.reason = TN_DMA_FAIL_WRAP;
	tb_end(&b);
	expect("map-error-unchecked-no-ledger", &b, TN_RULE_MAP_ERROR_UNCHECKED, END);

	/* Twin: an access near the top that is not the error value is wild, not this. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 1522, TN_DIR_FROM_DEVICE);
	tb_dma(&b, TN_REC_DMA_FAILED, TN_CAUSE_RX_BUF_WRITE, TN_DMA_MAPPING_ERROR - 0xfff, 64);
	last_rec(&b)->u.dma.write = 1;
	last_rec(&b)->u.dma.reason = TN_DMA_FAIL_MEMTX;
	tb_unmap_dir(&b, 5, 1522, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect("map-error-unchecked-twin-near-top", &b, TN_RULE_WILD_DMA, END);
}

/* A reference of @kind on @ring's descriptor @idx. */
static void ref_at(struct tb *b, int take, uint64_t id, uint8_t kind, uint8_t ring,
		   uint16_t idx, uint64_t addr, uint32_t len)
{
	tb_ref(b, take, id, kind, addr, len);
	last_rec(b)->u.ref.ring = ring;
	last_rec(b)->idx = idx;
}

/*
 * posted-twice: two receive descriptors' buffers overlap while the device
 * holds both (a refill that gave a buffer the device still owns to another
 * descriptor).  No ledger needed.
 */
static void posted_twice_rules(void)
{
	struct tb b;

	tb_init(&b);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 1, 12, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x8400, 2048);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 0, 12, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x8400, 2048);
	tb_end(&b);
	expect("posted-twice", &b, TN_RULE_POSTED_TWICE, END);

	/* A fetched descriptor's buffer against a posted one of another descriptor. */
	tb_init(&b);
	ref_at(&b, 1, 11, TN_REF_PREFETCH, TN_RING_ID_RX1, 3, 0x8000, 2048);
	ref_at(&b, 1, 12, TN_REF_POSTED, TN_RING_ID_RX1, 4, 0x8000, 2048);
	ref_at(&b, 0, 11, TN_REF_PREFETCH, TN_RING_ID_RX1, 3, 0x8000, 2048);
	ref_at(&b, 0, 12, TN_REF_POSTED, TN_RING_ID_RX1, 4, 0x8000, 2048);
	tb_end(&b);
	expect("posted-twice-prefetched", &b, TN_RULE_POSTED_TWICE, END);

	/* Twin: two TX descriptors read the same bytes. */
	tb_init(&b);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_TX, 0, 0x8000, 1514);
	ref_at(&b, 1, 12, TN_REF_POSTED, TN_RING_ID_TX, 1, 0x8000, 1514);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_TX, 0, 0x8000, 1514);
	ref_at(&b, 0, 12, TN_REF_POSTED, TN_RING_ID_TX, 1, 0x8000, 1514);
	tb_end(&b);
	expect("posted-twice-twin-tx-reads", &b, END);

	/* Twin: one descriptor's buffer posted, fetched and in flight at once. */
	tb_init(&b);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_RX, 5, 0x8000, 2048);
	ref_at(&b, 1, 12, TN_REF_PREFETCH, TN_RING_ID_RX, 5, 0x8000, 2048);
	ref_at(&b, 1, 13, TN_REF_INFLIGHT, TN_RING_ID_RX, 5, 0x8000, 2048);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_RX, 5, 0x8000, 2048);
	ref_at(&b, 0, 12, TN_REF_PREFETCH, TN_RING_ID_RX, 5, 0x8000, 2048);
	ref_at(&b, 0, 13, TN_REF_INFLIGHT, TN_RING_ID_RX, 5, 0x8000, 2048);
	tb_end(&b);
	expect("posted-twice-twin-one-descriptor", &b, END);

	/* Twin: the buffer given to the next descriptor after the device gave it back. */
	tb_init(&b);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 1, 12, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x8000, 2048);
	ref_at(&b, 0, 12, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x8000, 2048);
	tb_end(&b);
	expect("posted-twice-twin-reused-after", &b, END);

	/* Twin: adjacent buffers, and the RX ring's own reference over them. */
	tb_init(&b);
	ref_at(&b, 1, 10, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 0x1000);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 1, 12, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x8800, 2048);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 0, 12, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x8800, 2048);
	ref_at(&b, 0, 10, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 0x1000);
	tb_end(&b);
	expect("posted-twice-twin-adjacent", &b, END);
}

/*
 * Reference ids are 64 bits: a reference taken 2^32 references after one
 * still held has the same low half and must not be taken for it (a 32-bit
 * counter wrapped there, and the drop of the new one forgot the old one).
 */
static void ref_id_rules(void)
{
	const uint64_t later = (1ull << 32) | 11;	/* ref 11's low half */
	struct tb b;

	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 2048, TN_DIR_FROM_DEVICE);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 1, later, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x20000, 2048);
	ref_at(&b, 0, later, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x20000, 2048);
	tb_unmap_dir(&b, 5, 2048, TN_DIR_FROM_DEVICE);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	tb_end(&b);
	expect("ref-id-past-2-32-still-held", &b, TN_RULE_FREE_NOT_QUIESCED, END);

	/* Twin: the device gave reference 11 back before the unmap. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x8000, 2048, TN_DIR_FROM_DEVICE);
	ref_at(&b, 1, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	ref_at(&b, 1, later, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x20000, 2048);
	ref_at(&b, 0, 11, TN_REF_POSTED, TN_RING_ID_RX, 0, 0x8000, 2048);
	tb_unmap_dir(&b, 5, 2048, TN_DIR_FROM_DEVICE);
	ref_at(&b, 0, later, TN_REF_POSTED, TN_RING_ID_RX, 1, 0x20000, 2048);
	tb_end(&b);
	expect("ref-id-past-2-32-twin-dropped", &b, END);
}

/* A DMA made through reference @ref (its id in the record, as the device writes it). */
static void dma_via(struct tb *b, uint8_t type, uint8_t cause, uint64_t addr, uint32_t len,
		    uint64_t ref)
{
	tb_dma(b, type, cause, addr, len);
	last_rec(b)->id = (uint32_t)ref;
	last_rec(b)->u.dma.ref_hi = (uint32_t)(ref >> 32);
}

/*
 * Stale references: DMA through a reference the device took on memory that
 * has been freed since is dma-after-free even when the memory has been
 * allocated again (the bytes look live).  Twins: a reference taken anew on
 * the new memory (the ring programmed again), and a DMA with no reference.
 */
static void stale_ref_rules(void)
{
	struct tb b;

	/* The ring freed under the device, allocated again, read through the old ring reference. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_SHARED, 0x8000, 4096, 0, TN_EXT_BUS);
	ref_at(&b, 1, 10, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 4096);
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x8000, 4096, 0, TN_IRQL_PASSIVE);
	tb_alloc1(&b, 2, TN_API_SHARED, 0x8000, 4096, 0, TN_EXT_BUS);
	dma_via(&b, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ, 0x8040, 16, 10);
	ref_at(&b, 0, 10, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 4096);
	tb_free(&b, 2, TN_FREE_API_FREE_SHARED, 0x8000, 4096, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("stale-ref-ring-reallocated", &b, TN_RULE_FREE_NOT_QUIESCED, TN_RULE_DMA_AFTER_FREE,
	       END);

	/* A fetched buffer unmapped, its bytes mapped again, then written through the old fetch. */
	tb_init(&b);
	tb_map_dir(&b, 5, 0x20000, 2048, TN_DIR_FROM_DEVICE);
	ref_at(&b, 1, 11, TN_REF_PREFETCH, TN_RING_ID_RX, 3, 0x20000, 2048);
	tb_unmap_dir(&b, 5, 2048, TN_DIR_FROM_DEVICE);
	tb_map_dir(&b, 6, 0x20000, 2048, TN_DIR_FROM_DEVICE);
	dma_via(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x20000, 1514, 11);
	ref_at(&b, 0, 11, TN_REF_PREFETCH, TN_RING_ID_RX, 3, 0x20000, 2048);
	tb_unmap_dir(&b, 6, 2048, TN_DIR_FROM_DEVICE);
	tb_end(&b);
	expect_report("stale-ref-names-both-regions", &b,
		      "taken at 0 ns on this region, which was freed since): the bytes "
		      "0x20000-0x205e9 now belong to DMA mapping id 6");
	expect("stale-ref-buffer-remapped", &b, TN_RULE_FREE_NOT_QUIESCED, TN_RULE_DMA_AFTER_FREE,
	       END);

	/* Twin: the driver quiesced, freed, allocated again and programmed the ring anew. */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_SHARED, 0x8000, 4096, 0, TN_EXT_BUS);
	ref_at(&b, 1, 10, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 4096);
	ref_at(&b, 0, 10, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 4096);
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x8000, 4096, 0, TN_IRQL_PASSIVE);
	tb_alloc1(&b, 2, TN_API_SHARED, 0x8000, 4096, 0, TN_EXT_BUS);
	ref_at(&b, 1, 12, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 4096);
	dma_via(&b, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ, 0x8040, 16, 12);
	ref_at(&b, 0, 12, TN_REF_RING, TN_RING_ID_RX, 0, 0x8000, 4096);
	tb_free(&b, 2, TN_FREE_API_FREE_SHARED, 0x8000, 4096, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("stale-ref-twin-ring-reprogrammed", &b, END);

	/* Twin: the same reallocated bytes read with no reference (a driver-directed access). */
	tb_init(&b);
	tb_alloc1(&b, 1, TN_API_SHARED, 0x8000, 4096, 0, TN_EXT_BUS);
	tb_free(&b, 1, TN_FREE_API_FREE_SHARED, 0x8000, 4096, 0, TN_IRQL_PASSIVE);
	tb_alloc1(&b, 2, TN_API_SHARED, 0x8000, 4096, 0, TN_EXT_BUS);
	dma_via(&b, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ, 0x8040, 16, 0);
	tb_free(&b, 2, TN_FREE_API_FREE_SHARED, 0x8000, 4096, 0, TN_IRQL_PASSIVE);
	tb_end(&b);
	expect("stale-ref-twin-no-reference", &b, END);
}

/* Replay @b with at most @max freed regions kept in detail. */
static int replay_max_freed(struct tb *b, uint64_t max, struct dc_result *res, const char *name)
{
	struct dc_options opt = { .max_freed_regions = max };
	char err[512];

	if (dc_replay(b->buf, b->len, &opt, res, err, sizeof(err))) {
		printf("FAIL %s: rejected: %s\n", name, err);
		failed++;
		return -1;
	}
	return 0;
}

static void check(const char *name, bool ok, struct dc_result *res)
{
	if (ok) {
		printf("ok   %s\n", name);
		passed++;
	} else {
		printf("FAIL %s (freed pieces %llu, regions kept %llu, summarised %llu)\n", name,
		       (unsigned long long)res->stats.freed_pieces,
		       (unsigned long long)res->stats.freed_regions_kept,
		       (unsigned long long)res->summarised_regions);
		res->path = name;
		dc_report_text(stdout, res);
		failed++;
	}
}

/*
 * Under record/replay the trace carries ICOUNT records (the guest instruction
 * count of the records after each): a violation says at which instruction it
 * happened, the one `tracenic-cli replay --stop-at` stops at.  ICOUNT records
 * change no rule: the twin without the DMA is clean, and without ICOUNT
 * records a violation has no instruction.
 */
static void icount_rules(void)
{
	struct dc_result res;
	char err[512];
	struct tb b;

	for (int twin = 0; twin < 3; twin++) {
		tb_init(&b);
		if (twin != 2)
			tb_icount(&b, 1000);
		tb_alloc1(&b, 1, SH, 0x1000, 256, 0, BUS);
		if (twin != 2)
			tb_icount(&b, 2000);
		tb_free(&b, 1, FS, 0x1000, 256, 0, PASSIVE);
		if (twin != 2)
			tb_icount(&b, 3000000000ull * 4);
		if (twin != 1)
			tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x1010, 64);
		tb_end(&b);
		if (twin == 0)
			expect_report("icount-named", &b, "(record 6, guest instruction 12000000000)");
		if (dc_replay(b.buf, b.len, NULL, &res, err, sizeof(err))) {
			printf("FAIL icount: rejected: %s\n", err);
			failed++;
		} else {
			if (twin == 0)
				check("icount-of-the-violation", res.nv == 1 &&
				      res.v[0].rule == TN_RULE_DMA_AFTER_FREE && res.v[0].has_icount &&
				      res.v[0].icount == 12000000000ull, &res);
			else if (twin == 1)
				check("icount-twin-changes-no-rule", res.nv == 0, &res);
			else
				check("icount-twin-none-without-records", res.nv == 1 &&
				      !res.v[0].has_icount, &res);
			dc_result_free(&res);
		}
		free(b.buf);
	}
}

/*
 * One-shot buffers at fresh addresses: beyond --max-freed-regions the oldest
 * freed regions are summarised per page, and DMA into their memory is still
 * dma-after-free.  Twins: the memory reused by a new mapping is clean, and a
 * page nothing ever used is wild, not freed.
 */
static void summarise_rules(void)
{
	struct dc_result res;
	struct tb b;
	uint32_t i;

	for (int twin = 0; twin < 3; twin++) {
		tb_init(&b);
		for (i = 1; i <= 5; i++) {
			tb_map_dir(&b, i, 0x100000 + i * 0x800ull, 1522, TN_DIR_TO_DEVICE);
			tb_unmap_dir(&b, i, 1522, TN_DIR_TO_DEVICE);
		}
		if (twin == 1)
			tb_map_dir(&b, 9, 0x100800, 1522, TN_DIR_TO_DEVICE);
		tb_dma(&b, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ, twin == 2 ? 0x900000 : 0x100800, 64);
		if (twin == 1)
			tb_unmap_dir(&b, 9, 1522, TN_DIR_TO_DEVICE);
		tb_end(&b);
		if (replay_max_freed(&b, 2, &res, "summarised") == 0) {
			if (twin == 0)
				check("summarised-dma-after-free", res.nv == 1 &&
				      res.v[0].rule == TN_RULE_DMA_AFTER_FREE &&
				      res.v[0].region.summarised && res.summarised_regions == 3 &&
				      res.stats.freed_regions_kept == 2, &res);
			else if (twin == 1)
				check("summarised-twin-reused", res.nv == 0 &&
				      res.summarised_regions == 4, &res);
			else
				check("summarised-twin-never-used-page", res.nv == 1 &&
				      res.v[0].rule == TN_RULE_WILD_DMA, &res);
			dc_result_free(&res);
		}
		free(b.buf);
	}

	/* 100000 one-shot buffers, 16 kept: the freed set stays a few pieces. */
	tb_init(&b);
	for (i = 1; i <= 100000; i++) {
		tb_map_dir(&b, i, 0x10000000 + i * 0x800ull, 1522, TN_DIR_FROM_DEVICE);
		tb_unmap_dir(&b, i, 1522, TN_DIR_FROM_DEVICE);
	}
	tb_dma(&b, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, 0x10000800, 64);
	tb_end(&b);
	if (replay_max_freed(&b, 16, &res, "summarised-bounded") == 0) {
		check("summarised-bounded (100000 one-shot buffers, 16 kept: at most 18 pieces)",
		      res.nv == 1 && res.v[0].rule == TN_RULE_DMA_AFTER_FREE &&
		      res.stats.freed_regions_kept == 16 && res.stats.freed_pieces <= 18 &&
		      res.summarised_regions == 100000 - 16, &res);
		dc_result_free(&res);
	}
	free(b.buf);
}

int main(int argc, char **argv)
{
	char invalid[512];

	if (argc == 3 && !strcmp(argv[1], "--write-corpus")) {
		corpus = argv[2];
		snprintf(invalid, sizeof(invalid), "%s/invalid", corpus);
		if ((mkdir(corpus, 0755) && errno != EEXIST) ||
		    (mkdir(invalid, 0755) && errno != EEXIST)) {
			fprintf(stderr, "test-rules: cannot create %s: %s\n", invalid, strerror(errno));
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: test-rules [--write-corpus DIR]\n");
		return 2;
	}
	dma_rules();
	direction_rules();
	unmap_rules();
	page_free_rules();
	map_error_rules();
	posted_twice_rules();
	ref_id_rules();
	stale_ref_rules();
	summarise_rules();
	icount_rules();
	device_rules();
	quiesce_rules();
	free_rules();
	trace_rules();
	top_of_space();
	stopped_on_violation();
	violation_cap();
	invalid_inputs();
	printf("dmacheck: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
