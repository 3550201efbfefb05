/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ledger protocol: how the guest's memory layer reports memory lifecycle
 * events to the device, which records them in the trace in order with the
 * DMA they relate to.  Documented for readers in docs/ledger.md.
 *
 * The guest stages the fields a command uses in the TN_LG_* registers (they
 * keep their values between commands), then writes the command code to
 * TN_LG_CMD; that write commits one event.  A guest with several CPUs must
 * serialise a command's register writes (the Linux driver holds a spinlock
 * with interrupts off).  FREE and UNMAP are reported before the memory or the
 * mapping is released, so any later DMA into it is after the free.
 */
#ifndef TRACENIC_LEDGER_H
#define TRACENIC_LEDGER_H

#include "tracenic/types.h"

/*
 * The ledger device (-device tracenic-ledger): a PCI function with nothing
 * but these registers, at these offsets of its BAR0, for a driver of any
 * device to report through into that device's trace (docs/kit.md).  The
 * tracenic NIC decodes the same registers at the same offsets of its BAR0.
 * The vendor is tracenic's (QEMU's experimental 0x1234).
 */
#define TN_LEDGER_PCI_DEVICE_ID	0x7e5d
#define TN_LEDGER_PCI_REVISION	0x01
#define TN_LEDGER_BAR		0
#define TN_LEDGER_BAR_SIZE	0x1000

/* Staging registers in BAR0.  VA and BUS take one 64-bit or two 32-bit writes. */
#define TN_LG_VA		0x400	/* kernel virtual address (as the caller sees it) */
#define TN_LG_BUS		0x408	/* EXTENT: bus (DMA) address, or CPU physical, see TN_EXT_* */
#define TN_LG_ID		0x410	/* allocation or mapping id, nonzero, unique while live */
/*
 * Ids are one namespace per trace, and two reporters may share a trace (the
 * miniport's NDIS layer through the NIC's ledger, the DMA-API agent through a
 * tracenic-ledger device beside it).  Their ids stay apart: the NDIS layer's
 * allocations count from 1 and its mappings have TN_LG_ID_MAP_BIT set; the
 * agent's ids have TN_LG_ID_AGENT_BIT set.  Each counts below
 * TN_LG_ID_AGENT_BIT within its space.
 */
#define TN_LG_ID_MAP_BIT	0x80000000u
#define TN_LG_ID_AGENT_BIT	0x40000000u
#define TN_LG_ID_COUNT_MASK	(TN_LG_ID_AGENT_BIT - 1)
#define TN_LG_LENGTH		0x414	/* ALLOC/MAP: size; EXTENT: extent size; FREE/UNMAP: as passed */
#define TN_LG_FLAGS		0x418	/* ALLOC: flags allocated with; FREE: MemoryFlags as passed */
#define TN_LG_TAG		0x41c	/* ALLOC: pool tag */
#define TN_LG_SITE		0x420	/* call-site id, see TN_SITE_ID */
#define TN_LG_INFO		0x424	/* packed, see TN_LG_INFO_* */
#define TN_LG_CMD		0x428	/* W: commit a TN_LG_CMD_*; R: commands accepted (wraps) */
#define TN_LG_REJECTED		0x42c	/* R: malformed commands rejected (wraps) */
TN_STATIC_ASSERT(TN_LG_ID % 8 == 0 && TN_LG_LENGTH == TN_LG_ID + 4 &&
		 TN_LG_FLAGS % 8 == 0 && TN_LG_TAG == TN_LG_FLAGS + 4 &&
		 TN_LG_SITE % 8 == 0 && TN_LG_INFO == TN_LG_SITE + 4,
		 "ledger register pairs take one 64-bit write");

/* TN_LG_INFO: bits 7:0 a per-command code, 15:8 the IRQL, 31:16 an extent index or count. */
#define TN_LG_INFO_PACK(code, irql, ext) \
	((uint32_t)(code) | ((uint32_t)(irql) << 8) | ((uint32_t)(ext) << 16))
#define TN_LG_INFO_CODE(info)	((info) & 0xffu)
#define TN_LG_INFO_IRQL(info)	(((info) >> 8) & 0xffu)
#define TN_LG_INFO_EXT(info)	((info) >> 16)

/*
 * Commands and the registers each one reads.
 *
 * ALLOC   ID VA LENGTH FLAGS TAG SITE INFO(code=api, irql, ext=extent count >= 1)
 *         followed by exactly "extent count" EXTENT commands with the same ID.
 * EXTENT  ID BUS LENGTH INFO(code=TN_EXT_*, ext=index 0..count-1)
 * FREE    ID VA LENGTH FLAGS SITE INFO(code=TN_FREE_API_*, irql)
 *         LENGTH and FLAGS exactly as the caller passed them; for
 *         NdisMFreeSharedMemory FLAGS is TN_FLAG_SHARED_CACHED if Cached.
 * MAP     ID VA LENGTH SITE INFO(code=TN_DIR_*, irql, ext=extent count >= 1)
 *         followed by its EXTENT commands, like ALLOC.
 * UNMAP   ID LENGTH SITE INFO(code = TN_UNMAP_DIR_GIVEN | TN_DIR_* as the
 *         caller passed it, or 0 when the API takes none; irql)
 * MARK    VA(=value) INFO(code=TN_MARK_*)   driver phase boundaries
 * MAP_ONE ID VA BUS LENGTH SITE INFO(code=TN_DIR_*, irql; ext ignored)
 *         a MAP whose one TN_EXT_BUS extent is [BUS, BUS + LENGTH): the
 *         same MAP and EXTENT records, one command instead of two.
 *
 * Any 8-byte aligned pair of these registers (VA, BUS, ID+LENGTH,
 * FLAGS+TAG, SITE+INFO) takes one 64-bit write, low register first.
 */
#define TN_LG_CMD_ALLOC		1
#define TN_LG_CMD_EXTENT	2
#define TN_LG_CMD_FREE		3
#define TN_LG_CMD_MAP		4
#define TN_LG_CMD_UNMAP		5
#define TN_LG_CMD_MARK		6
#define TN_LG_CMD_MAP_ONE	7

/*
 * The staging registers each command reads, as TN_LGR_* bits: the one table
 * the device's decoder, the guest's writer (which stages only what a command
 * reads and what changed) and the tests share.
 */
#define TN_LGR_VA		(1u << 0)
#define TN_LGR_BUS		(1u << 1)
#define TN_LGR_ID		(1u << 2)
#define TN_LGR_LENGTH		(1u << 3)
#define TN_LGR_FLAGS		(1u << 4)
#define TN_LGR_TAG		(1u << 5)
#define TN_LGR_SITE		(1u << 6)
#define TN_LGR_INFO		(1u << 7)
#define TN_LGR_ALL		0xffu

/* The TN_LGR_* registers @cmd reads; TN_LGR_ALL for an unknown command. */
static inline unsigned int tn_ledger_cmd_reads(unsigned int cmd)
{
	static const unsigned char reads[] = {
		[TN_LG_CMD_ALLOC] = TN_LGR_ID | TN_LGR_VA | TN_LGR_LENGTH | TN_LGR_FLAGS |
				    TN_LGR_TAG | TN_LGR_SITE | TN_LGR_INFO,
		[TN_LG_CMD_EXTENT] = TN_LGR_ID | TN_LGR_BUS | TN_LGR_LENGTH | TN_LGR_INFO,
		[TN_LG_CMD_FREE] = TN_LGR_ID | TN_LGR_VA | TN_LGR_LENGTH | TN_LGR_FLAGS |
				   TN_LGR_SITE | TN_LGR_INFO,
		[TN_LG_CMD_MAP] = TN_LGR_ID | TN_LGR_VA | TN_LGR_LENGTH | TN_LGR_SITE |
				  TN_LGR_INFO,
		[TN_LG_CMD_UNMAP] = TN_LGR_ID | TN_LGR_LENGTH | TN_LGR_SITE | TN_LGR_INFO,
		[TN_LG_CMD_MARK] = TN_LGR_VA | TN_LGR_INFO,
		[TN_LG_CMD_MAP_ONE] = TN_LGR_ID | TN_LGR_VA | TN_LGR_BUS | TN_LGR_LENGTH |
				      TN_LGR_SITE | TN_LGR_INFO,
	};

	return cmd < sizeof(reads) && reads[cmd] ? reads[cmd] : TN_LGR_ALL;
}

/* Allocation APIs (ALLOC code). */
#define TN_API_POOL		1	/* NdisAllocateMemoryWithTagPriority: pool, not device-visible */
#define TN_API_MEMORY		2	/* NdisAllocateMemory: flags CONTIGUOUS/NONCACHED or 0 */
#define TN_API_SHARED		3	/* NdisMAllocateSharedMemory: device-visible, flags = Cached */
#define TN_API_MAP		4	/* per-packet DMA mapping (MAP/UNMAP), device-visible */
#define TN_API_DMA_COHERENT	5	/* Linux dma_alloc_attrs (dma_alloc_coherent): device-visible */
#define TN_API_MAX		TN_API_DMA_COHERENT

/* Free APIs (FREE code): what the caller called. */
#define TN_FREE_API_FREE_MEMORY		1	/* NdisFreeMemory(VA, Length, MemoryFlags) */
#define TN_FREE_API_FREE_SHARED		2	/* NdisMFreeSharedMemory(Length, Cached, VA, Pa) */
#define TN_FREE_API_DMA_FREE		3	/* Linux dma_free_attrs(dev, size, cpu_addr, dma_handle) */
/*
 * The page allocator got back pages that a live mapping or allocation still
 * covers (Linux: a put_page()/__free_pages() that freed them, seen by the
 * agent): ID names what still covers them, VA and LENGTH the pages freed.
 * dmacheck's free-while-mapped; the mapping's own UNMAP is still to come.
 */
#define TN_FREE_API_PAGE_FREE		4
#define TN_FREE_API_MAX			TN_FREE_API_PAGE_FREE

/* MemoryFlags, with the values of ndis.h. */
#define TN_NDIS_MEMORY_CONTIGUOUS	0x00000001u
#define TN_NDIS_MEMORY_NONCACHED	0x00000002u
/* Shared memory's Cached argument, kept apart from the NDIS MemoryFlags bits. */
#define TN_FLAG_SHARED_CACHED		0x00010000u

/* Extent kinds (EXTENT code). */
#define TN_EXT_BUS		0	/* a bus address the device may use (DMA API / identity) */
#define TN_EXT_PHYS		1	/* CPU physical address only: never made visible to the device */

/* DMA directions (MAP code), as the DMA API's. */
#define TN_DIR_BIDIRECTIONAL	0
#define TN_DIR_TO_DEVICE	1
#define TN_DIR_FROM_DEVICE	2
/* UNMAP code: the direction the unmap passed, when its API takes one. */
#define TN_UNMAP_DIR_GIVEN	0x80u
#define TN_UNMAP_DIR(dir)	(TN_UNMAP_DIR_GIVEN | (dir))

/*
 * Call-site ids: a driver numbers its source files (1..0x7fff) and reports
 * TN_SITE_ID(file, line), which dmacheck prints as "file:line"; ids below
 * 0x10000 are printed as plain numbers (0 = unknown).
 *
 * A site with bit 31 set is a code address instead: the low 32 bits of the
 * caller's return address in a 64-bit kernel, whose text and modules lie in
 * the top 2 GiB, so the address is TN_SITE_CODE_ADDR(site).  The DMA-API
 * agent reports these, and names each one once in the guest's kernel log
 * ("tracenic-agent: SITE 0x<site> <symbol>+<off>/<len> [module]").
 */
#define TN_SITE_ID(file, line)	(((uint32_t)(file) << 16) | ((uint32_t)(line) & 0xffffu))
#define TN_SITE_FILE(site)	((site) >> 16)
#define TN_SITE_LINE(site)	((site) & 0xffffu)
#define TN_SITE_CODE_BIT	0x80000000u
#define TN_SITE_IS_CODE(site)	(((site) & TN_SITE_CODE_BIT) != 0)
#define TN_SITE_CODE_ADDR(site)	(0xffffffff00000000ull | (uint64_t)(uint32_t)(site))

/* IRQL values (the INFO irql byte), as in wdm.h. */
#define TN_IRQL_PASSIVE		0
#define TN_IRQL_APC		1
#define TN_IRQL_DISPATCH	2
#define TN_IRQL_DIRQL		5	/* any device IRQL: in a hard interrupt handler */

/* The wdm.h name of an IRQL, for reports on both sides of the ledger. */
static inline const char *tn_irql_name(unsigned int irql)
{
	switch (irql) {
	case TN_IRQL_PASSIVE:
		return "PASSIVE_LEVEL";
	case TN_IRQL_APC:
		return "APC_LEVEL";
	case TN_IRQL_DISPATCH:
		return "DISPATCH_LEVEL";
	default:
		return "DIRQL";
	}
}

/* MARK codes: phases of the driver, so reports can say "during Halt". */
#define TN_MARK_INIT_BEGIN	1
#define TN_MARK_INIT_END	2
#define TN_MARK_HALT_BEGIN	3
#define TN_MARK_HALT_END	4	/* allocations still live here are leaks */
#define TN_MARK_RESET_BEGIN	5
#define TN_MARK_RESET_END	6
#define TN_MARK_STEP		7	/* value: the scenario runner's step number */
#define TN_MARK_BUG_MODES	8	/* value: the driver's seeded bug-mode mask */

/*
 * Call-site ids: the driver numbers its allocation and free sites (an enum
 * in guest-driver/) and reports the number; 0 means unknown.  The checker
 * prints them as "site N"; a driver may publish the names in docs/bugs.md.
 */

#endif /* TRACENIC_LEDGER_H */
