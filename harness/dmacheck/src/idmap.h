/*
 * Open-addressing map from a 64-bit id to a pointer (id 0 is never stored):
 * ledger ids are 32 bits, device reference ids 64 (trace.h tn_ref_id).
 * Deletion shifts the following entries back instead of leaving tombstones,
 * so the table's size follows the live entries even when every id is used
 * once (per-packet mapping ids).  A key and its value share an entry, so a
 * lookup in a table too big for the CPU caches misses them once, not twice,
 * and a big table sits on huge pages (bigmem.h).
 */
#ifndef DMACHECK_IDMAP_H
#define DMACHECK_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "bigmem.h"

struct idmap_entry {
	uint64_t key;		/* 0: empty */
	void *val;
};

struct idmap {
	struct idmap_entry *e;
	size_t cap, used;
};

static inline size_t idmap_slot(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/*
 * Start loading where a lookup or delete of @id will look: its home entry's
 * line and the next (probes and the delete's shift run on into it).  A hint;
 * nothing changes.
 */
static inline void idmap_prefetch(const struct idmap *m, uint64_t id)
{
	if (m->cap) {
		const char *p = (const char *)&m->e[idmap_slot(id, m->cap)];

		BIG_PREFETCH(p);
		BIG_PREFETCH(p + 64);
	}
}

void *idmap_get(const struct idmap *m, uint64_t id);
int idmap_put(struct idmap *m, uint64_t id, void *val);	/* 0, or -1 out of memory */
void *idmap_del(struct idmap *m, uint64_t id);
void idmap_free(struct idmap *m);
/* Iterate: start with *pos = 0; returns NULL at the end.  No put/del meanwhile. */
void *idmap_next(const struct idmap *m, size_t *pos, uint64_t *id);

#endif
