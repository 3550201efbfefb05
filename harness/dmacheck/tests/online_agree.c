/*
 * The device's online check (qemu-device/tnkit-check.c) against dmacheck on
 * dmacheck's whole rule corpus: every violating trace and its near-miss twin
 * (make corpus).  For every rule the online check claims to judge
 * (tnkit_check_rules), it must flag a trace exactly when dmacheck reports
 * that rule for it.  The rules it does not judge are listed.
 *
 * Usage: online-agree CORPUS-DIR.  Exit 0 when they agree on every trace.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmacheck.h"
#include "tnkit-check.h"

struct flags {
	bool rule[TN_RULE_COUNT];
};

static void on_violation(void *opaque, const struct tn_rec *vio)
{
	struct flags *f = opaque;

	if (vio->kind < TN_RULE_COUNT)
		f->rule[vio->kind] = true;
}

static void on_warn(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "online check: %s\n", msg);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n ? (size_t)n : 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static bool judged_online(unsigned rule)
{
	for (unsigned i = 0; i < TNKIT_CHECK_N_RULES; i++)
		if (tnkit_check_rules[i] == rule)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0, traces = 0;
	char **names = NULL;
	size_t n_names = 0;
	struct dirent *de;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: online-agree CORPUS-DIR (written by make -C harness/dmacheck corpus)\n");
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "online-agree: cannot open %s; run make -C harness/dmacheck corpus first\n",
			argv[1]);
		return 2;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".bin")) {
			names = realloc(names, (n_names + 1) * sizeof(*names));
			names[n_names++] = strdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n_names, sizeof(*names), cmp_names);

	for (size_t i = 0; i < n_names; i++) {
		char path[4096], err[256];
		struct dc_options opt = { 0 };
		struct dc_result res = { 0 };
		struct flags f = { { 0 } };
		size_t len = 0;
		uint8_t *data;
		TNKitCheck *c;

		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		data = slurp(path, &len);
		if (!data) {
			printf("online-agree: cannot read %s\n", path);
			failed++;
			continue;
		}
		res.path = names[i];
		if (dc_replay(data, len, &opt, &res, err, sizeof(err)) < 0) {
			printf("online-agree: %s: dmacheck rejects it (%s); the corpus holds only valid traces\n",
			       names[i], err);
			failed++;
			free(data);
			continue;
		}
		c = tnkit_check_new(on_violation, on_warn, &f);
		for (size_t off = TN_TRACE_HEADER_SIZE; off + TN_TRACE_REC_SIZE <= len;
		     off += TN_TRACE_REC_SIZE) {
			struct tn_rec rec;

			memcpy(&rec, data + off, sizeof(rec));
			/* The device's own verdicts in a trace are not input. */
			if (rec.type != TN_REC_VIOLATION)
				tnkit_check_record(c, &rec);
		}
		tnkit_check_free(c);
		traces++;
		for (unsigned k = 0; k < TNKIT_CHECK_N_RULES; k++) {
			unsigned rule = tnkit_check_rules[k];
			bool offline = res.rule_count[rule] > 0, online = f.rule[rule];

			if (offline == online) {
				passed++;
			} else {
				failed++;
				printf("online-agree: %s: %s: dmacheck %s, the online check %s\n",
				       names[i], tn_rule_name(rule), offline ? "reports it" : "does not",
				       online ? "flags it" : "does not");
			}
		}
		dc_result_free(&res);
		free(data);
		free(names[i]);
	}
	free(names);
	if (!traces) {
		printf("online-agree: no traces in %s; run make -C harness/dmacheck corpus first\n",
		       argv[1]);
		failed++;
	}
	printf("online-agree: %u traces; rules not judged online (dmacheck only):", traces);
	for (unsigned r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++)
		if (!judged_online(r))
			printf(" %s", tn_rule_name(r));
	printf("\ndmacheck online-agree: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
