#include "idmap.h"

#include <stdlib.h>

#define TOMB UINT32_MAX	/* ids are reported by a guest: UINT32_MAX is rehashed away */

static size_t slot(uint32_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

void *idmap_get(const struct idmap *m, uint32_t id)
{
	size_t i;

	if (!m->cap || id == 0 || id == TOMB)
		return NULL;
	for (i = slot(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == id)
			return m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

static int grow(struct idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	uint32_t *keys;
	void **vals;

	while (m->used * 2 >= cap)
		cap *= 2;
	keys = calloc(cap, sizeof(*keys));
	vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (m->keys[i] == 0 || m->keys[i] == TOMB)
			continue;
		for (j = slot(m->keys[i], cap); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	m->tombs = 0;
	return 0;
}

int idmap_put(struct idmap *m, uint32_t id, void *val)
{
	size_t i, tomb = SIZE_MAX;

	if (id == 0 || id == TOMB)
		return -1;
	if ((m->used + m->tombs + 1) * 4 >= m->cap * 3 && grow(m))
		return -1;
	for (i = slot(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == id) {
			m->vals[i] = val;
			return 0;
		}
		if (m->keys[i] == TOMB && tomb == SIZE_MAX)
			tomb = i;
		if (m->keys[i] == 0)
			break;
	}
	if (tomb != SIZE_MAX) {
		i = tomb;
		m->tombs--;
	}
	m->keys[i] = id;
	m->vals[i] = val;
	m->used++;
	return 0;
}

void *idmap_del(struct idmap *m, uint32_t id)
{
	size_t i;
	void *val;

	if (!m->cap || id == 0 || id == TOMB)
		return NULL;
	for (i = slot(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0)
			return NULL;
		if (m->keys[i] == id)
			break;
	}
	val = m->vals[i];
	m->keys[i] = TOMB;
	m->vals[i] = NULL;
	m->used--;
	m->tombs++;
	return val;
}

void *idmap_next(const struct idmap *m, size_t *pos, uint32_t *id)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;

		if (m->keys[i] && m->keys[i] != TOMB) {
			*id = m->keys[i];
			return m->vals[i];
		}
	}
	return NULL;
}

void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->used = m->tombs = 0;
}
