/* SPDX-License-Identifier: GPL-2.0-only */
/* A module parameter "bugs=a,b,c" read against a driver's table of seeded bug-mode names. */
#ifndef TN_BUG_LIST_H
#define TN_BUG_LIST_H

#include <linux/string.h>

/* "a,b,c" -> bit mask of their indexes in @names; -EINVAL if one names nothing there. */
static inline int tn_parse_bug_list(const char *list, const char *const *names,
				    unsigned int count, unsigned long *mask)
{
	char buf[256], *p = buf, *tok;
	unsigned int i;

	*mask = 0;
	strscpy(buf, list, sizeof(buf));
	while ((tok = strsep(&p, ",")) != NULL) {
		if (!*tok)
			continue;
		for (i = 0; i < count; i++)
			if (!strcmp(tok, names[i]))
				break;
		if (i == count)
			return -EINVAL;
		*mask |= 1UL << i;
	}
	return 0;
}

#endif
