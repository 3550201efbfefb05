/*
 * Interval treap: ordered by start address, each node has a kind and knows,
 * per kind, the largest end in its subtree, so "all intervals of kind k
 * overlapping [a, b)" costs O((m + 1) log n) for m answers, however many
 * intervals of other kinds lie there.  Priorities are random, so the depth
 * is O(log n) with high probability whatever the input.  Parent links let a
 * node whose kind or end changed fix the maxima above it without a search,
 * stopping at the first ancestor they leave unchanged.
 */
#ifndef DMACHECK_ITREE_H
#define DMACHECK_ITREE_H

#include <stdint.h>

#define ITREE_KINDS 3

struct inode {
	uint64_t start, end;	/* [start, end) */
	struct inode *left, *right, *parent;
	uint64_t max_end[ITREE_KINDS];	/* per kind: max end in this subtree, 0 if none */
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
/* @n's kind or end changed in place (not its start): fix the maxima above it. */
void itree_changed(struct itree *t, struct inode *n);
/* Visit the nodes of @kind overlapping [a, b) in address order; returns the visitor's stop value. */
int itree_overlaps(const struct itree *t, unsigned kind, uint64_t a, uint64_t b, itree_visit fn,
		   void *ctx);

#endif
