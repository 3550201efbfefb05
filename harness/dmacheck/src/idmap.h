/* Open-addressing map from a 32-bit id to a pointer (id 0 is never stored). */
#ifndef DMACHECK_IDMAP_H
#define DMACHECK_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint32_t *keys;
	void **vals;
	size_t cap, used, tombs;
};

void *idmap_get(const struct idmap *m, uint32_t id);
int idmap_put(struct idmap *m, uint32_t id, void *val);	/* 0, or -1 out of memory */
void *idmap_del(struct idmap *m, uint32_t id);
void idmap_free(struct idmap *m);
/* Iterate: start with *pos = 0; returns NULL at the end. */
void *idmap_next(const struct idmap *m, size_t *pos, uint32_t *id);

#endif
