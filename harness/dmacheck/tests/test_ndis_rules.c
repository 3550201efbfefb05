/*
 * tn_ndis_free_rules() (tracenic/ndis_rules.h) against the NDIS documentation.
 *
 * The expected answers below are written from the documented semantics
 * (shared/reference/NdisFreeMemory.md, docs/rules.md "Freeing rules"), one
 * small table per rule, each the statement of one sentence of the
 * documentation; the test walks every row of
 *   allocation (API and flags) x free function x MemoryFlags/Cached passed
 *   x Length matching or not x IRQL
 * and checks that the function returns exactly the union of the four rules'
 * answers.  Then a few whole rows, the documentation's own examples, are
 * checked on their own.
 */
#include <stdbool.h>
#include <stdio.h>

#include "tracenic/names.h"
#include "tracenic/ndis_rules.h"
#include "tracenic/rules.h"

#define C TN_NDIS_MEMORY_CONTIGUOUS
#define N TN_NDIS_MEMORY_NONCACHED
#define CACHED TN_FLAG_SHARED_CACHED
#define FM TN_FREE_API_FREE_MEMORY
#define FS TN_FREE_API_FREE_SHARED

static int passed, failed;

/* How the memory was allocated. */
static const struct alloc {
	const char *what;
	unsigned api;
	uint32_t flags;
} allocs[] = {
	{ "NdisAllocateMemoryWithTagPriority", TN_API_POOL, 0 },
	{ "NdisAllocateMemory(flags 0)", TN_API_MEMORY, 0 },
	{ "NdisAllocateMemory(CONTIGUOUS)", TN_API_MEMORY, C },
	{ "NdisAllocateMemory(NONCACHED)", TN_API_MEMORY, N },
	{ "NdisAllocateMemory(CONTIGUOUS|NONCACHED)", TN_API_MEMORY, C | N },
	{ "NdisMAllocateSharedMemory(Cached=FALSE)", TN_API_SHARED, 0 },
	{ "NdisMAllocateSharedMemory(Cached=TRUE)", TN_API_SHARED, CACHED },
};
#define N_ALLOCS (sizeof(allocs) / sizeof(allocs[0]))

/* What the free passed as MemoryFlags (or, for NdisMFreeSharedMemory, Cached). */
static const uint32_t passed_flags[] = { 0, C, N, C | N, CACHED };
#define N_PASSED (sizeof(passed_flags) / sizeof(passed_flags[0]))

static const unsigned irqls[] = { TN_IRQL_PASSIVE, TN_IRQL_APC, TN_IRQL_DISPATCH, TN_IRQL_DIRQL };
#define N_IRQLS (sizeof(irqls) / sizeof(irqls[0]))

/*
 * free-api: NdisAllocateMemoryWithTagPriority and NdisAllocateMemory memory
 * goes back through NdisFreeMemory, NdisMAllocateSharedMemory memory through
 * NdisMFreeSharedMemory.  [allocation][0 = NdisFreeMemory, 1 = NdisMFreeSharedMemory]
 */
static const bool api_breaks[N_ALLOCS][2] = {
	{ false, true }, { false, true }, { false, true }, { false, true }, { false, true },
	{ true, false }, { true, false },
};

/*
 * free-flags: "This value must be zero if the memory was allocated with
 * NdisAllocateMemoryWithTagPriority"; NdisAllocateMemory memory must be freed
 * with the MemoryFlags it was allocated with; shared memory with the Cached it
 * was allocated with (no other bit means anything to NdisMFreeSharedMemory).
 * [allocation][passed: 0, C, N, C|N, CACHED]
 */
static const bool flags_break[N_ALLOCS][N_PASSED] = {
	{ false, true, true, true, true },	/* pool: only 0 */
	{ false, true, true, true, true },	/* flags 0: only 0 */
	{ true, false, true, true, true },	/* CONTIGUOUS: only C */
	{ true, true, false, true, true },	/* NONCACHED: only N */
	{ true, true, true, false, true },	/* both: only C|N */
	{ false, false, false, false, true },	/* Cached=FALSE: any without CACHED */
	{ true, true, true, true, false },	/* Cached=TRUE: only with CACHED */
};

/*
 * free-length, when the Length passed differs from the allocation's: "If the
 * memory was allocated with NdisAllocateMemoryWithTagPriority or the
 * MemoryFlags parameter is zero, this parameter is ignored"; shared memory
 * is always freed with the length it was allocated with.
 * [API: pool, memory, shared][MemoryFlags passed: zero, non-zero]
 */
static bool length_breaks(unsigned api, uint32_t passed)
{
	static const bool t[3][2] = {
		{ false, false },	/* pool: ignored */
		{ false, true },	/* NdisAllocateMemory: checked if flags were passed */
		{ true, true },		/* shared: always */
	};

	return t[api - TN_API_POOL][passed != 0];
}

/*
 * free-irql, by what the memory really is: contiguous at PASSIVE_LEVEL,
 * noncached below DISPATCH_LEVEL, anything else at or below DISPATCH_LEVEL;
 * NdisMFreeSharedMemory at PASSIVE_LEVEL.  Memory both contiguous and
 * noncached obeys the stricter one.
 * [allocation][PASSIVE, APC, DISPATCH, DIRQL]
 */
static const bool irql_breaks[N_ALLOCS][N_IRQLS] = {
	{ false, false, false, true },	/* pool */
	{ false, false, false, true },	/* NdisAllocateMemory flags 0 */
	{ false, true, true, true },	/* contiguous */
	{ false, false, true, true },	/* noncached */
	{ false, true, true, true },	/* contiguous and noncached */
	{ false, true, true, true },	/* shared */
	{ false, true, true, true },	/* shared, cached */
};

static void names(char *buf, size_t len, unsigned bits)
{
	unsigned r;
	int n = 0;

	buf[0] = 0;
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT && (size_t)n < len; r++)
		if (bits & TN_RULE_BIT(r))
			n += snprintf(buf + n, len - (size_t)n, "%s%s", n ? " " : "", tn_rule_name(r));
	if (!n)
		snprintf(buf, len, "none");
}

static void check(const char *row, const struct tn_ndis_free *f, unsigned want)
{
	unsigned got = tn_ndis_free_rules(f);
	char g[128], w[128];

	if (got == want) {
		passed++;
		return;
	}
	failed++;
	names(g, sizeof(g), got);
	names(w, sizeof(w), want);
	printf("FAIL %s: rules %s, expected %s\n", row, g, w);
}

static void every_row(void)
{
	unsigned a, fa, p, lm, i;
	int before = failed;

	for (a = 0; a < N_ALLOCS; a++)
		for (fa = 0; fa < 2; fa++)
			for (p = 0; p < N_PASSED; p++)
				for (lm = 0; lm < 2; lm++)
					for (i = 0; i < N_IRQLS; i++) {
						const struct alloc *al = &allocs[a];
						struct tn_ndis_free f = {
							.alloc_api = al->api,
							.alloc_flags = al->flags,
							.alloc_length = 8192,
							.free_api = fa ? FS : FM,
							.free_flags = passed_flags[p],
							.free_length = lm ? 8192 : 4096,
							.irql = irqls[i],
						};
						unsigned want = 0;
						char row[256];

						if (api_breaks[a][fa])
							want |= TN_RULE_BIT(TN_RULE_FREE_API);
						if (flags_break[a][p])
							want |= TN_RULE_BIT(TN_RULE_FREE_FLAGS);
						if (!lm && length_breaks(al->api, passed_flags[p]))
							want |= TN_RULE_BIT(TN_RULE_FREE_LENGTH);
						if (irql_breaks[a][i])
							want |= TN_RULE_BIT(TN_RULE_FREE_IRQL);
						snprintf(row, sizeof(row), "%s freed by %s, flags 0x%x, "
							 "Length %s, at %s", al->what,
							 tn_free_api_name(f.free_api), f.free_flags,
							 lm ? "matching" : "4096 of 8192",
							 tn_irql_name(f.irql));
						check(row, &f, want);
					}
	printf("%s every row: %u allocations x 2 free functions x %u flags x 2 lengths x %u "
	       "IRQLs\n", failed == before ? "ok  " : "FAIL", (unsigned)N_ALLOCS,
	       (unsigned)N_PASSED, (unsigned)N_IRQLS);
}

/* The highest IRQL allowed, as tn_ndis_free_irql_limit() says, agrees with the table. */
static void irql_limits(void)
{
	unsigned a, i;

	for (a = 0; a < N_ALLOCS; a++) {
		struct tn_ndis_irql_limit l = tn_ndis_free_irql_limit(allocs[a].api, allocs[a].flags);
		unsigned highest = TN_IRQL_PASSIVE;

		for (i = 0; i < N_IRQLS; i++)
			if (!irql_breaks[a][i])
				highest = irqls[i];
		if (l.max_irql == highest) {
			passed++;
		} else {
			failed++;
			printf("FAIL %s: IRQL limit %s, expected %s\n", allocs[a].what,
			       tn_irql_name(l.max_irql), tn_irql_name(highest));
		}
	}
}

/* The documentation's examples (docs/rules.md), each a whole row. */
static void examples(void)
{
	static const struct {
		const char *name;
		struct tn_ndis_free f;
		unsigned want;
	} ex[] = {
		{ "contiguous freed with MemoryFlags 0",
		  { TN_API_MEMORY, C, 8192, FM, 0, 8192, TN_IRQL_PASSIVE },
		  TN_RULE_BIT(TN_RULE_FREE_FLAGS) },
		{ "contiguous freed with half its Length",
		  { TN_API_MEMORY, C, 8192, FM, C, 4096, TN_IRQL_PASSIVE },
		  TN_RULE_BIT(TN_RULE_FREE_LENGTH) },
		{ "shared freed with NdisFreeMemory",
		  { TN_API_SHARED, 0, 8192, FM, 0, 8192, TN_IRQL_PASSIVE },
		  TN_RULE_BIT(TN_RULE_FREE_API) },
		{ "contiguous freed at DISPATCH_LEVEL",
		  { TN_API_MEMORY, C, 8192, FM, C, 8192, TN_IRQL_DISPATCH },
		  TN_RULE_BIT(TN_RULE_FREE_IRQL) },
		{ "cached shared freed uncached with half its Length",
		  { TN_API_SHARED, CACHED, 8192, FS, 0, 4096, TN_IRQL_PASSIVE },
		  TN_RULE_BIT(TN_RULE_FREE_FLAGS) | TN_RULE_BIT(TN_RULE_FREE_LENGTH) },
		{ "pool freed with any Length at DISPATCH_LEVEL",
		  { TN_API_POOL, 0, 100, FM, 0, 12345, TN_IRQL_DISPATCH }, 0 },
		{ "NdisAllocateMemory flags 0 freed with flags 0 and a wrong Length",
		  { TN_API_MEMORY, 0, 8192, FM, 0, 1, TN_IRQL_DISPATCH }, 0 },
		{ "noncached freed at APC_LEVEL",
		  { TN_API_MEMORY, N, 8192, FM, N, 8192, TN_IRQL_APC }, 0 },
		{ "everything wrong",
		  { TN_API_SHARED, CACHED, 8192, FM, C, 4096, TN_IRQL_DIRQL },
		  TN_RULE_BIT(TN_RULE_FREE_API) | TN_RULE_BIT(TN_RULE_FREE_FLAGS) |
		  TN_RULE_BIT(TN_RULE_FREE_LENGTH) | TN_RULE_BIT(TN_RULE_FREE_IRQL) },
	};
	unsigned i;

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		int before = failed;

		check(ex[i].name, &ex[i].f, ex[i].want);
		if (failed == before)
			printf("ok   %s\n", ex[i].name);
	}
}

/*
 * dma_alloc_coherent memory, as the guest agent reports it: Linux's
 * dma_free_coherent() with the size it was allocated with (dma-debug:
 * "device driver frees DMA memory with different size"), not with
 * interrupts off (dma_free_attrs(): WARN_ON(irqs_disabled()), which the
 * agent reports as DIRQL; softirq context, DISPATCH_LEVEL, is allowed).
 * Flags mean nothing to it.  Every free function x size x flags x IRQL.
 */
static void dma_coherent(void)
{
	static const unsigned frees[] = { FM, FS, TN_FREE_API_DMA_FREE };
	unsigned fa, lm, p, i;
	int before = failed;

	for (fa = 0; fa < 3; fa++)
		for (lm = 0; lm < 2; lm++)
			for (p = 0; p < N_PASSED; p++)
				for (i = 0; i < N_IRQLS; i++) {
					struct tn_ndis_free f = {
						.alloc_api = TN_API_DMA_COHERENT,
						.alloc_length = 8192,
						.free_api = frees[fa],
						.free_flags = passed_flags[p],
						.free_length = lm ? 8192 : 4096,
						.irql = irqls[i],
					};
					unsigned want = 0;
					char row[256];

					if (frees[fa] != TN_FREE_API_DMA_FREE)
						want |= TN_RULE_BIT(TN_RULE_FREE_API);
					if (!lm)
						want |= TN_RULE_BIT(TN_RULE_FREE_LENGTH);
					if (irqls[i] == TN_IRQL_DIRQL)
						want |= TN_RULE_BIT(TN_RULE_FREE_IRQL);
					snprintf(row, sizeof(row), "dma_alloc_coherent memory freed by %s, "
						 "flags 0x%x, size %s, at %s", tn_free_api_name(f.free_api),
						 f.free_flags, lm ? "matching" : "4096 of 8192",
						 tn_irql_name(f.irql));
					check(row, &f, want);
				}
	printf("%s dma_alloc_coherent: 3 free functions x 2 sizes x %u flags x %u IRQLs\n",
	       failed == before ? "ok  " : "FAIL", (unsigned)N_PASSED, (unsigned)N_IRQLS);
	if (tn_ndis_free_api_for(TN_API_DMA_COHERENT) == TN_FREE_API_DMA_FREE &&
	    tn_ndis_free_api_for(TN_API_SHARED) == FS && tn_ndis_free_api_for(TN_API_POOL) == FM &&
	    tn_ndis_free_api_for(TN_API_MEMORY) == FM) {
		passed++;
	} else {
		failed++;
		printf("FAIL tn_ndis_free_api_for names another free function\n");
	}
}

int main(void)
{
	every_row();
	irql_limits();
	examples();
	dma_coherent();
	printf("dmacheck ndis rules: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
