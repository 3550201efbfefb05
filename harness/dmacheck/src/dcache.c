/* The DMA lookup cache; see dcache.h. */
#include "dcache.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"

_Static_assert(sizeof(struct dcache_entry) == 32, "two entries fill one 64-byte line");

void dcache_put(struct dcache *c, struct inode *n, uint64_t addr)
{
	struct dcache_entry *s;

	if (!c->e)
		return;
	s = dcache_set(c, addr);
	if (s[0].node != n)
		s[1] = s[0];
	s[0].start = n->start;
	s[0].end = n->end;
	s[0].node = n;
	s[0].owner = n->owner;
	n->cached = 1;
}

static void clear_in(struct dcache_entry *s, const struct inode *n)
{
	if (s[0].node == n)
		memset(&s[0], 0, sizeof(s[0]));
	if (s[1].node == n)
		memset(&s[1], 0, sizeof(s[1]));
}

/*
 * Entries for @n sit in the sets of the pages @n spans (put files them under
 * the page of an address inside it): look in each, or in every set when
 * there are fewer sets than pages.  Extents never put in skip all this.
 */
void dcache_forget(struct dcache *c, struct inode *n)
{
	uint64_t p, first, last;
	size_t i;

	if (!n->cached)
		return;
	n->cached = 0;
	if (!c->e)
		return;
	first = n->start >> DCACHE_PAGE_SHIFT;
	last = (n->end - 1) >> DCACHE_PAGE_SHIFT;
	if (last - first >= c->nsets) {
		for (i = 0; i < c->nsets; i++)
			clear_in(&c->e[2 * i], n);
		return;
	}
	for (p = first;; p++) {
		clear_in(dcache_set(c, p << DCACHE_PAGE_SHIFT), n);
		if (p == last)
			break;
	}
}

int dcache_reserve(struct dcache *c, uint64_t live)
{
	struct dcache old = *c;
	size_t nsets = c->nsets ? c->nsets : DCACHE_MIN_SETS, i;
	unsigned shift = 64;

	while (nsets < live && nsets < DCACHE_MAX_SETS)
		nsets *= 2;
	if (c->e && nsets == c->nsets)
		return 0;
	for (i = 1; i < nsets; i *= 2)
		shift--;
	c->e = big_calloc(2 * nsets * sizeof(*c->e));
	if (!c->e) {
		*c = old;
		return -1;
	}
	c->nsets = nsets;
	c->shift = shift;
	/*
	 * Move the old entries, filed under their extent's first page (one it
	 * spans, as forget expects).  One that finds its set full is dropped; its
	 * node stays flagged, which only costs forget a look.
	 */
	for (i = 0; i < 2 * old.nsets; i++) {
		struct dcache_entry *e = &old.e[i], *s;

		if (!e->node)
			continue;
		s = dcache_set(c, e->start);
		if (!s[0].node)
			s[0] = *e;
		else if (!s[1].node && s[0].node != e->node)
			s[1] = *e;
	}
	free(old.e);
	return 0;
}

void dcache_free(struct dcache *c)
{
	free(c->e);
	memset(c, 0, sizeof(*c));
}
