/*
 * Fixed-size object allocator: a free list over chunks that grow with the
 * slab from 64 KiB to 2 MiB (those on huge pages).  Per-packet regions,
 * extents and references are made and dropped millions of times; reusing
 * their memory keeps malloc off the replay's hot path.  Chunks are returned
 * only by slab_destroy, so memory follows the peak live state.
 *
 * Built with AddressSanitizer it hands every object to malloc/free instead,
 * so the sanitizer still sees each object's lifetime (use after free).
 */
#ifndef DMACHECK_SLAB_H
#define DMACHECK_SLAB_H

#include <stddef.h>

struct slab {
	size_t size;		/* object size, set before the first slab_alloc */
	void *free;		/* free objects, linked through their first word */
	void *chunks;		/* chunks, linked through their first word */
	char *next, *end;	/* unused tail of the newest chunk */
	size_t total;		/* bytes in chunks */
};

void *slab_alloc(struct slab *s);	/* uninitialised object, or NULL */
void slab_free(struct slab *s, void *p);
void slab_destroy(struct slab *s);	/* every object at once */

#endif
