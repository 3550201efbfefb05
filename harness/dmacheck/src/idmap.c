/* The id map: linear probing, at most half full, backward-shift deletion. */
#include "idmap.h"

#include <stdint.h>
#include <stdlib.h>

#include "bigmem.h"

void *idmap_get(const struct idmap *m, uint64_t id)
{
	size_t i;

	if (!m->cap || id == 0)
		return NULL;
	for (i = idmap_slot(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->e[i].key == id)
			return m->e[i].val;
		if (m->e[i].key == 0)
			return NULL;
	}
}

static int grow(struct idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	struct idmap_entry *e = cap <= SIZE_MAX / sizeof(*e) ? big_calloc(cap * sizeof(*e)) : NULL;

	if (!e)
		return -1;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (m->e[i].key == 0)
			continue;
		for (j = idmap_slot(m->e[i].key, cap); e[j].key; j = (j + 1) & (cap - 1))
			;
		e[j] = m->e[i];
	}
	free(m->e);
	m->e = e;
	m->cap = cap;
	return 0;
}

int idmap_put(struct idmap *m, uint64_t id, void *val)
{
	size_t i;

	if (id == 0)
		return -1;
	if ((m->used + 1) * 2 > m->cap && grow(m))
		return -1;
	for (i = idmap_slot(id, m->cap); m->e[i].key; i = (i + 1) & (m->cap - 1)) {
		if (m->e[i].key == id) {
			m->e[i].val = val;
			return 0;
		}
	}
	m->e[i].key = id;
	m->e[i].val = val;
	m->used++;
	return 0;
}

void *idmap_del(struct idmap *m, uint64_t id)
{
	size_t i, j, mask = m->cap - 1;
	void *val;

	if (!m->cap || id == 0)
		return NULL;
	for (i = idmap_slot(id, m->cap); m->e[i].key != id; i = (i + 1) & mask)
		if (m->e[i].key == 0)
			return NULL;
	val = m->e[i].val;
	/* Move back every later entry of the cluster whose home is not in (i, j]. */
	for (j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
		size_t k = idmap_slot(m->e[j].key, m->cap);

		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->e[i] = m->e[j];
		i = j;
	}
	m->e[i].key = 0;
	m->e[i].val = NULL;
	m->used--;
	return val;
}

void *idmap_next(const struct idmap *m, size_t *pos, uint64_t *id)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;

		if (m->e[i].key) {
			*id = m->e[i].key;
			return m->e[i].val;
		}
	}
	return NULL;
}

void idmap_free(struct idmap *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->used = 0;
}
