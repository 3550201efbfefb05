/*
 * Randomised and hand-made checks of the structures verdicts rest on,
 * against plain models: the interval tree against a linear scan (per kind,
 * with kinds and ends changed in place), the address space (live extents and
 * the freed set, space.c) against byte arrays, the DMA lookup cache against
 * the live extents it must only ever name, and the id map against an array
 * indexed by id (including deletion while iterating).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "space.h"

static int failed, nfailed, suites;	/* checks failed; suites with a failure; suites run */

static void suite_done(const char *name, int before)
{
	suites++;
	nfailed += failed > before;
	printf("%s %s\n", failed > before ? "FAIL" : "ok  ", name);
}

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond)) {                            \
			failed++;                         \
			if (failed < 20) {                \
				printf("  check failed: "); \
				printf(__VA_ARGS__);      \
				printf("\n");             \
			}                                 \
		}                                         \
	} while (0)

/* --- interval tree ------------------------------------------------------------ */

struct hits {
	uint64_t a, b;
	unsigned kind, n, bad;
	uint64_t last;
};

static int count_hit(struct inode *n, void *p)
{
	struct hits *h = p;

	if (!(n->start < h->b && h->a < n->end) || n->start < h->last || n->kind != h->kind)
		h->bad++;	/* not overlapping, out of address order, or another kind */
	h->last = n->start;
	h->n++;
	return 0;
}

/* Overlapping intervals of three kinds against a linear scan. */
static void itree_random(void)
{
	static struct inode nodes[3000];
	static bool in[3000];
	struct itree t = { 0 };
	int before = failed, it;
	unsigned i;

	srand(3);
	for (it = 0; it < 300000; it++) {
		i = rand() % 3000;
		if (in[i] && rand() % 3 == 0) {
			/* Change the kind or shrink the end in place, as space.c does. */
			if (rand() % 2)
				nodes[i].kind = rand() % ITREE_KINDS;
			else if (nodes[i].end - nodes[i].start > 1)
				nodes[i].end -= 1 + rand() % (nodes[i].end - nodes[i].start - 1);
			itree_changed(&t, &nodes[i]);
		} else if (in[i]) {
			itree_remove(&t, &nodes[i]);
			in[i] = false;
		} else {
			nodes[i].start = rand() % 100000;
			nodes[i].end = nodes[i].start + 1 + rand() % (rand() % 8 ? 100 : 20000);
			nodes[i].kind = rand() % ITREE_KINDS;
			itree_insert(&t, &nodes[i]);
			in[i] = true;
		}
		if (it % 50 == 0) {
			struct hits h = { rand() % 100000, 0, rand() % ITREE_KINDS, 0, 0, 0 };
			unsigned want = 0;

			h.b = h.a + 1 + rand() % 500;
			itree_overlaps(&t, h.kind, h.a, h.b, count_hit, &h);
			for (i = 0; i < 3000; i++)
				want += in[i] && nodes[i].kind == h.kind && nodes[i].start < h.b &&
					h.a < nodes[i].end;
			CHECK(!h.bad && h.n == want, "itree query [%llu, %llu) kind %u: %u hits, %u wanted",
			      (unsigned long long)h.a, (unsigned long long)h.b, h.kind, h.n, want);
		}
	}
	suite_done("itree against a linear scan (300000 random inserts/removes/kind and end "
		   "changes, overlapping, 3 kinds)", before);
}

/* --- the address space against byte models ------------------------------------------ */

/*
 * Model: per byte, how many live extents of each kind cover it and which
 * owner freed it last (0: none, or covered since).  Owners are small
 * integers; the space's hold/drop must count exactly the freed pieces
 * naming each one.
 */
#define MSPACE (1u << 22)
#define MOWNERS 600000

static uint32_t *m_freed;		/* [MSPACE] */
static uint16_t *m_bus, *m_phys;	/* [MSPACE] */
static int32_t *m_refs;			/* [MOWNERS] hold - drop */
static uint32_t *m_seen;		/* [MSPACE] scratch */

static void m_hold(void *ctx, void *o)
{
	(void)ctx;
	m_refs[(size_t)o]++;
}

static void m_drop(void *ctx, void *o)
{
	(void)ctx;
	if (--m_refs[(size_t)o] < 0) {
		printf("FAIL space: owner %zu dropped more often than held\n", (size_t)o);
		exit(1);
	}
}

static const struct space_ops m_ops = { m_hold, m_drop };

static void model_reset(void)
{
	memset(m_freed, 0, MSPACE * sizeof(*m_freed));
	memset(m_bus, 0, MSPACE * sizeof(*m_bus));
	memset(m_phys, 0, MSPACE * sizeof(*m_phys));
	memset(m_refs, 0, MOWNERS * sizeof(*m_refs));
}

static void model_add(uint64_t a, uint64_t b, unsigned kind)
{
	for (uint64_t x = a; x < b; x++) {
		m_freed[x] = 0;
		(kind == SP_BUS ? m_bus : m_phys)[x]++;
	}
}

static void model_unlive(const struct inode *n, unsigned kind, bool freed)
{
	for (uint64_t x = n->start; x < n->end; x++) {
		(kind == SP_BUS ? m_bus : m_phys)[x]--;
		if (freed)
			m_freed[x] = (uint32_t)(size_t)n->owner;
	}
}

struct cls_check {
	uint64_t cur;
	unsigned bad;
};

/* Every byte's class and node must be what the model says, in order, without gaps. */
static void cls_visit(void *p, unsigned cls, struct inode *n, uint64_t a, uint64_t b)
{
	struct cls_check *c = p;

	if (a != c->cur || a >= b)
		c->bad++;
	c->cur = b;
	for (uint64_t x = a; x < b && x < MSPACE; x++) {
		unsigned want = m_bus[x] ? SP_BUS : m_freed[x] ? SP_FREED : m_phys[x] ? SP_PHYS
										 : SP_WILD;

		if (cls != want) {
			c->bad++;
			continue;
		}
		if (cls == SP_WILD)
			c->bad += n != NULL;
		else if (!n || n->kind != cls || n->start > x || n->end <= x)
			c->bad++;
		else if (cls == SP_FREED && (size_t)n->owner != m_freed[x])
			c->bad++;	/* the newest free must win */
	}
}

static unsigned classify_check(struct space *s, uint64_t a, uint64_t b)
{
	struct cls_check c = { a, 0 };

	space_classify(s, a, b, cls_visit, &c);
	return c.bad + (c.cur != b);
}

static int seen_visit(struct inode *n, void *p)
{
	(void)p;
	for (uint64_t x = n->start; x < n->end; x++) {
		if (m_seen[x])
			failed++;	/* pieces must be disjoint */
		m_seen[x] = (uint32_t)(size_t)n->owner;
	}
	return 0;
}

/* The whole freed set against the model, byte by byte, and the owners' counts. */
static void full_check(struct space *s, const char *what)
{
	uint64_t pieces = 0, x;
	size_t i;

	memset(m_seen, 0, MSPACE * sizeof(*m_seen));
	space_overlaps(s, SP_FREED, 0, MSPACE, seen_visit, NULL);
	for (x = 0; x < MSPACE; x++)
		if (m_seen[x] != m_freed[x])
			break;
	CHECK(x == MSPACE, "%s: freed set differs from the model at byte %llu", what,
	      (unsigned long long)x);
	for (i = 0; i < MOWNERS; i++)
		pieces += (uint64_t)m_refs[i];
	CHECK(pieces == s->n_freed, "%s: %llu owner references, %llu pieces", what,
	      (unsigned long long)pieces, (unsigned long long)s->n_freed);
}

/* A cache hit must name the owner of a live device-visible extent containing the range. */
static void find_check(struct space *s, uint64_t a, uint64_t b)
{
	if (!space_find_bus(s, a, b))
		return;
	for (uint64_t x = a; x < b; x++)
		CHECK(m_bus[x], "cache hit for [%llu, %llu) on byte %llu no live extent covers",
		      (unsigned long long)a, (unsigned long long)b, (unsigned long long)x);
}

static void space_final(struct space *s, const char *what)
{
	size_t i;

	space_free_all(s);
	for (i = 0; i < MOWNERS; i++)
		CHECK(!m_refs[i], "%s: owner %zu still held after space_free_all", what, i);
}

/* The adversarial layouts, one at a time, each against the model. */
static void space_cases(void)
{
	struct space s;
	struct inode *a, *b, *c, *d, *e, *f;
	int before = failed;
	uint64_t count;

	model_reset();
	space_init(&s, &m_ops, NULL);
	/* Overlapping frees: A [100, 300), then B [200, 400) freed later wins 200-399. */
	a = space_add(&s, 100, 300, SP_BUS, (void *)1);
	b = space_add(&s, 200, 400, SP_BUS, (void *)2);
	model_add(100, 300, SP_BUS);
	model_add(200, 400, SP_BUS);
	space_free(&s, a);
	model_unlive(a, SP_BUS, true);
	CHECK(!classify_check(&s, 50, 450), "A freed under live B");
	space_free(&s, b);
	model_unlive(b, SP_BUS, true);
	CHECK(!classify_check(&s, 50, 450), "overlapping frees");
	full_check(&s, "overlapping frees");
	/* Re-allocated over the middle, partially: C [150, 250) cuts both pieces. */
	c = space_add(&s, 150, 250, SP_BUS, (void *)3);
	model_add(150, 250, SP_BUS);
	CHECK(!classify_check(&s, 90, 410), "DMA over freed A, live C, freed B");
	CHECK(space_find_bus(&s, 160, 200) == (void *)3, "posted buffer not in the cache");
	CHECK(space_find_bus(&s, 140, 200) == NULL, "cache hit spanning freed bytes");
	full_check(&s, "partial re-alloc");
	/* Interior DMA spanning a freed piece and a live extent, over CPU-only memory. */
	d = space_add(&s, 0, 1000, SP_PHYS, (void *)4);
	model_add(0, 1000, SP_PHYS);
	CHECK(!classify_check(&s, 0, 1100), "freed over CPU-only, then wild");
	/* A mapping of the pool unmapped: freed wins over the live CPU-only pool. */
	e = space_add(&s, 500, 600, SP_BUS, (void *)5);
	model_add(500, 600, SP_BUS);
	space_free(&s, e);
	model_unlive(e, SP_BUS, true);
	CHECK(!classify_check(&s, 480, 620), "unmapped pool buffer");
	/* The same bytes mapped again take the freed piece's node over. */
	count = s.tree.count;
	f = space_add(&s, 500, 600, SP_BUS, (void *)6);
	model_add(500, 600, SP_BUS);
	CHECK(f == e && s.tree.count == count, "exact re-map did not reuse the freed node");
	CHECK(!classify_check(&s, 480, 620), "re-mapped pool buffer");
	/* A region whose two extents overlap each other, freed extent by extent. */
	a = space_add(&s, 2000, 2100, SP_BUS, (void *)7);
	b = space_add(&s, 2050, 2200, SP_BUS, (void *)7);
	model_add(2000, 2100, SP_BUS);
	model_add(2050, 2200, SP_BUS);
	space_free(&s, a);
	model_unlive(a, SP_BUS, true);
	space_free(&s, b);
	model_unlive(b, SP_BUS, true);
	CHECK(!classify_check(&s, 1990, 2210), "self-overlapping region");
	full_check(&s, "self-overlapping region");
	/* Dropped without a free (id reused): no freed bytes. */
	model_unlive(f, SP_BUS, false);
	space_drop(&s, f);
	model_unlive(d, SP_PHYS, false);
	space_drop(&s, d);
	CHECK(!classify_check(&s, 0, 1100), "dropped extents");
	/* An extent spanning more pages than the cache has sets, cached and freed. */
	a = space_add(&s, 1u << 20, (1u << 20) + (DCACHE_MIN_SETS + 3) * 4096ull, SP_BUS,
		      (void *)8);
	model_add(a->start, a->end, SP_BUS);
	for (uint64_t x = a->start; x < a->end; x += 4096 * 7)
		CHECK(!classify_check(&s, x, x + 64), "big extent");
	space_free(&s, a);
	model_unlive(a, SP_BUS, true);
	for (uint64_t x = a->start; x < a->end; x += 4096 * 7) {
		CHECK(!space_find_bus(&s, x, x + 64), "freed big extent still in the cache");
		CHECK(!classify_check(&s, x, x + 64), "freed big extent");
	}
	full_check(&s, "big extent");
	CHECK(!classify_check(&s, 160, 200) && space_find_bus(&s, 160, 200) == (void *)3 &&
	      c->start == 150, "C not cached by the DMA into it");
	space_final(&s, "cases");
	suite_done("space: overlapping frees, partial re-alloc, DMA across freed/live/CPU-only, "
		   "exact re-map, self-overlap, drop, extent larger than the cache", before);
}

/*
 * Random regions of 1-3 extents (mostly small, some up to 64 KiB, sometimes
 * overlapping each other) kept around @target live, freed or dropped at
 * random, with DMA-like queries checked byte by byte against the model.
 */
struct mregion {
	struct inode *ext[3];
	uint8_t kind[3];
	uint8_t n;
};

static void space_random(unsigned target, unsigned ops, unsigned small, unsigned seed,
			 const char *name)
{
	struct mregion *live = calloc(target * 2 + 16, sizeof(*live));
	uint64_t freed_a[64] = { 0 }, freed_b[64] = { 0 };	/* recently freed extents */
	size_t nlive = 0, peak = 0;
	struct space s;
	int before = failed;
	unsigned it, owner = 1, queries = 0, hits = 0;

	if (!live)
		abort();
	model_reset();
	space_init(&s, &m_ops, NULL);
	srand(seed);
	for (it = 0; it < ops; it++) {
		unsigned op = rand() % 100;

		if (nlive < 16 || (nlive < target && op < 70)) {
			struct mregion *g = &live[nlive++];

			g->n = 1 + (rand() % 4 == 0) + (rand() % 8 == 0);
			for (unsigned k = 0; k < g->n; k++) {
				uint64_t a = (uint64_t)rand() % (MSPACE - 70000), len;

				if (rand() % 3 == 0 && nlive > 1) {
					/* Over or next to an existing extent: recycled addresses. */
					struct mregion *o = &live[rand() % (nlive - 1)];
					struct inode *x = o->ext[rand() % o->n];

					a = rand() % 2 ? x->start : x->start + rand() % (x->end - x->start);
				}
				len = rand() % 50 ? 1u + rand() % small : 1u + rand() % 65536u;
				if (a + len > MSPACE)
					a = MSPACE - len;
				if (rand() % 3 == 0 && freed_b[it % 64]) {
					/* Exactly the bytes of a freed extent: a recycled buffer. */
					a = freed_a[it % 64];
					len = freed_b[it % 64] - a;
				}
				g->kind[k] = rand() % 5 ? SP_BUS : SP_PHYS;
				g->ext[k] = space_add(&s, a, a + len, g->kind[k], (void *)(size_t)owner);
				model_add(a, a + len, g->kind[k]);
			}
			owner++;
			if (owner == MOWNERS)
				abort();
		} else if (nlive) {
			size_t i = rand() % nlive;
			struct mregion *g = &live[i];
			bool drop = rand() % 20 == 0;

			for (unsigned k = 0; k < g->n; k++) {
				freed_a[(it + k) % 64] = g->ext[k]->start;
				freed_b[(it + k) % 64] = g->ext[k]->end;
				model_unlive(g->ext[k], g->kind[k], !drop);
				if (drop)
					space_drop(&s, g->ext[k]);
				else
					space_free(&s, g->ext[k]);
			}
			live[i] = live[--nlive];
		}
		if (nlive > peak)
			peak = nlive;
		if (it % 7 == 0) {
			/* DMA: into a live extent (as most DMA is), or anywhere. */
			uint64_t a = (uint64_t)rand() % (MSPACE - 5000), b;

			if (nlive && rand() % 2) {
				struct inode *x = live[rand() % nlive].ext[0];

				a = x->start + rand() % (x->end - x->start);
			}
			b = a + 1 + rand() % (rand() % 4 ? 64 : 4096);
			find_check(&s, a, b);
			hits += space_find_bus(&s, a, b) != NULL;
			queries++;
			CHECK(!classify_check(&s, a, b), "%s: op %u: DMA [%llu, %llu) misclassified",
			      name, it, (unsigned long long)a, (unsigned long long)b);
		}
		if (it % (ops / 4) == ops / 4 - 1)
			full_check(&s, name);
	}
	for (size_t i = 0; i < nlive; i++)
		for (unsigned k = 0; k < live[i].n; k++)
			model_unlive(live[i].ext[k], live[i].kind[k], false);
	space_final(&s, name);
	free(live);
	{
		char what[200];

		snprintf(what, sizeof(what), "%s (%u ops, peak %zu live regions, %u DMA checked "
			 "byte by byte, %u cache hits)", name, ops, peak, queries, hits);
		suite_done(what, before);
	}
}

/* --- id map ------------------------------------------------------------------------ */

/*
 * Model index @i (1..4999) as an id: the upper half of the indexes get ids
 * above 2^32 whose low 32 bits equal a lower index's id, as reference ids do
 * after 2^32 references (trace.h tn_ref_id): the map must tell them apart.
 */
static uint64_t idmap_key(size_t i)
{
	return i < 2500 ? i : (1ull << 32) | (i - 2499);
}

static size_t idmap_index(uint64_t key)
{
	return key >> 32 ? (size_t)(key & 0xffffffffu) + 2499 : (size_t)key;
}

static void idmap_random(void)
{
	static void *model[5000];
	struct idmap m = { 0 };
	int before = failed, it;
	size_t pos = 0, n = 0, c = 0, i;
	uint64_t key;
	void *v;

	srand(2);
	for (it = 1; it < 1000000; it++) {
		i = 1 + rand() % 4999;
		switch (rand() % 3) {
		case 0:
			idmap_put(&m, idmap_key(i), (void *)(size_t)it);
			model[i] = (void *)(size_t)it;
			break;
		case 1:
			if (idmap_del(&m, idmap_key(i)) != model[i])
				failed++;
			model[i] = NULL;
			break;
		default:
			if (idmap_get(&m, idmap_key(i)) != model[i])
				failed++;
		}
	}
	/* Delete every odd index while walking, as on_quiesced_seen does. */
	while ((v = idmap_next(&m, &pos, &key))) {
		if (idmap_index(key) & 1) {
			idmap_del(&m, key);
			model[idmap_index(key)] = NULL;
			pos--;
		}
	}
	for (i = 1; i < 5000; i++) {
		n += model[i] != NULL;
		if (idmap_get(&m, idmap_key(i)) != model[i])
			failed++;
	}
	pos = 0;
	while (idmap_next(&m, &pos, &key))
		c++;
	if (c != n || n != m.used)
		failed++;
	idmap_free(&m);
	suite_done("idmap against an array (1000000 random puts/dels/gets, deletion while walking, "
		   "ids above 2^32 sharing their low half with others)", before);
}

int main(void)
{
	m_freed = calloc(MSPACE, sizeof(*m_freed));
	m_seen = calloc(MSPACE, sizeof(*m_seen));
	m_bus = calloc(MSPACE, sizeof(*m_bus));
	m_phys = calloc(MSPACE, sizeof(*m_phys));
	m_refs = calloc(MOWNERS, sizeof(*m_refs));
	if (!m_freed || !m_seen || !m_bus || !m_phys || !m_refs)
		abort();
	itree_random();
	space_cases();
	space_random(300, 200000, 2048, 11, "space against byte models, ~300 live regions");
	space_random(100000, 500000, 256, 12, "space against byte models, ~100000 live regions");
	idmap_random();
	printf("dmacheck structures: %d passed, %d failed\n", suites - nfailed, nfailed);
	free(m_freed);
	free(m_seen);
	free(m_bus);
	free(m_phys);
	free(m_refs);
	return failed ? 1 : 0;
}
