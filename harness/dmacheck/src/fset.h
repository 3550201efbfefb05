/*
 * The freed set: bytes the driver freed or unmapped that no later ALLOC/MAP
 * has covered again, as disjoint pieces, each naming the region freed last
 * there.  It grows at FREE/UNMAP and shrinks whenever new memory covers freed
 * bytes, so its size is bounded by the guest memory the driver freed and
 * never reused, not by the length of the trace.
 */
#ifndef DMACHECK_FSET_H
#define DMACHECK_FSET_H

#include <stddef.h>

#include "itree.h"

/* The caller reference-counts owners: one reference per piece. */
struct fset_ops {
	void (*hold)(void *ctx, void *owner);
	void (*drop)(void *ctx, void *owner);
};

struct fset {
	struct itree tree;
	const struct fset_ops *ops;
	void *ctx;
	struct inode **scratch;	/* pieces being cut */
	size_t scratch_cap;
};

/* Bytes [a, b) were freed by @owner (the newest free wins).  0, or -1 out of memory. */
int fset_add(struct fset *s, uint64_t a, uint64_t b, void *owner);
/* Bytes [a, b) are covered by new memory.  0, or -1 out of memory. */
int fset_cover(struct fset *s, uint64_t a, uint64_t b);
/* Visit the pieces overlapping [a, b) in address order. */
static inline int fset_overlaps(const struct fset *s, uint64_t a, uint64_t b, itree_visit fn,
				void *ctx)
{
	return itree_overlaps(&s->tree, a, b, fn, ctx);
}
/* Drop every piece. */
void fset_free(struct fset *s);

#endif
