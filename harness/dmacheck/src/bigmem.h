/*
 * Zeroed tables that are looked up at random (the id map, the DMA lookup
 * cache): from 2 MiB on they are asked for on huge pages, or every lookup
 * also misses the TLB (twice over in a virtual machine).  Free with free().
 */
#ifndef DMACHECK_BIGMEM_H
#define DMACHECK_BIGMEM_H

#include <stddef.h>

void *big_calloc(size_t size);	/* NULL out of memory */

#endif
