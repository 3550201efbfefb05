/* The rules dmacheck checks: stable names used by scenarios and --json. */
#ifndef DMACHECK_RULES_H
#define DMACHECK_RULES_H

enum rule {
	R_DMA_AFTER_FREE,
	R_FREE_NOT_QUIESCED,
	R_WILD_DMA,
	R_DMA_NON_DMA_MEMORY,
	R_FREE_FLAGS,
	R_FREE_LENGTH,
	R_FREE_API,
	R_FREE_IRQL,
	R_DOUBLE_FREE,
	R_FREE_UNKNOWN,
	R_FREE_INTERIOR,
	R_LEAK,
	R_MAP_LEAK,
	R_UNMAP_UNKNOWN,
	R_TRACE_INCOMPLETE,
	R_TRACE_TRUNCATED,
	R_TRACE_WRITE_ERROR,
	R_COUNT
};

struct rule_info {
	const char *name;
	const char *summary;
};

extern const struct rule_info rule_info[R_COUNT];

#endif
