/*
 * Memory that is visited at random (the id map, the DMA lookup cache, the
 * slab's chunks): from 2 MiB on it is asked for on huge pages, or every
 * access also misses the TLB (twice over in a virtual machine).  Free with
 * free().
 */
#ifndef DMACHECK_BIGMEM_H
#define DMACHECK_BIGMEM_H

#include <stddef.h>

/* Start loading the cache line at @p: a hint, nothing changes. */
#if defined(__GNUC__)
#define BIG_PREFETCH(p) __builtin_prefetch(p)
#else
#define BIG_PREFETCH(p) ((void)(p))
#endif

void *big_alloc(size_t size);	/* uninitialised; NULL out of memory */
void *big_calloc(size_t size);	/* zeroed; NULL out of memory */

#endif
