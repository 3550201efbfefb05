/*
 * The address space as the replay sees it: live extents (device-visible or
 * CPU-only, possibly overlapping) and the freed set (bytes the driver freed
 * or unmapped that no later extent has covered again, as disjoint pieces,
 * each naming the region freed last there), all in one interval tree.
 *
 * One tree because the commonest churn is a per-packet mapping at a recycled
 * address: UNMAP turns the extent's node into a freed piece in place, and the
 * next MAP of the same bytes turns that piece back into a live extent, with
 * no node allocated, freed or rebalanced, and no other node touched (the
 * tree's maxima do not depend on the kind; see itree.h).
 *
 * The freed set grows at a free and shrinks whenever new memory covers freed
 * bytes, so its size is bounded by the guest memory the driver freed and
 * never reused, not by the length of the trace.  Nothing is forgotten any
 * other way, so no dma-after-free verdict is lost.
 */
#ifndef DMACHECK_SPACE_H
#define DMACHECK_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "dcache.h"
#include "itree.h"
#include "slab.h"

/* Node kinds, and the classes of DMA bytes (a byte in none of them is SP_WILD). */
enum sp_kind { SP_BUS, SP_PHYS, SP_FREED, SP_WILD };

/* The caller reference-counts owners (never NULL): one reference per freed piece. */
struct space_ops {
	void (*hold)(void *ctx, void *owner);
	void (*drop)(void *ctx, void *owner);
};

struct space {
	struct itree tree;
	struct slab nodes;
	struct dcache cache;		/* live SP_BUS extents recently DMA'd */
	uint64_t n_bus;			/* live SP_BUS extents */
	uint64_t n_freed;		/* freed pieces */
	const struct space_ops *ops;
	void *ctx;
	struct inode **scratch;		/* pieces being cut */
	size_t scratch_cap;
	struct inode **recent;		/* freed pieces by start address (space.c) */
	size_t recent_size;
	unsigned recent_shift;
};

#define SPACE_RECENT_MIN 1024
#define SPACE_RECENT_MAX (1u << 20)

void space_init(struct space *s, const struct space_ops *ops, void *ctx);
/*
 * New live memory [a, b) (a < b) of @kind (SP_BUS or SP_PHYS) for @owner:
 * freed bytes it covers are forgotten.  Its node, or NULL out of memory.
 */
struct inode *space_add(struct space *s, uint64_t a, uint64_t b, unsigned kind, void *owner);
/* Live extent @n was freed: its bytes become a freed piece naming its owner (the newest
 * free wins where pieces meet).  @n belongs to the freed set from now on.  0, or -1 out of memory. */
int space_free(struct space *s, struct inode *n);
/*
 * Bound the freed set when freed memory is never reused: the freed pieces in
 * [a, b) that name @owner come to name @to instead, each widened to its page
 * (SPACE_SUMMARY_PAGE) over bytes where nothing else lies, and merged with
 * the pieces of @to it meets.  Memory summarised this way costs one node per
 * run of pages, however many regions were freed there.  0, or -1 out of memory.
 */
#define SPACE_SUMMARY_PAGE 4096u
int space_summarise(struct space *s, uint64_t a, uint64_t b, void *owner, void *to);
/* Live extent @n disappears without a free (its owner is lost). */
void space_drop(struct space *s, struct inode *n);
/* Forget the freed bytes in [a, b).  0, or -1 out of memory. */
int space_cover(struct space *s, uint64_t a, uint64_t b);
/* Visit the nodes of @kind overlapping [a, b) in address order. */
static inline int space_overlaps(const struct space *s, unsigned kind, uint64_t a, uint64_t b,
				 itree_visit fn, void *ctx)
{
	return itree_overlaps(&s->tree, kind, a, b, fn, ctx);
}

/*
 * Classify the bytes of [a, b) in address order, each by the first that
 * holds: in a live SP_BUS extent, in a freed piece, in a live SP_PHYS
 * extent, else SP_WILD.  @fn gets each run of one class with the node it
 * lies in (NULL for SP_WILD); where live extents of one kind overlap, the
 * one that starts first gets the bytes.
 */
typedef void (*space_class_fn)(void *ctx, unsigned cls, struct inode *n, uint64_t a, uint64_t b);
void space_classify(struct space *s, uint64_t a, uint64_t b, space_class_fn fn, void *ctx);

/* The fast path: the owner of a live SP_BUS extent that contains [a, b), if the cache knows one. */
static inline void *space_find_bus(struct space *s, uint64_t a, uint64_t b)
{
	const struct dcache_entry *e = dcache_find(&s->cache, a, b);

	return e ? e->owner : NULL;
}

/* Drop every node (freed pieces release their owners). */
void space_free_all(struct space *s);

#endif
