/*
 * The arguments of a free against the allocation: NdisFreeMemory's
 * MemoryFlags, Length and IRQL rules (docs/rules.md, from the NdisFreeMemory
 * documentation) and NdisMFreeSharedMemory's Length, Cached and IRQL.
 */
#include "dmacheck.h"
#include "tracenic/ledger.h"

/* The NdisFreeMemory / NdisMFreeSharedMemory contract (docs/rules.md). */
void dc_check_free_args(const struct dc_region_info *g, const struct tn_rec *t,
			dc_free_report report, void *ctx)
{
	uint32_t aflags = g->flags, pflags = t->u.free.flags;
	uint32_t alen = g->length, plen = t->u.free.length;
	unsigned irql = t->u.free.irql;
	struct dc_violation *v;
	bool contiguous, noncached;

	switch (g->api) {
	case TN_API_POOL:
		if (t->kind != TN_FREE_API_FREE_MEMORY) {
			v = report(ctx, TN_RULE_FREE_API);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "NdisAllocateMemoryWithTagPriority "
					 "memory must be freed with NdisFreeMemory");
		}
		if (pflags) {
			v = report(ctx, TN_RULE_FREE_FLAGS);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "MemoryFlags 0x%x passed; it must be "
					 "zero for NdisAllocateMemoryWithTagPriority memory", pflags);
		}
		break;
	case TN_API_MEMORY:
		if (t->kind != TN_FREE_API_FREE_MEMORY) {
			v = report(ctx, TN_RULE_FREE_API);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "NdisAllocateMemory memory must be "
					 "freed with NdisFreeMemory");
		}
		if (pflags != aflags) {
			v = report(ctx, TN_RULE_FREE_FLAGS);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "MemoryFlags 0x%x passed; the memory "
					 "was allocated with 0x%x", pflags, aflags);
		}
		/* Length is ignored only when the caller's MemoryFlags are zero. */
		if (pflags && plen != alen) {
			v = report(ctx, TN_RULE_FREE_LENGTH);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "Length %u passed; the memory was "
					 "allocated with length %u", plen, alen);
		}
		break;
	case TN_API_SHARED:
		if (t->kind != TN_FREE_API_FREE_SHARED) {
			v = report(ctx, TN_RULE_FREE_API);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "NdisMAllocateSharedMemory memory "
					 "must be freed with NdisMFreeSharedMemory");
		}
		if ((pflags ^ aflags) & TN_FLAG_SHARED_CACHED) {
			v = report(ctx, TN_RULE_FREE_FLAGS);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "Cached=%s passed; the memory was "
					 "allocated with Cached=%s",
					 pflags & TN_FLAG_SHARED_CACHED ? "TRUE" : "FALSE",
					 aflags & TN_FLAG_SHARED_CACHED ? "TRUE" : "FALSE");
		}
		if (plen != alen) {
			v = report(ctx, TN_RULE_FREE_LENGTH);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "Length %u passed; the shared memory "
					 "was allocated with length %u", plen, alen);
		}
		break;
	}

	/* IRQL follows the memory's real type, whatever flags were passed. */
	contiguous = g->api == TN_API_MEMORY && (aflags & TN_NDIS_MEMORY_CONTIGUOUS);
	noncached = g->api == TN_API_MEMORY && (aflags & TN_NDIS_MEMORY_NONCACHED);
	if (g->api == TN_API_SHARED && irql != TN_IRQL_PASSIVE) {
		v = report(ctx, TN_RULE_FREE_IRQL);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "NdisMFreeSharedMemory called at %s; "
				 "it must be called at PASSIVE_LEVEL", tn_irql_name(irql));
	} else if (contiguous && irql != TN_IRQL_PASSIVE) {
		v = report(ctx, TN_RULE_FREE_IRQL);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "contiguous memory freed at %s; it must "
				 "be freed at PASSIVE_LEVEL", tn_irql_name(irql));
	} else if (noncached && irql >= TN_IRQL_DISPATCH) {
		v = report(ctx, TN_RULE_FREE_IRQL);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "noncached memory freed at %s; it must "
				 "be freed below DISPATCH_LEVEL", tn_irql_name(irql));
	} else if (irql > TN_IRQL_DISPATCH) {
		v = report(ctx, TN_RULE_FREE_IRQL);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "memory freed at %s; it must be freed "
				 "at or below DISPATCH_LEVEL", tn_irql_name(irql));
	}
}

