#include "itree.h"

#include <stdbool.h>
#include <stddef.h>

/* Recompute @n's maximum from its own interval and its children's; true if it changed. */
static bool update(struct inode *n)
{
	const struct inode *l = n->left, *r = n->right;
	uint64_t m = n->end;

	if (l && l->max_end > m)
		m = l->max_end;
	if (r && r->max_end > m)
		m = r->max_end;
	if (n->max_end == m)
		return false;
	n->max_end = m;
	return true;
}

/* @n got new children: adopt them and recompute. */
static void pull(struct inode *n)
{
	if (n->left)
		n->left->parent = n;
	if (n->right)
		n->right->parent = n;
	update(n);
}

static int key_less(const struct inode *a, const struct inode *b)
{
	return a->start < b->start || (a->start == b->start && a->seq < b->seq);
}

/* xorshift: priorities only need to be unpredictable to the input. */
static uint32_t next_prio(struct itree *t)
{
	uint32_t x = t->seed ? t->seed : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	t->seed = x;
	return x;
}

static void split(struct inode *t, const struct inode *k, struct inode **l, struct inode **r)
{
	if (!t) {
		*l = *r = NULL;
		return;
	}
	if (key_less(t, k)) {
		split(t->right, k, &t->right, r);
		*l = t;
	} else {
		split(t->left, k, l, &t->left);
		*r = t;
	}
	pull(t);
}

/*
 * Descend while the nodes outrank the new one (each of them gains it in its
 * subtree, so its maximum can only grow), then split the
 * rest around it.
 */
void itree_insert(struct itree *t, struct inode *n)
{
	struct inode **link = &t->root, *parent = NULL;

	n->prio = next_prio(t);
	n->seq = t->next_seq++;
	while (*link && (*link)->prio >= n->prio) {
		parent = *link;
		if (parent->max_end < n->end)
			parent->max_end = n->end;
		link = key_less(n, parent) ? &parent->left : &parent->right;
	}
	split(*link, n, &n->left, &n->right);
	pull(n);
	n->parent = parent;
	*link = n;
	t->count++;
}

static struct inode *merge(struct inode *a, struct inode *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->right = merge(a->right, b);
		pull(a);
		return a;
	}
	b->left = merge(a, b->left);
	pull(b);
	return b;
}

/* Recompute from @p up; an ancestor whose maxima did not change leaves the rest as they were. */
static void fix_up(struct inode *p)
{
	while (p && update(p))
		p = p->parent;
}

/* Replace @n by the merge of its children, then fix the maxima above it. */
void itree_remove(struct itree *t, struct inode *n)
{
	struct inode *p = n->parent, *m = merge(n->left, n->right);

	if (!p)
		t->root = m;
	else if (p->left == n)
		p->left = m;
	else
		p->right = m;
	if (m)
		m->parent = p;
	fix_up(p);
	n->left = n->right = n->parent = NULL;
	t->count--;
}

void itree_changed(struct itree *t, struct inode *n)
{
	(void)t;
	fix_up(n);
}

static int visit(struct inode *n, unsigned k, uint64_t a, uint64_t b, itree_visit fn, void *ctx)
{
	int stop;

	while (n) {
		if (n->max_end <= a)
			return 0;
		if (n->left && n->left->max_end > a && (stop = visit(n->left, k, a, b, fn, ctx)))
			return stop;
		if (n->start >= b)
			return 0;
		if (n->kind == k && n->end > a && (stop = fn(n, ctx)))
			return stop;
		n = n->right;
	}
	return 0;
}

int itree_overlaps(const struct itree *t, unsigned kind, uint64_t a, uint64_t b, itree_visit fn,
		   void *ctx)
{
	return kind < ITREE_KINDS ? visit(t->root, kind, a, b, fn, ctx) : 0;
}
