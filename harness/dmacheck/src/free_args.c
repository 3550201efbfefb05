/*
 * The arguments of a free against the allocation: which of free-api,
 * free-flags, free-length and free-irql a free breaks is decided once, by
 * tn_ndis_free_rules() (tracenic/ndis_rules.h, docs/rules.md, from the
 * NdisFreeMemory documentation); this file words the report of each.
 */
#include "dmacheck.h"
#include "tracenic/ledger.h"
#include "tracenic/ndis_rules.h"

/* "it must be freed below DISPATCH_LEVEL", from the highest IRQL allowed. */
static const char *irql_limit_words(unsigned max_irql)
{
	return max_irql == TN_IRQL_PASSIVE ? "at PASSIVE_LEVEL" :
	       max_irql == TN_IRQL_APC ? "below DISPATCH_LEVEL" : "at or below DISPATCH_LEVEL";
}

void dc_check_free_args(const struct dc_region_info *g, const struct tn_rec *t,
			dc_free_report report, void *ctx)
{
	const struct tn_ndis_free f = {
		.alloc_api = g->api, .alloc_flags = g->flags, .alloc_length = g->length,
		.free_api = t->kind, .free_flags = t->u.free.flags, .free_length = t->u.free.length,
		.irql = t->u.free.irql,
	};
	unsigned broken = tn_ndis_free_rules(&f);
	struct dc_violation *v;

	/* Reported in this order: the free's function, its flags, its Length, its IRQL. */
	if ((broken & TN_RULE_BIT(TN_RULE_FREE_API)) && (v = report(ctx, TN_RULE_FREE_API)))
		snprintf(v->detail, sizeof(v->detail), "%s memory must be freed with %s",
			 tn_api_name(f.alloc_api), tn_free_api_name(tn_ndis_free_api_for(f.alloc_api)));
	if ((broken & TN_RULE_BIT(TN_RULE_FREE_FLAGS)) && (v = report(ctx, TN_RULE_FREE_FLAGS))) {
		if (f.alloc_api == TN_API_POOL)
			snprintf(v->detail, sizeof(v->detail), "MemoryFlags 0x%x passed; it must be "
				 "zero for NdisAllocateMemoryWithTagPriority memory", f.free_flags);
		else if (f.alloc_api == TN_API_SHARED)
			snprintf(v->detail, sizeof(v->detail), "Cached=%s passed; the memory was "
				 "allocated with Cached=%s",
				 f.free_flags & TN_FLAG_SHARED_CACHED ? "TRUE" : "FALSE",
				 f.alloc_flags & TN_FLAG_SHARED_CACHED ? "TRUE" : "FALSE");
		else
			snprintf(v->detail, sizeof(v->detail), "MemoryFlags 0x%x passed; the memory "
				 "was allocated with 0x%x", f.free_flags, f.alloc_flags);
	}
	if ((broken & TN_RULE_BIT(TN_RULE_FREE_LENGTH)) && (v = report(ctx, TN_RULE_FREE_LENGTH)))
		snprintf(v->detail, sizeof(v->detail), "%s %u passed; the %smemory was "
			 "allocated with %s %u", f.alloc_api == TN_API_DMA_COHERENT ? "size" : "Length",
			 f.free_length, f.alloc_api == TN_API_SHARED ? "shared " :
			 f.alloc_api == TN_API_DMA_COHERENT ? "coherent " : "",
			 f.alloc_api == TN_API_DMA_COHERENT ? "size" : "length", f.alloc_length);
	if ((broken & TN_RULE_BIT(TN_RULE_FREE_IRQL)) && (v = report(ctx, TN_RULE_FREE_IRQL))) {
		struct tn_ndis_irql_limit l = tn_ndis_free_irql_limit(f.alloc_api, f.alloc_flags);
		/* named by its function */
		bool call = f.alloc_api == TN_API_SHARED || f.alloc_api == TN_API_DMA_COHERENT;

		snprintf(v->detail, sizeof(v->detail), "%s %s at %s; it must be %s %s", l.what,
			 call ? "called" : "freed", tn_irql_name(f.irql), call ? "called" : "freed",
			 irql_limit_words(l.max_irql));
	}
}
