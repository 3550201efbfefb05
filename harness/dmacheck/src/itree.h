/*
 * Interval treap: ordered by start address, each node knows the largest end
 * in its subtree, so "all intervals of kind k overlapping [a, b)" costs
 * O((m + 1) log n) where m counts the overlapping intervals of every kind
 * (the others are passed over).  Priorities are random, so the depth is
 * O(log n) with high probability whatever the input.
 *
 * One maximum for all kinds, not one per kind, because the commonest change
 * is a kind change in place (space.c: a recycled buffer turns from freed to
 * live and back every packet): with no maximum depending on the kind, that
 * change touches no other node.  The price is that a search also walks the
 * intervals of other kinds that overlap it, which are few: a buffer is
 * rarely overlapped by more than its pool allocation.  Parent links let a
 * node whose end changed fix the maxima above it without a search, stopping
 * at the first ancestor they leave unchanged.
 */
#ifndef DMACHECK_ITREE_H
#define DMACHECK_ITREE_H

#include <stdint.h>

#define ITREE_KINDS 3

struct inode {
	uint64_t start, end;	/* [start, end) */
	struct inode *left, *right, *parent;
	uint64_t max_end;	/* the largest end in this subtree */
	void *owner;		/* what the interval belongs to */
	uint32_t prio;
	uint32_t seq;		/* tie-break for equal starts */
	uint8_t kind;		/* < ITREE_KINDS */
	uint8_t cached;		/* owner-defined (space.c: may be in the lookup cache) */
};

struct itree {
	struct inode *root;
	uint32_t seed;
	uint32_t next_seq;
	uint64_t count;
};

typedef int (*itree_visit)(struct inode *n, void *ctx);	/* nonzero stops */

/* Insert @n with its start, end and kind set. */
void itree_insert(struct itree *t, struct inode *n);
void itree_remove(struct itree *t, struct inode *n);
/* @n's end changed in place (not its start): fix the maxima above it.  A kind change needs nothing. */
void itree_changed(struct itree *t, struct inode *n);
/* Visit the nodes of @kind overlapping [a, b) in address order; returns the visitor's stop value. */
int itree_overlaps(const struct itree *t, unsigned kind, uint64_t a, uint64_t b, itree_visit fn,
		   void *ctx);

#endif
