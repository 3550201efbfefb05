/*
 * tracenic: the ledger, through which the guest's memory layer reports
 * allocations, frees, mappings and unmappings (include/tracenic/ledger.h).
 *
 * The ledger is independent of CTRL.RST: a driver's reset path frees memory
 * while the device resets, and those events must still be recorded.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "tracenic.h"
#include "trace.h"

static void tracenic_ledger_reject(TracenicState *s, uint32_t cmd,
                                   const char *why)
{
    struct tn_rec rec = {
        .type = TN_REC_LEDGER_ERROR,
        .kind = cmd,
        .id = cpu_to_le32(s->lg_id),
        .u.ledger_error.info = cpu_to_le32(s->lg_info),
        .u.ledger_error.length = cpu_to_le32(s->lg_length),
    };

    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: ledger command %u for id %u "
                  "rejected: %s\n", cmd, s->lg_id, why);
    tracenic_emit(s, &rec);
    s->lg_rejected++;
    s->err = TN_ERR_LEDGER;
    tracenic_raise(s, TN_INT_ERROR);
}

/* ALLOC and MAP announce how many EXTENT commands follow. */
static const char *tracenic_ledger_begin_region(TracenicState *s,
                                                uint32_t n_ext)
{
    if (!s->lg_id) {
        return "id 0 is reserved";
    }
    if (!s->lg_length) {
        return "length is 0";
    }
    if (!n_ext) {
        return "extent count is 0";
    }
    if (s->lg_pending_left) {
        /* The previous region never got all its extents: say so, go on. */
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: ledger id %u got %u of its "
                      "extents before the next ALLOC/MAP\n", s->lg_pending_id,
                      s->lg_pending_next);
    }
    s->lg_pending_id = s->lg_id;
    s->lg_pending_left = n_ext;
    s->lg_pending_next = 0;
    return NULL;
}

static const char *tracenic_ledger_extent(TracenicState *s, struct tn_rec *rec,
                                          uint32_t index, uint32_t kind)
{
    uint64_t bus = ((uint64_t)s->lg_bus_hi << 32) | s->lg_bus_lo;

    if (!s->lg_pending_left || s->lg_id != s->lg_pending_id) {
        return "no ALLOC or MAP with this id is waiting for extents";
    }
    if (index != s->lg_pending_next) {
        return "extent index out of order";
    }
    if (kind != TN_EXT_BUS && kind != TN_EXT_PHYS) {
        return "unknown extent kind";
    }
    if (!s->lg_length || bus + s->lg_length < bus) {
        return "extent length is 0 or wraps the address space";
    }
    rec->type = TN_REC_EXTENT;
    rec->kind = kind;
    rec->idx = cpu_to_le16(index);
    rec->u.extent.addr = cpu_to_le64(bus);
    rec->u.extent.len = cpu_to_le32(s->lg_length);
    s->lg_pending_next++;
    s->lg_pending_left--;
    return NULL;
}

void tracenic_ledger_command(TracenicState *s, uint32_t cmd)
{
    uint64_t va = ((uint64_t)s->lg_va_hi << 32) | s->lg_va_lo;
    uint32_t code = TN_LG_INFO_CODE(s->lg_info);
    uint32_t irql = TN_LG_INFO_IRQL(s->lg_info);
    uint32_t ext = TN_LG_INFO_EXT(s->lg_info);
    struct tn_rec rec = { .id = cpu_to_le32(s->lg_id), .kind = code };
    const char *why = NULL;

    trace_tracenic_ledger(cmd, s->lg_id, va, s->lg_length, s->lg_flags);
    switch (cmd) {
    case TN_LG_CMD_ALLOC:
        if (code < TN_API_POOL || code > TN_API_SHARED) {
            why = "unknown allocation API";
            break;
        }
        why = tracenic_ledger_begin_region(s, ext);
        rec.type = TN_REC_ALLOC;
        rec.u.alloc.va = cpu_to_le64(va);
        rec.u.alloc.length = cpu_to_le32(s->lg_length);
        rec.u.alloc.flags = cpu_to_le32(s->lg_flags);
        rec.u.alloc.tag = cpu_to_le32(s->lg_tag);
        rec.u.alloc.site = cpu_to_le32(s->lg_site);
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
            uint64_t bus = ((uint64_t)s->lg_bus_hi << 32) | s->lg_bus_lo;

            if (bus + s->lg_length < bus) {
                why = "extent length wraps the address space";
                break;
            }
            ext = 1;
        }
        why = tracenic_ledger_begin_region(s, ext);
        rec.type = TN_REC_MAP;
        rec.u.map.va = cpu_to_le64(va);
        rec.u.map.length = cpu_to_le32(s->lg_length);
        rec.u.map.site = cpu_to_le32(s->lg_site);
        rec.u.map.n_extents = cpu_to_le16(ext);
        rec.u.map.irql = irql;
        break;
    case TN_LG_CMD_EXTENT:
        why = tracenic_ledger_extent(s, &rec, ext, code);
        break;
    case TN_LG_CMD_FREE:
        if (!s->lg_id) {
            why = "id 0 is reserved";
            break;
        }
        if (code != TN_FREE_API_FREE_MEMORY &&
            code != TN_FREE_API_FREE_SHARED) {
            why = "unknown free API";
            break;
        }
        rec.type = TN_REC_FREE;
        rec.u.free.va = cpu_to_le64(va);
        rec.u.free.length = cpu_to_le32(s->lg_length);
        rec.u.free.flags = cpu_to_le32(s->lg_flags);
        rec.u.free.site = cpu_to_le32(s->lg_site);
        rec.u.free.irql = irql;
        break;
    case TN_LG_CMD_UNMAP:
        if (!s->lg_id) {
            why = "id 0 is reserved";
            break;
        }
        rec.type = TN_REC_UNMAP;
        rec.kind = 0;
        rec.u.unmap.length = cpu_to_le32(s->lg_length);
        rec.u.unmap.site = cpu_to_le32(s->lg_site);
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
        tracenic_ledger_reject(s, cmd, why);
        return;
    }
    s->lg_accepted++;
    tracenic_emit(s, &rec);
    if (cmd == TN_LG_CMD_MAP_ONE) {
        /* Cannot fail: the MAP's checks above cover its extent's. */
        struct tn_rec ext_rec = { .id = rec.id };

        tracenic_ledger_extent(s, &ext_rec, 0, TN_EXT_BUS);
        tracenic_emit(s, &ext_rec);
    }
}
