/* Interval treap: ordered by start address, each node knows the largest end
 * in its subtree, so "all intervals overlapping [a, b)" costs O(log n + k). */
#ifndef DMACHECK_ITREE_H
#define DMACHECK_ITREE_H

#include <stdint.h>

struct inode {
	uint64_t start, end;	/* [start, end) */
	uint64_t max_end;	/* max end in this subtree */
	uint32_t prio;
	uint32_t seq;		/* tie-break for equal starts */
	struct inode *left, *right;
	void *owner;		/* what the interval belongs to */
	uint32_t aux;		/* owner-defined (extent kind, index ...) */
};

struct itree {
	struct inode *root;
	uint32_t seed;
	uint32_t next_seq;
	uint64_t count;
};

typedef int (*itree_visit)(struct inode *n, void *ctx);	/* nonzero stops */

void itree_insert(struct itree *t, struct inode *n);
void itree_remove(struct itree *t, struct inode *n);
/* Visit overlapping nodes in address order; returns the visitor's stop value. */
int itree_overlaps(const struct itree *t, uint64_t a, uint64_t b, itree_visit fn, void *ctx);

#endif
