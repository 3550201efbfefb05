/*
 * dmacheck [--json] [--json-out FILE] [--stats] [--perfetto FILE] [--dump]
 *          [--stopped-on-violation] [--max-freed-regions N] TRACE
 * dmacheck --list-rules
 * Exit: 0 clean, 1 violations, 2 unreadable or invalid input.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmacheck.h"

static int usage(FILE *o, int status)
{
	fputs("usage: dmacheck [--json] [--json-out FILE] [--stats] [--perfetto FILE] [--dump]\n"
	      "                [--stopped-on-violation] [--max-freed-regions N] TRACE\n"
	      "       dmacheck --list-rules\n"
	      "Replays a tracenic trace and checks that every freed region was DMA-quiesced\n"
	      "first.  --json-out FILE writes the --json report to FILE in the same replay;\n"
	      "--stopped-on-violation: the VM was paused by on-violation=stop and then ended,\n"
	      "so a missing END record is expected once the device recorded a violation.\n"
	      "Exit status: 0 clean, 1 violations found, 2 unreadable or invalid input.\n",
	      o);
	fprintf(o, "--max-freed-regions N: freed regions kept with their details (default %u,\n"
		"about 400 bytes each); beyond, the oldest are summarised per page.\n",
		DC_MAX_FREED_REGIONS);
	return status;
}

/* read() until @len bytes or the end of the file; -1 on an error. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Read the trace in large sequential chunks of whole records and replay
 * them, so resident memory follows the checker's live state, not the trace
 * size, and no page of the file is faulted in twice.
 */
static int replay_file(int fd, const struct dc_options *opt, struct dc_result *res, char *err,
		       size_t errlen)
{
	const size_t cap = (size_t)TN_TRACE_REC_SIZE << 16;	/* 3 MiB */
	uint8_t hdr[TN_TRACE_HEADER_SIZE], *buf;
	size_t have = 0;
	uint64_t offset;
	struct dc_replay *r;
	ssize_t got;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	got = read_full(fd, hdr, sizeof(hdr));
	if (got < 0) {
		snprintf(err, errlen, "offset 0: cannot read the header: %s", strerror(errno));
		return -1;
	}
	if (dc_check_header(hdr, (size_t)got, err, errlen))
		return -1;
	offset = (uint64_t)got;
	buf = malloc(cap);
	r = buf ? dc_open(opt, (const void *)hdr, res) : NULL;
	if (!r) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	do {
		size_t whole;

		got = read_full(fd, buf + have, cap - have);
		if (got < 0) {
			snprintf(err, errlen, "offset %llu: read failed: %s",
				 (unsigned long long)(offset + have), strerror(errno));
			ret = -1;
			break;
		}
		offset += (uint64_t)got;
		have += (size_t)got;
		whole = have / TN_TRACE_REC_SIZE;
		if (whole && (ret = dc_feed(r, (const void *)buf, whole, err, errlen)))
			break;
		memmove(buf, buf + whole * TN_TRACE_REC_SIZE, have - whole * TN_TRACE_REC_SIZE);
		have -= whole * TN_TRACE_REC_SIZE;
	} while (got > 0);
	free(buf);
	res->bytes = offset;
	if (dc_finish(r, have, ret != 0) || ret)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *perfetto = NULL, *json_out = NULL;
	FILE *jf = NULL;
	bool json = false, stats = false, dump = false;
	struct dc_options opt = { .perfetto_dma_max = 1000000 };
	struct dc_result res;
	char err[512];
	struct stat st;
	int fd, i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--stats")) {
			stats = true;
		} else if (!strcmp(argv[i], "--dump")) {
			dump = true;
		} else if (!strcmp(argv[i], "--perfetto") && i + 1 < argc) {
			perfetto = argv[++i];
		} else if (!strcmp(argv[i], "--json-out") && i + 1 < argc) {
			json_out = argv[++i];
		} else if (!strcmp(argv[i], "--stopped-on-violation")) {
			opt.stopped_on_violation = true;
		} else if (!strcmp(argv[i], "--max-freed-regions") && i + 1 < argc) {
			char *end;

			errno = 0;
			opt.max_freed_regions = strtoull(argv[++i], &end, 10);
			if (errno || *end || !opt.max_freed_regions || argv[i][0] == '-') {
				fprintf(stderr, "dmacheck: --max-freed-regions takes a count of 1 or "
					"more, not '%s'\n", argv[i]);
				return usage(stderr, 2);
			}
		} else if (!strcmp(argv[i], "--list-rules")) {
			for (i = TN_RULE_NONE + 1; i < TN_RULE_COUNT; i++)
				printf("%-20s %s\n", tn_rule_info(i).name, tn_rule_info(i).summary);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			return usage(stdout, 0);
		} else if (argv[i][0] == '-' || path) {
			fprintf(stderr, "dmacheck: unexpected argument '%s'\n", argv[i]);
			return usage(stderr, 2);
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return usage(stderr, 2);

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "dmacheck: cannot read trace '%s': %s\n", path, strerror(errno));
		return 2;
	}
	if (dump)
		opt.dump = stdout;
	/* Opened before the replay: an unwritable output fails at once, and no stale one survives. */
	if (json_out) {
		jf = fopen(json_out, "w");
		if (!jf) {
			fprintf(stderr, "dmacheck: cannot write '%s': %s\n", json_out, strerror(errno));
			return 2;
		}
	}
	if (perfetto) {
		opt.perfetto = fopen(perfetto, "w");
		if (!opt.perfetto) {
			fprintf(stderr, "dmacheck: cannot write '%s': %s\n", perfetto, strerror(errno));
			if (jf) {
				fclose(jf);
				unlink(json_out);
			}
			return 2;
		}
	}
	ret = replay_file(fd, &opt, &res, err, sizeof(err));
	close(fd);
	if (opt.perfetto && fclose(opt.perfetto)) {
		fprintf(stderr, "dmacheck: writing '%s' failed: %s\n", perfetto, strerror(errno));
		ret = -1;
		snprintf(err, sizeof(err), "the Perfetto output is incomplete");
	}
	if (ret) {
		fprintf(stderr, "dmacheck: %s: %s\n", path, err);
		dc_result_free(&res);
		if (jf) {	/* no report of a trace that could not be read */
			fclose(jf);
			unlink(json_out);
		}
		return 2;
	}
	res.path = path;
	if (jf) {
		dc_report_json(jf, &res);
		if (ferror(jf) | fclose(jf)) {
			fprintf(stderr, "dmacheck: writing '%s' failed: %s\n", json_out,
				strerror(errno));
			unlink(json_out);
			dc_result_free(&res);
			return 2;
		}
	}
	if (json)
		dc_report_json(stdout, &res);
	else if (!dump)
		dc_report_text(stdout, &res);
	if (stats && !json)	/* --json carries the statistics itself */
		dc_report_stats(stdout, &res);
	ret = res.nv ? 1 : 0;
	dc_result_free(&res);
	if (fflush(stdout)) {
		fprintf(stderr, "dmacheck: writing the report failed: %s\n", strerror(errno));
		return 2;
	}
	return ret;
}
