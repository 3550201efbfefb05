/* libFuzzer target: any byte string through header validation and replay,
 * with every output path exercised (dump, perfetto, text, JSON, stats). */
#include <stdio.h>

#include "dmacheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct dc_options opt = { .perfetto_dma_max = 16 };
	struct dc_result res;
	char err[512];

	if (!null)
		null = fopen("/dev/null", "w");
	opt.dump = null;
	opt.perfetto = null;
	/* Both verdicts of a trace without END: the option on for half the inputs. */
	opt.stopped_on_violation = size & 1;
	/* Freed regions summarised from the second one on for half the inputs (age_freed). */
	opt.max_freed_regions = size & 2 ? 1 : 0;
	if (dc_replay(data, size, &opt, &res, err, sizeof(err)) == 0) {
		res.path = "fuzz";
		dc_report_text(null, &res);
		dc_report_json(null, &res);
		dc_report_stats(null, &res);
	}
	dc_result_free(&res);
	return 0;
}
