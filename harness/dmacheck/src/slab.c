/* Free-list allocator; see slab.h. */
#include "slab.h"

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_MALLOC 1
#endif
#endif

#define SLAB_CHUNK 65536

/* Objects are aligned like malloc's, and big enough to hold the free-list link. */
static size_t obj_size(const struct slab *s)
{
	size_t a = _Alignof(max_align_t), n = s->size < sizeof(void *) ? sizeof(void *) : s->size;

	return (n + a - 1) / a * a;
}

#ifdef SLAB_MALLOC

void *slab_alloc(struct slab *s)
{
	return malloc(obj_size(s));
}

void slab_free(struct slab *s, void *p)
{
	(void)s;
	free(p);
}

void slab_destroy(struct slab *s)
{
	(void)s;
}

#else

void *slab_alloc(struct slab *s)
{
	size_t n = obj_size(s);
	void *p = s->free;

	if (p) {
		s->free = *(void **)p;
		return p;
	}
	if ((size_t)(s->end - s->next) < n) {
		/* The first object slot of a chunk links the chunks. */
		char *c = malloc(SLAB_CHUNK > 2 * n ? SLAB_CHUNK : 2 * n);

		if (!c)
			return NULL;
		*(void **)c = s->chunks;
		s->chunks = c;
		s->next = c + n;
		s->end = c + (SLAB_CHUNK > 2 * n ? SLAB_CHUNK : 2 * n);
	}
	p = s->next;
	s->next += n;
	return p;
}

void slab_free(struct slab *s, void *p)
{
	if (!p)
		return;
	*(void **)p = s->free;
	s->free = p;
}

void slab_destroy(struct slab *s)
{
	while (s->chunks) {
		void *c = s->chunks;

		s->chunks = *(void **)c;
		free(c);
	}
	s->free = NULL;
	s->next = s->end = NULL;
}

#endif
