/*
 * tracenic kit: the ledger, through which the guest's memory layer reports
 * allocations, frees, mappings and unmappings (include/tracenic/ledger.h).
 *
 * The ledger is independent of the device's own reset (tracenic's CTRL.RST):
 * a driver's reset path frees memory while the device resets, and those
 * events must still be recorded.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "tnkit-int.h"
#include "tracenic/ledger.h"
#include "trace.h"

static void tnkit_ledger_reject(TNKit *k, uint32_t cmd, const char *why)
{
    struct tn_rec rec = {
        .type = TN_REC_LEDGER_ERROR,
        .kind = cmd,
        .id = cpu_to_le32(k->lg_id),
        .u.ledger_error.info = cpu_to_le32(k->lg_info),
        .u.ledger_error.length = cpu_to_le32(k->lg_length),
    };

    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: ledger command %u for id %u "
                  "rejected: %s\n", cmd, k->lg_id, why);
    tnkit_emit(k, &rec);
    k->lg_rejected++;
    tnkit_event(k, TNKIT_EV_LEDGER_ERROR);
}

/* ALLOC and MAP announce how many EXTENT commands follow. */
static const char *tnkit_ledger_begin_region(TNKit *k, uint32_t n_ext)
{
    if (!k->lg_id) {
        return "id 0 is reserved";
    }
    if (!k->lg_length) {
        return "length is 0";
    }
    if (!n_ext) {
        return "extent count is 0";
    }
    if (k->lg_pending_left) {
        /* The previous region never got all its extents: say so, go on. */
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: ledger id %u got %u of its "
                      "extents before the next ALLOC/MAP\n", k->lg_pending_id,
                      k->lg_pending_next);
    }
    k->lg_pending_id = k->lg_id;
    k->lg_pending_left = n_ext;
    k->lg_pending_next = 0;
    return NULL;
}

static const char *tnkit_ledger_extent(TNKit *k, struct tn_rec *rec,
                                       uint32_t index, uint32_t kind)
{
    uint64_t bus = ((uint64_t)k->lg_bus_hi << 32) | k->lg_bus_lo;

    if (!k->lg_pending_left || k->lg_id != k->lg_pending_id) {
        return "no ALLOC or MAP with this id is waiting for extents";
    }
    if (index != k->lg_pending_next) {
        return "extent index out of order";
    }
    if (kind != TN_EXT_BUS && kind != TN_EXT_PHYS) {
        return "unknown extent kind";
    }
    if (!k->lg_length || bus + k->lg_length < bus) {
        return "extent length is 0 or wraps the address space";
    }
    rec->type = TN_REC_EXTENT;
    rec->kind = kind;
    rec->idx = cpu_to_le16(index);
    rec->u.extent.addr = cpu_to_le64(bus);
    rec->u.extent.len = cpu_to_le32(k->lg_length);
    k->lg_pending_next++;
    k->lg_pending_left--;
    return NULL;
}

void tnkit_ledger_command(TNKit *k, uint32_t cmd)
{
    uint64_t va = ((uint64_t)k->lg_va_hi << 32) | k->lg_va_lo;
    uint32_t code = TN_LG_INFO_CODE(k->lg_info);
    uint32_t irql = TN_LG_INFO_IRQL(k->lg_info);
    uint32_t ext = TN_LG_INFO_EXT(k->lg_info);
    struct tn_rec rec = { .id = cpu_to_le32(k->lg_id), .kind = code };
    const char *why = NULL;

    trace_tnkit_ledger(cmd, k->lg_id, va, k->lg_length, k->lg_flags);
    switch (cmd) {
    case TN_LG_CMD_ALLOC:
        /* (TN_API_MAP is what a MAP command records, never an ALLOC) */
        if (code < TN_API_POOL || code > TN_API_MAX || code == TN_API_MAP) {
            why = "unknown allocation API";
            break;
        }
        why = tnkit_ledger_begin_region(k, ext);
        rec.type = TN_REC_ALLOC;
        rec.u.alloc.va = cpu_to_le64(va);
        rec.u.alloc.length = cpu_to_le32(k->lg_length);
        rec.u.alloc.flags = cpu_to_le32(k->lg_flags);
        rec.u.alloc.tag = cpu_to_le32(k->lg_tag);
        rec.u.alloc.site = cpu_to_le32(k->lg_site);
        rec.u.alloc.n_extents = cpu_to_le16(ext);
        rec.u.alloc.irql = irql;
        break;
    case TN_LG_CMD_MAP:
    case TN_LG_CMD_MAP_ONE:
        if (code > TN_DIR_FROM_DEVICE) {
            why = "unknown DMA direction";
            break;
        }
        if (cmd == TN_LG_CMD_MAP_ONE) {
            uint64_t bus = ((uint64_t)k->lg_bus_hi << 32) | k->lg_bus_lo;

            if (bus + k->lg_length < bus) {
                why = "extent length wraps the address space";
                break;
            }
            ext = 1;
        }
        why = tnkit_ledger_begin_region(k, ext);
        rec.type = TN_REC_MAP;
        rec.u.map.va = cpu_to_le64(va);
        rec.u.map.length = cpu_to_le32(k->lg_length);
        rec.u.map.site = cpu_to_le32(k->lg_site);
        rec.u.map.n_extents = cpu_to_le16(ext);
        rec.u.map.irql = irql;
        break;
    case TN_LG_CMD_EXTENT:
        why = tnkit_ledger_extent(k, &rec, ext, code);
        break;
    case TN_LG_CMD_FREE:
        if (!k->lg_id) {
            why = "id 0 is reserved";
            break;
        }
        if (code < TN_FREE_API_FREE_MEMORY || code > TN_FREE_API_MAX) {
            why = "unknown free API";
            break;
        }
        rec.type = TN_REC_FREE;
        rec.u.free.va = cpu_to_le64(va);
        rec.u.free.length = cpu_to_le32(k->lg_length);
        rec.u.free.flags = cpu_to_le32(k->lg_flags);
        rec.u.free.site = cpu_to_le32(k->lg_site);
        rec.u.free.irql = irql;
        break;
    case TN_LG_CMD_UNMAP:
        if (!k->lg_id) {
            why = "id 0 is reserved";
            break;
        }
        if (code && (!(code & TN_UNMAP_DIR_GIVEN) ||
                     (code & ~TN_UNMAP_DIR_GIVEN) > TN_DIR_FROM_DEVICE)) {
            why = "unknown DMA direction";
            break;
        }
        rec.type = TN_REC_UNMAP;
        rec.kind = code;
        rec.u.unmap.length = cpu_to_le32(k->lg_length);
        rec.u.unmap.site = cpu_to_le32(k->lg_site);
        rec.u.unmap.irql = irql;
        break;
    case TN_LG_CMD_MARK:
        rec.type = TN_REC_MARK;
        rec.id = 0;
        rec.u.mark.value = cpu_to_le64(va);
        break;
    default:
        why = "unknown command";
        break;
    }
    if (why) {
        tnkit_ledger_reject(k, cmd, why);
        return;
    }
    k->lg_accepted++;
    tnkit_emit(k, &rec);
    if (cmd == TN_LG_CMD_MAP_ONE) {
        /* Cannot fail: the MAP's checks above cover its extent's. */
        struct tn_rec ext_rec = { .id = rec.id };

        tnkit_ledger_extent(k, &ext_rec, 0, TN_EXT_BUS);
        tnkit_emit(k, &ext_rec);
    }
}

/* The staging register at @addr, NULL when @addr is none (or is TN_LG_CMD). */
static uint32_t *tnkit_ledger_reg(TNKit *k, hwaddr addr)
{
    switch (addr) {
    case TN_LG_VA:
        return &k->lg_va_lo;
    case TN_LG_VA + 4:
        return &k->lg_va_hi;
    case TN_LG_BUS:
        return &k->lg_bus_lo;
    case TN_LG_BUS + 4:
        return &k->lg_bus_hi;
    case TN_LG_ID:
        return &k->lg_id;
    case TN_LG_LENGTH:
        return &k->lg_length;
    case TN_LG_FLAGS:
        return &k->lg_flags;
    case TN_LG_TAG:
        return &k->lg_tag;
    case TN_LG_SITE:
        return &k->lg_site;
    case TN_LG_INFO:
        return &k->lg_info;
    }
    return NULL;
}

bool tnkit_ledger_read(TNKit *k, hwaddr addr, uint32_t *val)
{
    uint32_t *reg = tnkit_ledger_reg(k, addr);

    if (reg) {
        *val = *reg;
    } else if (addr == TN_LG_CMD) {
        *val = k->lg_accepted;
    } else if (addr == TN_LG_REJECTED) {
        *val = k->lg_rejected;
    } else {
        return false;
    }
    return true;
}

bool tnkit_ledger_write(TNKit *k, hwaddr addr, uint32_t val)
{
    uint32_t *reg = tnkit_ledger_reg(k, addr);

    if (reg) {
        *reg = val;
    } else if (addr == TN_LG_CMD) {
        tnkit_ledger_command(k, val);
    } else {
        return false;   /* TN_LG_REJECTED is read-only */
    }
    return true;
}
