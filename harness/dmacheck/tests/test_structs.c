/*
 * Randomised checks of the structures verdicts rest on, against plain
 * models: the interval tree against a linear scan, the freed set (fset)
 * against a byte array of owners, the id map against an array indexed by id
 * (including deletion while iterating).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "fset.h"
#include "idmap.h"

#define SPACE 4096
#define OWNERS 200000

static int failed, nfailed;	/* checks failed; suites with a failure */
static uint32_t owner_at[SPACE];	/* model: 0 = not freed */
static int refs[OWNERS];
static uint32_t seen[SPACE];

static void hold(void *ctx, void *o)
{
	(void)ctx;
	refs[(size_t)o]++;
}

static void drop(void *ctx, void *o)
{
	(void)ctx;
	if (--refs[(size_t)o] < 0) {
		printf("FAIL fset: owner %zu dropped more often than held\n", (size_t)o);
		exit(1);
	}
}

static const struct fset_ops ops = { hold, drop };

static int record(struct inode *n, void *p)
{
	uint64_t i;

	(void)p;
	for (i = n->start; i < n->end; i++) {
		if (seen[i])
			failed++;	/* pieces must be disjoint */
		seen[i] = (uint32_t)(size_t)n->owner;
	}
	return 0;
}

static void fset_random(void)
{
	struct fset s = { .ops = &ops };
	int before = failed;
	uint32_t it;
	size_t total = 0, i;

	srand(1);
	for (it = 1; it < 150000; it++) {
		uint64_t a = rand() % SPACE, b = a + 1 + rand() % 300, k;

		b = b > SPACE ? SPACE : b;
		if (rand() % 2) {
			fset_add(&s, a, b, (void *)(size_t)it);
			for (k = a; k < b; k++)
				owner_at[k] = it;
		} else {
			fset_cover(&s, a, b);
			for (k = a; k < b; k++)
				owner_at[k] = 0;
		}
		if (it % 101 == 0) {
			uint64_t qa = rand() % SPACE, qb = qa + 1 + rand() % 600;

			qb = qb > SPACE ? SPACE : qb;
			for (k = 0; k < SPACE; k++)
				seen[k] = 0;
			fset_overlaps(&s, qa, qb, record, NULL);
			for (k = qa; k < qb; k++)
				if (seen[k] != owner_at[k])
					failed++;
		}
	}
	for (i = 0; i < OWNERS; i++)
		total += refs[i];
	if (total != s.tree.count)
		failed++;
	fset_free(&s);
	for (i = 0; i < OWNERS; i++)
		if (refs[i])
			failed++;
	nfailed += failed > before;
	printf("%s fset against a byte model (150000 random frees/covers)\n",
	       failed > before ? "FAIL" : "ok  ");
}

static void idmap_random(void)
{
	static void *model[5000];
	struct idmap m = { 0 };
	int before = failed, it;
	size_t pos = 0, n = 0, c = 0, i;
	uint32_t id;
	void *v;

	srand(2);
	for (it = 1; it < 1000000; it++) {
		id = 1 + rand() % 4999;
		switch (rand() % 3) {
		case 0:
			idmap_put(&m, id, (void *)(size_t)it);
			model[id] = (void *)(size_t)it;
			break;
		case 1:
			if (idmap_del(&m, id) != model[id])
				failed++;
			model[id] = NULL;
			break;
		default:
			if (idmap_get(&m, id) != model[id])
				failed++;
		}
	}
	/* Delete every odd id while walking, as on_quiesced_seen does. */
	while ((v = idmap_next(&m, &pos, &id))) {
		if (id & 1) {
			idmap_del(&m, id);
			model[id] = NULL;
			pos--;
		}
	}
	for (i = 1; i < 5000; i++) {
		n += model[i] != NULL;
		if (idmap_get(&m, (uint32_t)i) != model[i])
			failed++;
	}
	pos = 0;
	while (idmap_next(&m, &pos, &id))
		c++;
	if (c != n || n != m.used)
		failed++;
	idmap_free(&m);
	nfailed += failed > before;
	printf("%s idmap against an array (1000000 random puts/dels/gets, deletion while walking)\n",
	       failed > before ? "FAIL" : "ok  ");
}

struct hits {
	uint64_t a, b;
	unsigned n, bad;
	uint64_t last;
};

static int count_hit(struct inode *n, void *p)
{
	struct hits *h = p;

	if (!(n->start < h->b && h->a < n->end) || n->start < h->last)
		h->bad++;	/* not overlapping, or out of address order */
	h->last = n->start;
	h->n++;
	return 0;
}

/* Overlapping intervals (live extents may overlap) against a linear scan. */
static void itree_random(void)
{
	static struct inode nodes[3000];
	static bool in[3000];
	struct itree t = { 0 };
	int before = failed, it;
	unsigned i;

	srand(3);
	for (it = 0; it < 200000; it++) {
		i = rand() % 3000;
		if (in[i]) {
			itree_remove(&t, &nodes[i]);
			in[i] = false;
		} else {
			nodes[i].start = rand() % 100000;
			nodes[i].end = nodes[i].start + 1 + rand() % (rand() % 8 ? 100 : 20000);
			itree_insert(&t, &nodes[i]);
			in[i] = true;
		}
		if (it % 50 == 0) {
			struct hits h = { rand() % 100000, 0, 0, 0, 0 };
			unsigned want = 0;

			h.b = h.a + 1 + rand() % 500;
			itree_overlaps(&t, h.a, h.b, count_hit, &h);
			for (i = 0; i < 3000; i++)
				want += in[i] && nodes[i].start < h.b && h.a < nodes[i].end;
			if (h.bad || h.n != want)
				failed++;
		}
	}
	nfailed += failed > before;
	printf("%s itree against a linear scan (200000 random inserts/removes, overlapping)\n",
	       failed > before ? "FAIL" : "ok  ");
}

int main(void)
{
	itree_random();
	fset_random();
	idmap_random();
	printf("dmacheck structures: %d passed, %d failed\n", 3 - nfailed, nfailed);
	return failed ? 1 : 0;
}
