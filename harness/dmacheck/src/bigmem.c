/* Tables on huge pages; see bigmem.h. */
#define _DEFAULT_SOURCE	/* madvise */
#include "bigmem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)

void *big_alloc(size_t size)
{
	size_t align = size >= HUGE_PAGE ? HUGE_PAGE : 64;
	void *p = aligned_alloc(align, (size + align - 1) / align * align);

#ifdef MADV_HUGEPAGE
	if (p && align == HUGE_PAGE)
		madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

void *big_calloc(size_t size)
{
	void *p = big_alloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}
