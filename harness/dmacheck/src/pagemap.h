/* Map from a 4 KiB page number to the most recently freed region on it:
 * O(1) insert, evict and lookup for the freed window. */
#ifndef DMACHECK_PAGEMAP_H
#define DMACHECK_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

struct pagemap {
	uint64_t *keys;		/* page + 1; 0 = empty */
	void **vals;
	size_t cap, used;
};

void *pagemap_get(const struct pagemap *m, uint64_t page);
int pagemap_put(struct pagemap *m, uint64_t page, void *val);
/* Remove the entry for @page if it still maps to @val. */
void pagemap_del_if(struct pagemap *m, uint64_t page, const void *val);
void pagemap_free(struct pagemap *m);

#endif
