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

/* "2:163" for TN_SITE_ID(2, 163); a plain number for ids without a file part. */
const char *dc_site_str(char buf[static 24], uint32_t site)
{
	if (TN_SITE_FILE(site))
		snprintf(buf, 24, "%u:%u", (unsigned)TN_SITE_FILE(site), (unsigned)TN_SITE_LINE(site));
	else
		snprintf(buf, 24, "%u", (unsigned)site);
	return buf;
}
