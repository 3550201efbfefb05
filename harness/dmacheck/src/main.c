/*
 * dmacheck TRACE [--json] [--stats] [--perfetto FILE] [--dump] [--list-rules]
 * Exit: 0 clean, 1 violations, 2 unreadable or invalid input.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmacheck.h"

static int usage(FILE *o, int status)
{
	fputs("usage: dmacheck [--json] [--stats] [--perfetto FILE] [--dump] TRACE\n"
	      "       dmacheck --list-rules\n"
	      "Replays a tracenic trace and checks that every freed region was DMA-quiesced\n"
	      "first.  Exit status: 0 clean, 1 violations found, 2 unreadable or invalid input.\n",
	      o);
	return status;
}

/*
 * Feed the mapped file in windows and drop each window's pages once replayed,
 * so resident memory follows the checker's live state, not the trace size.
 */
static int replay_mapped(uint8_t *data, size_t len, const struct dc_options *opt,
			 struct dc_result *res, char *err, size_t errlen)
{
	const size_t window = (size_t)TN_TRACE_REC_SIZE << 20;	/* 48 MiB */
	size_t n, done = 0;
	struct dc_replay *r;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	if (dc_check_header(data, len, err, errlen))
		return -1;
	r = dc_open(opt, res);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = (len - TN_TRACE_HEADER_SIZE) / TN_TRACE_REC_SIZE;
	madvise(data, len, MADV_SEQUENTIAL);
	while (done < n && !ret) {
		size_t chunk = n - done < window / TN_TRACE_REC_SIZE ? n - done
								   : window / TN_TRACE_REC_SIZE;
		uint8_t *p = data + TN_TRACE_HEADER_SIZE + done * TN_TRACE_REC_SIZE;
		uintptr_t page = (uintptr_t)p & ~(uintptr_t)4095;

		ret = dc_feed(r, (const void *)p, chunk, err, errlen);
		done += chunk;
		madvise((void *)page, (uintptr_t)p + chunk * TN_TRACE_REC_SIZE - page, MADV_DONTNEED);
	}
	res->bytes = len;
	if (dc_finish(r, (len - TN_TRACE_HEADER_SIZE) % TN_TRACE_REC_SIZE, ret != 0) || ret)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *perfetto = NULL;
	bool json = false, stats = false, dump = false;
	struct dc_options opt = { .perfetto_dma_max = 1000000 };
	struct dc_result res;
	char err[512];
	struct stat st;
	uint8_t *data;
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
		} else if (!strcmp(argv[i], "--list-rules")) {
			for (i = 0; i < R_COUNT; i++)
				printf("%-20s %s\n", rule_info[i].name, rule_info[i].summary);
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
	if (st.st_size < TN_TRACE_HEADER_SIZE) {
		fprintf(stderr, "dmacheck: %s: offset 0: the file has %lld bytes, fewer than the "
			"%d-byte trace header; it is not a complete tracenic trace\n", path,
			(long long)st.st_size, TN_TRACE_HEADER_SIZE);
		return 2;
	}
	data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED) {
		fprintf(stderr, "dmacheck: cannot map trace '%s': %s\n", path, strerror(errno));
		return 2;
	}
	if (dump)
		opt.dump = stdout;
	if (perfetto) {
		opt.perfetto = fopen(perfetto, "w");
		if (!opt.perfetto) {
			fprintf(stderr, "dmacheck: cannot write '%s': %s\n", perfetto, strerror(errno));
			return 2;
		}
	}
	ret = replay_mapped(data, st.st_size, &opt, &res, err, sizeof(err));
	if (opt.perfetto && fclose(opt.perfetto)) {
		fprintf(stderr, "dmacheck: writing '%s' failed: %s\n", perfetto, strerror(errno));
		ret = -1;
		snprintf(err, sizeof(err), "the Perfetto output is incomplete");
	}
	munmap(data, st.st_size);
	if (ret) {
		fprintf(stderr, "dmacheck: %s: %s\n", path, err);
		dc_result_free(&res);
		return 2;
	}
	res.path = path;
	if (json)
		dc_report_json(stdout, &res);
	else if (!dump)
		dc_report_text(stdout, &res);
	if (stats)
		dc_report_stats(stdout, &res);
	ret = res.nv ? 1 : 0;
	dc_result_free(&res);
	if (fflush(stdout)) {
		fprintf(stderr, "dmacheck: writing the report failed: %s\n", strerror(errno));
		return 2;
	}
	return ret;
}
