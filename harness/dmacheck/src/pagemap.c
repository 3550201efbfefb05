#include "pagemap.h"

#include <stdlib.h>

static size_t slot(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

void *pagemap_get(const struct pagemap *m, uint64_t page)
{
	uint64_t key = page + 1;
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NULL;
}

static int grow(struct pagemap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, i, j;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	void **vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		if (!m->keys[i])
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

int pagemap_put(struct pagemap *m, uint64_t page, void *val)
{
	uint64_t key = page + 1;
	size_t i;

	if ((m->used + 1) * 2 > m->cap && grow(m))
		return -1;
	for (i = slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->used++;
	return 0;
}

/* Linear probing with backward-shift deletion: no tombstones to pile up. */
void pagemap_del_if(struct pagemap *m, uint64_t page, const void *val)
{
	uint64_t key = page + 1;
	size_t i, j;

	if (!m->cap)
		return;
	for (i = slot(key, m->cap); m->keys[i] != key; i = (i + 1) & (m->cap - 1))
		if (!m->keys[i])
			return;
	if (m->vals[i] != val)
		return;
	m->keys[i] = 0;
	m->used--;
	for (j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot(m->keys[j], m->cap);

		/* Move j back to i if i lies cyclically in [home, j). */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
}

void pagemap_free(struct pagemap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->used = 0;
}
