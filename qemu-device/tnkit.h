/*
 * tracenic kit: the device-independent tracing layer (docs/architecture.md).
 *
 * A QEMU PCI device model creates one TNKit and routes through it every
 * access it makes to guest memory (tnkit_dma), every reference it takes on
 * guest memory, every DMA-state change, and, if it decodes them, the ledger
 * registers (include/tracenic/ledger.h).  The kit writes the trace
 * (docs/trace-format.md) and runs the online check.  It knows nothing of the
 * device's registers: what it needs from the device comes through TNKitOps.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TNKIT_H
#define HW_NET_TNKIT_H

#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "tracenic/trace.h"

typedef struct TNKit TNKit;

/* A trace several devices write into: -object tracenic-trace (tnkit-hub.c). */
#define TYPE_TNKIT_HUB "tracenic-trace"
OBJECT_DECLARE_SIMPLE_TYPE(TNKitHub, TNKIT_HUB)

/*
 * The kit's properties; a device embeds a TNKitConf and lists
 * DEFINE_TNKIT_PROPERTIES, as NICs do with NICConf and DEFINE_NIC_PROPERTIES
 * (checkpatch's "complex values" error on both is about expressions; a list
 * of property initialisers cannot take parentheses).
 */
typedef struct TNKitConf {
    TNKitHub *hub;              /* trace-hub: a shared trace, or NULL */
    char *trace;                /* trace file of its own, NULL: none */
    uint64_t trace_max_bytes;   /* 0: no cap */
    bool check;                 /* the online check */
    char *on_violation;         /* "log" (NULL) or "stop" */
} TNKitConf;

#define DEFINE_TNKIT_PROPERTIES(_state, _conf)                              \
    DEFINE_PROP_LINK("trace-hub", _state, _conf.hub, TYPE_TNKIT_HUB,        \
                     TNKitHub *),                                           \
    DEFINE_PROP_STRING("trace", _state, _conf.trace),                       \
    DEFINE_PROP_SIZE("trace-max-bytes", _state, _conf.trace_max_bytes, 0),  \
    DEFINE_PROP_BOOL("check", _state, _conf.check, false),                  \
    DEFINE_PROP_STRING("on-violation", _state, _conf.on_violation)

/* Their descriptions, for object_class_property_set_description() */
extern const char *const tnkit_prop_help[][2];
#define TNKIT_N_PROPS 5

/* What the kit tells the device; the device maps it to its own interrupts. */
typedef enum TNKitEvent {
    TNKIT_EV_DMA_ERROR,     /* a DMA access failed (recorded as DMA_FAILED) */
    TNKIT_EV_LEDGER_ERROR,  /* a ledger command was rejected */
    TNKIT_EV_VIOLATION,     /* the online check found a violation */
} TNKitEvent;

typedef struct TNKitOps {
    void (*event)(void *opaque, TNKitEvent ev);
    /* The device's status word, recorded in every STATE record. */
    uint32_t (*status)(void *opaque);
} TNKitOps;

/*
 * Called from the device's realize, before anything else of the kit: checks
 * @conf (NULL and @errp set when it is not valid).  The device joins its
 * trace with tnkit_open_trace() once it is ready.
 */
TNKit *tnkit_new(PCIDevice *pdev, const TNKitConf *conf, const TNKitOps *ops,
                 void *opaque, Error **errp);
/* Leave the trace (a trace of its own ends: END) and free the kit. */
void tnkit_free(TNKit *k);

/*
 * Join the trace, if the conf names one (trace= opens the file now, with
 * this device in the header; @mac, 6 bytes, names a NIC there, NULL for other
 * devices), and record the device's DEVICE record and state.
 */
bool tnkit_open_trace(TNKit *k, const uint8_t *mac, Error **errp);

/*
 * Inside a device callback (MMIO, netdev, timer, bottom half) every record
 * takes the time of the callback's first record: the callback runs under the
 * BQL, so no other device event falls between them, and a TX frame's eight
 * records cost one clock read instead of eight.
 */
void tnkit_callback_begin(TNKit *k);
void tnkit_callback_end(TNKit *k);

/* Time-stamp @rec and append it to the trace, then to the online check. */
void tnkit_emit(TNKit *k, struct tn_rec *rec);
/* A STATE record (TN_ST_*) carrying the device's status word. */
void tnkit_record_state(TNKit *k, uint8_t kind, uint8_t ring, uint64_t value,
                        uint64_t value2);

/*
 * References (TN_REF_*): guest memory the device may still touch.  Ids are
 * 64 bits, unique over the trace (trace.h tn_ref_id), never 0.
 */
uint64_t tnkit_ref_take(TNKit *k, uint8_t kind, uint8_t ring, uint32_t slot,
                        uint64_t addr, uint32_t len);
/* Drop *@ref_id (nothing if 0) and zero it. */
void tnkit_ref_drop(TNKit *k, uint64_t *ref_id, uint8_t kind, uint8_t ring,
                    uint32_t slot, uint64_t addr, uint32_t len);
/* A drop the driver can only learn of from the device's quiesced state. */
void tnkit_ref_drop_drained(TNKit *k, uint64_t *ref_id, uint8_t kind,
                            uint8_t ring, uint32_t slot, uint64_t addr,
                            uint32_t len);

/*
 * The only way the device touches guest memory: pci_dma_read/write (so a
 * vIOMMU and bus mastering apply) and one trace record per access, failed
 * ones included.  A failed access returns false, a failed read fills @buf
 * with zeros and the device gets TNKIT_EV_DMA_ERROR.  @cause is a TN_CAUSE_*,
 * @ref_id the reference the access is made under (0: none).
 */
bool tnkit_dma(TNKit *k, bool write, uint8_t cause, uint8_t ring,
               uint32_t slot, uint64_t ref_id, uint64_t addr, void *buf,
               uint32_t len);

/*
 * An access the model made itself by mapping guest memory (pci_dma_map,
 * dma_memory_map, e.g. a TX path that sends from the mapping): recorded like
 * tnkit_dma's, @ok false when the map failed.  Nothing is read or written.
 */
void tnkit_dma_note(TNKit *k, bool write, uint8_t cause, uint8_t ring,
                    uint32_t slot, uint64_t ref_id, uint64_t addr, uint32_t len,
                    bool ok);

/*
 * A tracer's read, not the device's: what the driver posted (a descriptor's
 * buffer address) read to take references.  Not recorded; false, with @buf
 * zeroed, when the memory cannot be read.
 */
bool tnkit_peek(TNKit *k, uint64_t addr, void *buf, uint32_t len);

/* Bus mastering as last seen in PCI config space. */
bool tnkit_bus_master(const TNKit *k);
/* After every PCI config write: records a change of bus mastering. */
void tnkit_config_written(TNKit *k);

/*
 * The ledger registers (TN_LG_* of include/tracenic/ledger.h, at the
 * offsets the contract gives them in the BAR that decodes them): false for
 * an offset that is not one.
 */
bool tnkit_ledger_read(TNKit *k, hwaddr addr, uint32_t *val);
bool tnkit_ledger_write(TNKit *k, hwaddr addr, uint32_t val);

/* QEMU's own reset of the device is over: make the trace on disk current. */
void tnkit_reset(TNKit *k);
/* From the device's post_load: the check's state was not migrated. */
void tnkit_post_load(TNKit *k);

/* The kit's migrated state (the ledger), for VMSTATE_STRUCT_POINTER. */
extern const VMStateDescription vmstate_tnkit;

#endif
