/* The id map: linear probing, at most half full, backward-shift deletion. */
#include "idmap.h"

#include <stdlib.h>

static size_t slot(uint32_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

void *idmap_get(const struct idmap *m, uint32_t id)
{
	size_t i;

	if (!m->cap || id == 0)
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
	uint32_t *keys = calloc(cap, sizeof(*keys));
	void **vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (m->keys[i] == 0)
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
	return 0;
}

int idmap_put(struct idmap *m, uint32_t id, void *val)
{
	size_t i;

	if (id == 0)
		return -1;
	if ((m->used + 1) * 2 > m->cap && grow(m))
		return -1;
	for (i = slot(id, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == id) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = id;
	m->vals[i] = val;
	m->used++;
	return 0;
}

void *idmap_del(struct idmap *m, uint32_t id)
{
	size_t i, j, mask = m->cap - 1;
	void *val;

	if (!m->cap || id == 0)
		return NULL;
	for (i = slot(id, m->cap); m->keys[i] != id; i = (i + 1) & mask)
		if (m->keys[i] == 0)
			return NULL;
	val = m->vals[i];
	/* Move back every later entry of the cluster whose home is not in (i, j]. */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t k = slot(m->keys[j], m->cap);

		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->used--;
	return val;
}

void *idmap_next(const struct idmap *m, size_t *pos, uint32_t *id)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;

		if (m->keys[i]) {
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
	m->cap = m->used = 0;
}
