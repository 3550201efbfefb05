/* Freed-and-not-reused bytes as disjoint pieces; see fset.h. */
#include "fset.h"

#include <stdlib.h>

struct collect {
	struct fset *s;
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

static struct inode *piece(uint64_t a, uint64_t b, void *owner)
{
	struct inode *n = calloc(1, sizeof(*n));

	if (n) {
		n->start = a;
		n->end = b;
		n->owner = owner;
	}
	return n;
}

/* Remove [a, b) from every piece: a piece keeps what lies outside it. */
int fset_cover(struct fset *s, uint64_t a, uint64_t b)
{
	struct collect c = { s, 0, 0 };
	size_t i;

	if (a >= b || !s->tree.root)
		return 0;
	itree_overlaps(&s->tree, a, b, collect_visit, &c);
	if (c.oom)
		return -1;
	for (i = 0; i < c.n; i++) {
		struct inode *n = s->scratch[i];
		uint64_t start = n->start, end = n->end;

		itree_remove(&s->tree, n);
		if (start < a && end > b) {
			struct inode *right = piece(b, end, n->owner);

			if (!right)
				return -1;
			s->ops->hold(s->ctx, n->owner);
			itree_insert(&s->tree, right);
		}
		if (start < a) {
			n->end = a;
			itree_insert(&s->tree, n);
		} else if (end > b) {
			n->start = b;
			itree_insert(&s->tree, n);
		} else {
			s->ops->drop(s->ctx, n->owner);
			free(n);
		}
	}
	return 0;
}

int fset_add(struct fset *s, uint64_t a, uint64_t b, void *owner)
{
	struct inode *n;

	if (a >= b)
		return 0;
	if (fset_cover(s, a, b))
		return -1;
	n = piece(a, b, owner);
	if (!n)
		return -1;
	s->ops->hold(s->ctx, owner);
	itree_insert(&s->tree, n);
	return 0;
}


static void free_all(struct fset *s, struct inode *n)
{
	while (n) {
		struct inode *right = n->right;

		free_all(s, n->left);
		s->ops->drop(s->ctx, n->owner);
		free(n);
		n = right;
	}
}

void fset_free(struct fset *s)
{
	free_all(s, s->tree.root);
	s->tree.root = NULL;
	s->tree.count = 0;
	free(s->scratch);
	s->scratch = NULL;
	s->scratch_cap = 0;
}
