#include "itree.h"

#include <stddef.h>

static uint64_t max_end_of(const struct inode *n)
{
	return n ? n->max_end : 0;
}

static void update(struct inode *n)
{
	uint64_t m = n->end;

	if (max_end_of(n->left) > m)
		m = max_end_of(n->left);
	if (max_end_of(n->right) > m)
		m = max_end_of(n->right);
	n->max_end = m;
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
	update(t);
}

/*
 * Descend while the nodes outrank the new one (each of them gains it in its
 * subtree, so its max_end can only grow), then split the rest around it.
 */
void itree_insert(struct itree *t, struct inode *n)
{
	struct inode **link = &t->root;

	n->left = n->right = NULL;
	n->prio = next_prio(t);
	n->seq = t->next_seq++;
	n->max_end = n->end;
	while (*link && (*link)->prio >= n->prio) {
		struct inode *p = *link;

		if (p->max_end < n->end)
			p->max_end = n->end;
		link = key_less(n, p) ? &p->left : &p->right;
	}
	split(*link, n, &n->left, &n->right);
	update(n);
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
		update(a);
		return a;
	}
	b->left = merge(a, b->left);
	update(b);
	return b;
}

static struct inode *remove_deep(struct inode *root, struct inode *n)
{
	if (!root)
		return NULL;
	if (root == n)
		return merge(root->left, root->right);
	if (key_less(n, root))
		root->left = remove_deep(root->left, n);
	else
		root->right = remove_deep(root->right, n);
	update(root);
	return root;
}

#define ITREE_PATH_MAX 128

/* Unlink @n, then recompute max_end on the path above it, bottom-up. */
void itree_remove(struct itree *t, struct inode *n)
{
	struct inode *path[ITREE_PATH_MAX];
	struct inode **link = &t->root;
	int depth = 0;

	while (*link && *link != n) {
		struct inode *p = *link;

		if (depth == ITREE_PATH_MAX)
			break;
		path[depth++] = p;
		link = key_less(n, p) ? &p->left : &p->right;
	}
	if (*link != n) {
		/* Deeper than any balanced treap gets: redo the walk recomputing on the way up. */
		t->root = remove_deep(t->root, n);
	} else {
		*link = merge(n->left, n->right);
		while (depth--)
			update(path[depth]);
	}
	n->left = n->right = NULL;
	t->count--;
}

static int visit(struct inode *n, uint64_t a, uint64_t b, itree_visit fn, void *ctx)
{
	int stop;

	while (n) {
		if (n->max_end <= a)
			return 0;
		if (n->left && n->left->max_end > a && (stop = visit(n->left, a, b, fn, ctx)))
			return stop;
		if (n->start >= b)
			return 0;
		if (n->end > a && (stop = fn(n, ctx)))
			return stop;
		n = n->right;
	}
	return 0;
}

int itree_overlaps(const struct itree *t, uint64_t a, uint64_t b, itree_visit fn, void *ctx)
{
	return visit(t->root, a, b, fn, ctx);
}
