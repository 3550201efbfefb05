/*
 * tracenic kit: the single gateway for device accesses to guest memory.
 *
 * Every access goes through pci_dma_read/pci_dma_write, so a vIOMMU and the
 * bus-master enable apply, and every access, including a failed one, becomes
 * exactly one trace record.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "sysemu/dma.h"
#include "tnkit-int.h"
#include "tracenic/names.h"
#include "trace.h"

bool tnkit_dma(TNKit *k, bool write, uint8_t cause, uint8_t ring,
               uint32_t slot, uint64_t ref_id, uint64_t addr, void *buf,
               uint32_t len)
{
    MemReentrancyGuard *guard = &DEVICE(k->pdev)->mem_reentrancy_guard;
    bool was_engaged = guard->engaged_in_io;
    struct tn_rec rec = {
        .type = write ? TN_REC_DMA_WRITE : TN_REC_DMA_READ,
        .kind = cause,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32((uint32_t)ref_id),
        .u.dma.ref_hi = cpu_to_le32(ref_id >> 32),
        .u.dma.addr = cpu_to_le64(addr),
        .u.dma.len = cpu_to_le32(len),
        .u.dma.ring = ring,
    };
    MemTxResult res;

    if (!k->bus_master) {
        /* The device does not issue DMA with bus mastering off. */
        res = MEMTX_ERROR;
        rec.u.dma.reason = TN_DMA_FAIL_BUS_MASTER;
    } else if (len && addr + (len - 1) < addr) {
        /*
         * The range runs past 2^64: the bus would wrap it to low memory
         * (QEMU carries such an access out with MEMTX_OK).  A driver that
         * posts DMA_MAPPING_ERROR gets here; the device refuses it.
         */
        res = MEMTX_ERROR;
        rec.u.dma.reason = TN_DMA_FAIL_WRAP;
    } else {
        /* A DMA aimed at our own BARs must not re-enter the device. */
        guard->engaged_in_io = true;
        res = write ? pci_dma_write(k->pdev, addr, buf, len)
                    : pci_dma_read(k->pdev, addr, buf, len);
        guard->engaged_in_io = was_engaged;
        rec.u.dma.reason = TN_DMA_FAIL_MEMTX;
    }
    trace_tnkit_dma(write ? "write" : "read", tn_cause_name(cause), slot,
                    addr, len, res);

    if (res == MEMTX_OK) {
        rec.u.dma.reason = 0;
        tnkit_emit(k, &rec);
        if (k->hub) {
            k->hub->dma_bytes += len;
        }
        return true;
    }

    rec.type = TN_REC_DMA_FAILED;
    rec.u.dma.write = write;
    rec.u.dma.result = cpu_to_le32(res);
    tnkit_emit(k, &rec);
    if (!write) {
        memset(buf, 0, len);
    }
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s of %u bytes at 0x%" PRIx64
                  " (%s, slot %u) failed: %s\n",
                  write ? "DMA write" : "DMA read", len, addr,
                  tn_cause_name(cause), slot,
                  !k->bus_master ? "bus mastering is disabled" :
                  rec.u.dma.reason == TN_DMA_FAIL_WRAP ?
                  "the range runs past the top of the 64-bit address space "
                  "(a descriptor holding DMA_MAPPING_ERROR?)" :
                  "the address is not accessible");
    tnkit_event(k, TNKIT_EV_DMA_ERROR);
    return false;
}

void tnkit_dma_note(TNKit *k, bool write, uint8_t cause, uint8_t ring,
                    uint32_t slot, uint64_t ref_id, uint64_t addr, uint32_t len,
                    bool ok)
{
    struct tn_rec rec = {
        .type = !ok ? TN_REC_DMA_FAILED :
                write ? TN_REC_DMA_WRITE : TN_REC_DMA_READ,
        .kind = cause,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32((uint32_t)ref_id),
        .u.dma.ref_hi = cpu_to_le32(ref_id >> 32),
        .u.dma.addr = cpu_to_le64(addr),
        .u.dma.len = cpu_to_le32(len),
        .u.dma.ring = ring,
        .u.dma.write = !ok && write,
        .u.dma.reason = ok ? 0 : TN_DMA_FAIL_MEMTX,
        .u.dma.result = cpu_to_le32(ok ? MEMTX_OK : MEMTX_ERROR),
    };

    trace_tnkit_dma(write ? "write" : "read", tn_cause_name(cause), slot,
                    addr, len, ok ? MEMTX_OK : MEMTX_ERROR);
    tnkit_emit(k, &rec);
    if (ok && k->hub) {
        k->hub->dma_bytes += len;
    }
}

bool tnkit_peek(TNKit *k, uint64_t addr, void *buf, uint32_t len)
{
    MemReentrancyGuard *guard = &DEVICE(k->pdev)->mem_reentrancy_guard;
    bool was_engaged = guard->engaged_in_io;
    MemTxResult res;

    if (len && addr + (len - 1) < addr) {
        memset(buf, 0, len);
        return false;
    }
    guard->engaged_in_io = true;
    res = pci_dma_read(k->pdev, addr, buf, len);
    guard->engaged_in_io = was_engaged;
    if (res != MEMTX_OK) {
        memset(buf, 0, len);
    }
    return res == MEMTX_OK;
}
