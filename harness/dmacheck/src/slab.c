/* Free-list allocator; see slab.h. */
#include "slab.h"

#include <stdlib.h>

#include "bigmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_MALLOC 1
#endif
#endif

#define SLAB_CHUNK 65536
#define SLAB_HUGE (2u << 20)

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
		/*
		 * Chunks grow with the slab up to 2 MiB, and those get huge pages:
		 * a large live set is visited at random, and a TLB miss per object
		 * costs as much as the cache miss.  The first object slot of a
		 * chunk links the chunks.
		 */
		size_t size = s->total < SLAB_CHUNK ? SLAB_CHUNK : s->total < SLAB_HUGE ? s->total
										  : SLAB_HUGE;
		char *c;

		if (size < 2 * n)
			size = 2 * n;
		c = big_alloc(size);
		if (!c)
			return NULL;
		*(void **)c = s->chunks;
		s->chunks = c;
		s->next = c + n;
		s->end = c + size;
		s->total += size;
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
	s->total = 0;
}

#endif
