/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NdisFreeMemory / NdisMFreeSharedMemory argument rules, and their
 * Linux DMA-API counterpart for dma_free_coherent, coded once
 * (docs/rules.md; the NDIS documentation is shared/reference/NdisFreeMemory.md):
 * a pure function of how the memory was allocated and how it was freed.
 * The guest's NDIS layer logs what it returns at the call, dmacheck reports
 * it from the trace, and one host test walks its table.
 *
 *  - NdisAllocateMemoryWithTagPriority memory: NdisFreeMemory, MemoryFlags 0
 *    (Length is not looked at).
 *  - NdisAllocateMemory memory: NdisFreeMemory with the MemoryFlags it was
 *    allocated with; Length must match whenever MemoryFlags is non-zero.
 *  - NdisMAllocateSharedMemory memory: NdisMFreeSharedMemory with the same
 *    Length and Cached.
 *  - dma_alloc_coherent memory (the guest agent's ledger): dma_free_coherent
 *    with the same size (dma-debug's "DMA-API: device driver frees DMA
 *    memory with different size"), never with interrupts off (the kernel's
 *    dma_free_attrs() warns: WARN_ON(irqs_disabled()); the agent reports
 *    that as DIRQL).
 *  - IRQL follows what the memory really is, whatever flags were passed:
 *    shared and contiguous memory at PASSIVE_LEVEL, noncached below
 *    DISPATCH_LEVEL, anything else at or below DISPATCH_LEVEL.
 */
#ifndef TRACENIC_NDIS_RULES_H
#define TRACENIC_NDIS_RULES_H

#include "tracenic/types.h"
#include "tracenic/ledger.h"
#include "tracenic/rules.h"

#define TN_RULE_BIT(rule)	(1u << (rule))

/* How a region was allocated and how one free names it (ledger values). */
struct tn_ndis_free {
	unsigned int alloc_api;		/* TN_API_* */
	uint32_t alloc_flags;		/* MemoryFlags, or TN_FLAG_SHARED_CACHED */
	uint32_t alloc_length;
	unsigned int free_api;		/* TN_FREE_API_* */
	uint32_t free_flags;		/* as passed */
	uint32_t free_length;		/* as passed */
	unsigned int irql;		/* TN_IRQL_* at the call */
};

/*
 * What the memory is, for the IRQL rule: the highest IRQL its free may run
 * at, and the words a report uses for it.
 */
struct tn_ndis_irql_limit {
	unsigned int max_irql;
	const char *what;	/* "NdisMFreeSharedMemory", "contiguous memory", ... */
};

static inline struct tn_ndis_irql_limit tn_ndis_free_irql_limit(unsigned int alloc_api,
								 uint32_t alloc_flags)
{
	struct tn_ndis_irql_limit l = { TN_IRQL_DISPATCH, "memory" };

	if (alloc_api == TN_API_SHARED) {
		l.max_irql = TN_IRQL_PASSIVE;
		l.what = "NdisMFreeSharedMemory";
	} else if (alloc_api == TN_API_MEMORY && (alloc_flags & TN_NDIS_MEMORY_CONTIGUOUS)) {
		l.max_irql = TN_IRQL_PASSIVE;
		l.what = "contiguous memory";
	} else if (alloc_api == TN_API_MEMORY && (alloc_flags & TN_NDIS_MEMORY_NONCACHED)) {
		l.max_irql = TN_IRQL_APC;
		l.what = "noncached memory";
	} else if (alloc_api == TN_API_DMA_COHERENT) {
		l.what = "dma_free_coherent";
	}
	return l;
}

/* The one free function memory of @alloc_api goes back through. */
static inline unsigned int tn_ndis_free_api_for(unsigned int alloc_api)
{
	return alloc_api == TN_API_SHARED ? TN_FREE_API_FREE_SHARED :
	       alloc_api == TN_API_DMA_COHERENT ? TN_FREE_API_DMA_FREE : TN_FREE_API_FREE_MEMORY;
}

/* The free-api, free-flags, free-length and free-irql rules @f breaks, as TN_RULE_BITs. */
static inline unsigned int tn_ndis_free_rules(const struct tn_ndis_free *f)
{
	unsigned int r = 0;

	switch (f->alloc_api) {
	case TN_API_POOL:
		if (f->free_api != TN_FREE_API_FREE_MEMORY)
			r |= TN_RULE_BIT(TN_RULE_FREE_API);
		if (f->free_flags)
			r |= TN_RULE_BIT(TN_RULE_FREE_FLAGS);
		break;
	case TN_API_MEMORY:
		if (f->free_api != TN_FREE_API_FREE_MEMORY)
			r |= TN_RULE_BIT(TN_RULE_FREE_API);
		if (f->free_flags != f->alloc_flags)
			r |= TN_RULE_BIT(TN_RULE_FREE_FLAGS);
		/* Length is ignored only when the caller's MemoryFlags are zero. */
		if (f->free_flags && f->free_length != f->alloc_length)
			r |= TN_RULE_BIT(TN_RULE_FREE_LENGTH);
		break;
	case TN_API_SHARED:
		if (f->free_api != TN_FREE_API_FREE_SHARED)
			r |= TN_RULE_BIT(TN_RULE_FREE_API);
		if ((f->free_flags ^ f->alloc_flags) & TN_FLAG_SHARED_CACHED)
			r |= TN_RULE_BIT(TN_RULE_FREE_FLAGS);
		if (f->free_length != f->alloc_length)
			r |= TN_RULE_BIT(TN_RULE_FREE_LENGTH);
		break;
	case TN_API_DMA_COHERENT:
		if (f->free_api != TN_FREE_API_DMA_FREE)
			r |= TN_RULE_BIT(TN_RULE_FREE_API);
		if (f->free_length != f->alloc_length)
			r |= TN_RULE_BIT(TN_RULE_FREE_LENGTH);
		break;
	}
	if (f->irql > tn_ndis_free_irql_limit(f->alloc_api, f->alloc_flags).max_irql)
		r |= TN_RULE_BIT(TN_RULE_FREE_IRQL);
	return r;
}

#endif /* TRACENIC_NDIS_RULES_H */
