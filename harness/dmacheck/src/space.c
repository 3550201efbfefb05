/* Live extents and freed pieces in one interval tree; see space.h. */
#include "space.h"

#include <stdbool.h>
#include <stdlib.h>

void space_init(struct space *s, const struct space_ops *ops, void *ctx)
{
	*s = (struct space){ .ops = ops, .ctx = ctx };
	s->nodes.size = sizeof(struct inode);
}

static struct inode *new_node(struct space *s, uint64_t a, uint64_t b, unsigned kind, void *owner)
{
	struct inode *n = slab_alloc(&s->nodes);

	if (n) {
		n->start = a;
		n->end = b;
		n->kind = (uint8_t)kind;
		n->cached = 0;
		n->owner = owner;
	}
	return n;
}

/*
 * The recycled-buffer index: freed pieces by their start address, one per
 * slot, so a MAP of exactly the bytes of a freed piece finds it without a
 * search.  A slot names a node only while that node is a freed piece
 * starting at that address: every path that ends a piece or moves its start
 * clears its slot.  Losing a slot to a collision only costs a search.
 */
static size_t recent_slot(const struct space *s, uint64_t a)
{
	return (size_t)(((a >> 4) * 0x9e3779b97f4a7c15ull) >> s->recent_shift);
}

static void recent_put(struct space *s, struct inode *n)
{
	if (s->recent)
		s->recent[recent_slot(s, n->start)] = n;
}

static void recent_forget(struct space *s, const struct inode *n)
{
	size_t i;

	if (!s->recent)
		return;
	i = recent_slot(s, n->start);
	if (s->recent[i] == n)
		s->recent[i] = NULL;
}

/* Grow with the freed set (one slot per piece, at least two); failing only costs speed. */
static void recent_reserve(struct space *s)
{
	size_t n = s->recent_size ? s->recent_size : SPACE_RECENT_MIN;
	unsigned shift = 64;
	struct inode **v;

	while (n < 2 * s->n_freed && n < SPACE_RECENT_MAX)
		n *= 2;
	if (s->recent && n == s->recent_size)
		return;
	v = calloc(n, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 1; i < n; i *= 2)
		shift--;
	free(s->recent);	/* forgetting every slot is allowed */
	s->recent = v;
	s->recent_size = n;
	s->recent_shift = shift;
}

struct collect {
	struct space *s;
	size_t n;
	int oom;
};

static int collect_visit(struct inode *n, void *p)
{
	struct collect *c = p;

	if (c->n == c->s->scratch_cap) {
		size_t cap = c->n ? c->n * 2 : 16;
		struct inode **v = realloc(c->s->scratch, cap * sizeof(*v));

		if (!v) {
			c->oom = 1;
			return 1;
		}
		c->s->scratch = v;
		c->s->scratch_cap = cap;
	}
	c->s->scratch[c->n++] = n;
	return 0;
}

/* The freed pieces overlapping [a, b), into s->scratch; their number, or -1 out of memory. */
static long collect_freed(struct space *s, uint64_t a, uint64_t b)
{
	struct collect c = { s, 0, 0 };

	itree_overlaps(&s->tree, SP_FREED, a, b, collect_visit, &c);
	return c.oom ? -1 : (long)c.n;
}

/* Remove [a, b) from the @k collected pieces: each keeps what lies outside it. */
static int cut(struct space *s, size_t k, uint64_t a, uint64_t b)
{
	size_t i;

	for (i = 0; i < k; i++) {
		struct inode *n = s->scratch[i];
		uint64_t start = n->start, end = n->end;

		if (start < a && end > b) {
			struct inode *right = new_node(s, b, end, SP_FREED, n->owner);

			if (!right)
				return -1;
			s->ops->hold(s->ctx, n->owner);
			itree_insert(&s->tree, right);
			s->n_freed++;
			recent_put(s, right);
		}
		if (start < a) {
			n->end = a;	/* the key (start) stays: fix the maxima in place */
			itree_changed(&s->tree, n);
		} else if (end > b) {
			recent_forget(s, n);
			itree_remove(&s->tree, n);
			n->start = b;
			itree_insert(&s->tree, n);
			recent_put(s, n);
		} else {
			recent_forget(s, n);
			itree_remove(&s->tree, n);
			s->n_freed--;
			s->ops->drop(s->ctx, n->owner);
			slab_free(&s->nodes, n);
		}
	}
	return 0;
}

int space_cover(struct space *s, uint64_t a, uint64_t b)
{
	long k;

	if (a >= b || !s->n_freed)
		return 0;
	k = collect_freed(s, a, b);
	return k < 0 ? -1 : cut(s, (size_t)k, a, b);
}

struct inode *space_add(struct space *s, uint64_t a, uint64_t b, unsigned kind, void *owner)
{
	struct inode *n = s->recent ? s->recent[recent_slot(s, a)] : NULL;

	/* Pieces are disjoint: one that is exactly [a, b) is the only freed byte there. */
	if (!n || n->start != a || n->end != b) {
		long k = s->n_freed ? collect_freed(s, a, b) : 0;

		if (k < 0)
			return NULL;
		n = NULL;
		if (k == 1 && s->scratch[0]->start == a && s->scratch[0]->end == b)
			n = s->scratch[0];
		else if (k > 0 && cut(s, (size_t)k, a, b))
			return NULL;
	}
	if (n) {
		/* The same bytes freed before (a recycled buffer): the piece becomes the extent. */
		void *old = n->owner;

		recent_forget(s, n);
		n->kind = (uint8_t)kind;	/* the tree's maxima do not depend on it */
		n->owner = owner;
		s->n_freed--;
		s->ops->drop(s->ctx, old);
	} else {
		n = new_node(s, a, b, kind, owner);
		if (!n)
			return NULL;
		itree_insert(&s->tree, n);
	}
	if (kind == SP_BUS) {
		/* New device-visible memory is about to be DMA'd (a posted buffer). */
		if (++s->n_bus > s->cache.nsets)
			dcache_reserve(&s->cache, s->n_bus);	/* failing only costs speed */
		dcache_put(&s->cache, n, a);
	}
	return n;
}

int space_free(struct space *s, struct inode *n)
{
	int ret;

	if (n->kind == SP_BUS) {
		dcache_forget(&s->cache, n);
		s->n_bus--;
	}
	/* n is still live, so the cover leaves it alone. */
	ret = space_cover(s, n->start, n->end);
	n->kind = SP_FREED;
	if (++s->n_freed * 2 > s->recent_size)
		recent_reserve(s);
	recent_put(s, n);
	s->ops->hold(s->ctx, n->owner);
	return ret;
}

/* The node of any kind ending last (or starting first) within [a, b), for space_summarise. */
struct edge {
	uint64_t a, b;
	bool last;		/* the largest end, else the smallest start */
	struct inode *n;
};

static int edge_visit(struct inode *n, void *p)
{
	struct edge *e = p;

	if (!e->n || (e->last ? n->end > e->n->end : n->start < e->n->start))
		e->n = n;
	return 0;
}

static struct inode *edge_node(const struct space *s, uint64_t a, uint64_t b, bool last)
{
	struct edge e = { a, b, last, NULL };
	unsigned kind;

	if (a >= b)
		return NULL;
	for (kind = 0; kind < ITREE_KINDS; kind++)
		itree_overlaps(&s->tree, kind, a, b, edge_visit, &e);
	return e.n;
}

/* Piece @n (named by @to) ends: it was merged into a neighbour. */
static void merged_away(struct space *s, struct inode *n, void *to)
{
	itree_remove(&s->tree, n);
	s->n_freed--;
	s->ops->drop(s->ctx, to);
	slab_free(&s->nodes, n);
}

/* Widen summary piece @n to its page where nothing else lies, and merge it with @to's. */
static void summary_widen(struct space *s, struct inode *n, void *to)
{
	uint64_t lo = n->start & ~(uint64_t)(SPACE_SUMMARY_PAGE - 1);
	uint64_t hi = n->end | (SPACE_SUMMARY_PAGE - 1);
	struct inode *e;

	hi = hi == UINT64_MAX ? UINT64_MAX : hi + 1;
	/* Look one byte beyond the page too: a piece of @to may end right at its edge. */
	e = edge_node(s, lo == n->start && lo ? lo - 1 : lo, n->start, true);
	if (e && e->kind == SP_FREED && e->owner == to && e->end == n->start) {
		e->end = n->end;		/* n joins the piece before it */
		itree_changed(&s->tree, e);
		merged_away(s, n, to);
		n = e;
	} else if ((e ? e->end : lo) < n->start) {
		itree_remove(&s->tree, n);
		n->start = e ? e->end : lo;
		itree_insert(&s->tree, n);
		if (e && e->kind == SP_FREED && e->owner == to && e->end == n->start) {
			e->end = n->end;
			itree_changed(&s->tree, e);
			merged_away(s, n, to);
			n = e;
		}
	}
	e = edge_node(s, n->end, hi == n->end && hi < UINT64_MAX ? hi + 1 : hi, false);
	if ((e ? e->start : hi) > n->end) {
		n->end = e ? e->start : hi;
		itree_changed(&s->tree, n);
	}
	if (e && e->kind == SP_FREED && e->owner == to && e->start == n->end) {
		n->end = e->end;		/* the piece after joins n */
		itree_changed(&s->tree, n);
		recent_forget(s, e);
		merged_away(s, e, to);
	}
}

int space_summarise(struct space *s, uint64_t a, uint64_t b, void *owner, void *to)
{
	long k = a < b && s->n_freed ? collect_freed(s, a, b) : 0;
	struct inode **mine;
	size_t i, n = 0;

	if (k <= 0)
		return (int)k;
	mine = malloc((size_t)k * sizeof(*mine));	/* the widening searches reuse scratch */
	if (!mine)
		return -1;
	for (i = 0; i < (size_t)k; i++)
		if (s->scratch[i]->owner == owner)
			mine[n++] = s->scratch[i];
	for (i = 0; i < n; i++) {
		recent_forget(s, mine[i]);
		mine[i]->owner = to;
		s->ops->hold(s->ctx, to);
		s->ops->drop(s->ctx, owner);
		summary_widen(s, mine[i], to);
	}
	free(mine);
	return 0;
}

void space_drop(struct space *s, struct inode *n)
{
	if (n->kind == SP_BUS) {
		dcache_forget(&s->cache, n);
		s->n_bus--;
	}
	itree_remove(&s->tree, n);
	slab_free(&s->nodes, n);
}

/*
 * Classification sweeps one layer (kind) at a time over its overlapping
 * nodes in address order, handing the gaps between them to the next layer:
 * SP_BUS, then SP_FREED, then SP_PHYS, then SP_WILD.
 */
static const uint8_t layer_kind[] = { SP_BUS, SP_FREED, SP_PHYS };

struct sweep {
	struct space *s;
	space_class_fn fn;
	void *ctx;
	unsigned layer;
	uint64_t a, b;		/* the range of this layer */
	uint64_t cur;		/* bytes below cur are accounted for */
	uint64_t top_a, top_b;	/* the whole DMA */
};

static void sweep(struct sweep *up, unsigned layer, uint64_t a, uint64_t b);

static int sweep_visit(struct inode *n, void *p)
{
	struct sweep *c = p;
	uint64_t from = n->start > c->cur ? n->start : c->cur, to = n->end < c->b ? n->end : c->b;

	if (n->start > c->cur)
		sweep(c, c->layer + 1, c->cur, n->start);
	if (from < to)
		c->fn(c->ctx, n->kind, n, from, to);
	if (to > c->cur)
		c->cur = to;
	if (c->layer == 0 && n->start <= c->top_a && n->end >= c->top_b)
		dcache_put(&c->s->cache, n, c->top_a);	/* the next DMA there takes the fast path */
	return 0;
}

static void sweep(struct sweep *up, unsigned layer, uint64_t a, uint64_t b)
{
	struct sweep c = *up;

	if (layer == sizeof(layer_kind)) {
		c.fn(c.ctx, SP_WILD, NULL, a, b);
		return;
	}
	c.layer = layer;
	c.a = c.cur = a;
	c.b = b;
	itree_overlaps(&c.s->tree, layer_kind[layer], a, b, sweep_visit, &c);
	if (c.cur < b)
		sweep(&c, layer + 1, c.cur, b);
}

void space_classify(struct space *s, uint64_t a, uint64_t b, space_class_fn fn, void *ctx)
{
	struct sweep c = { .s = s, .fn = fn, .ctx = ctx, .top_a = a, .top_b = b };

	if (a < b)
		sweep(&c, 0, a, b);
}

static void free_nodes(struct space *s, struct inode *n)
{
	while (n) {
		struct inode *right = n->right;

		free_nodes(s, n->left);
		if (n->kind == SP_FREED)
			s->ops->drop(s->ctx, n->owner);
		slab_free(&s->nodes, n);
		n = right;
	}
}

void space_free_all(struct space *s)
{
	free_nodes(s, s->tree.root);
	s->tree.root = NULL;
	s->tree.count = 0;
	s->n_bus = s->n_freed = 0;
	free(s->recent);
	s->recent = NULL;
	s->recent_size = 0;
	slab_destroy(&s->nodes);
	dcache_free(&s->cache);
	free(s->scratch);
	s->scratch = NULL;
	s->scratch_cap = 0;
}
