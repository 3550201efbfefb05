#include "dmacheck.h"

const char *dc_cause_name(unsigned cause)
{
	static const char *const n[] = {
		"none", "tx-desc-read", "tx-buf-read", "tx-writeback",
		"rx-desc-read", "rx-buf-write", "rx-writeback",
	};

	return cause <= TN_CAUSE_MAX ? n[cause] : "unknown";
}

const char *dc_api_name(unsigned api)
{
	static const char *const n[] = {
		"none", "NdisAllocateMemoryWithTagPriority", "NdisAllocateMemory",
		"NdisMAllocateSharedMemory", "DMA mapping",
	};

	return api <= 4 ? n[api] : "unknown";
}
