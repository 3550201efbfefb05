/*
 * The DMA lookup cache: which live device-visible extent contains a range,
 * remembered by the 4 KiB page the range starts in.  Most DMA goes where
 * recent DMA went (a ring, the current buffer, a long-lived allocation), and
 * a hit costs one cache line instead of a walk down the interval tree.
 *
 * Two-way sets of 32-byte entries, one 64-byte line per set.  An entry is
 * only a hint that must still contain the range, and space.c takes every
 * extent out of the cache before it stops being live and device-visible, so
 * a hit is always an extent that is live at that moment.  The cache grows
 * with the live extents (two ways per extent) up to DCACHE_MAX_SETS; it is
 * never required for an answer, only for speed.
 */
#ifndef DMACHECK_DCACHE_H
#define DMACHECK_DCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bigmem.h"
#include "itree.h"

#define DCACHE_PAGE_SHIFT 12
#define DCACHE_MIN_SETS 512
#define DCACHE_MAX_SETS (1u << 19)	/* 32 MiB */

struct dcache_entry {
	uint64_t start, end;	/* the extent's bytes; 0, 0 when empty */
	struct inode *node;
	void *owner;		/* node->owner, so that a hit need not touch the node */
};

struct dcache {
	struct dcache_entry *e;	/* 2 * nsets entries */
	size_t nsets;
	unsigned shift;		/* 64 - log2(nsets) */
};

static inline struct dcache_entry *dcache_set(const struct dcache *c, uint64_t addr)
{
	uint64_t page = addr >> DCACHE_PAGE_SHIFT;

	return &c->e[2 * (size_t)((page * 0x9e3779b97f4a7c15ull) >> c->shift)];
}

/* An entry whose extent contains [a, b), or NULL. */
static inline const struct dcache_entry *dcache_find(struct dcache *c, uint64_t a, uint64_t b)
{
	struct dcache_entry *s, t;

	if (!c->e)
		return NULL;
	s = dcache_set(c, a);
	if (s[0].start <= a && b <= s[0].end)
		return &s[0];
	if (!(s[1].start <= a && b <= s[1].end))
		return NULL;
	/* Most recently used first. */
	t = s[0];
	s[0] = s[1];
	s[1] = t;
	return &s[0];
}

/* Start loading the set a DMA at @addr will look in (a hint; nothing changes). */
static inline void dcache_prefetch(const struct dcache *c, uint64_t addr)
{
	if (c->e)
		BIG_PREFETCH(dcache_set(c, addr));
}

/* The owner dcache_find would answer, without touching recency; for prefetching. */
static inline void *dcache_peek(const struct dcache *c, uint64_t a, uint64_t b)
{
	const struct dcache_entry *s;

	if (!c->e)
		return NULL;
	s = dcache_set(c, a);
	if (s[0].start <= a && b <= s[0].end)
		return s[0].owner;
	if (s[1].start <= a && b <= s[1].end)
		return s[1].owner;
	return NULL;
}

/* Remember that @n (live, device-visible, containing @addr) is where DMA at @addr goes. */
void dcache_put(struct dcache *c, struct inode *n, uint64_t addr);
/* @n stops being live: forget every entry for it. */
void dcache_forget(struct dcache *c, struct inode *n);
/* Make room for @live extents; 0, or -1 out of memory (the old table stays). */
int dcache_reserve(struct dcache *c, uint64_t live);
void dcache_free(struct dcache *c);

#endif
