/*
 * tracenic-ledger: a PCI function with only the ledger registers of
 * include/tracenic/ledger.h.  The driver of any device (a QEMU model traced
 * with the kit, or a guest agent watching the DMA API) reports its memory
 * events through it into the same trace as that device's DMA, via
 * trace-hub=; MMIO is synchronous, so the order in the trace is the order in
 * which the guest did things.  Every command is validated as the tracenic
 * NIC's ledger does (tnkit-ledger.c): a malformed one is a LEDGER_ERROR
 * record.  A device like hw/misc/edu.c: no DMA, no interrupts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "tracenic/ledger.h"
#include "tracenic/regs.h"
#include "tnkit.h"

#define TYPE_TRACENIC_LEDGER "tracenic-ledger"
OBJECT_DECLARE_SIMPLE_TYPE(TracenicLedgerState, TRACENIC_LEDGER)

struct TracenicLedgerState {
    PCIDevice parent_obj;
    MemoryRegion mmio;
    TNKitConf kit_conf;
    TNKit *kit;
};

static uint64_t tracenic_ledger_read(void *opaque, hwaddr addr, unsigned size)
{
    TracenicLedgerState *s = opaque;
    uint32_t lo = 0, hi = 0;

    tnkit_callback_begin(s->kit);
    /* A 64-bit access is the low register, then the high one. */
    if (!tnkit_ledger_read(s->kit, addr, &lo) ||
        (size == 8 && !tnkit_ledger_read(s->kit, addr + 4, &hi))) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic-ledger: read of 0x%"
                      HWADDR_PRIx ", which is no ledger register\n", addr);
    }
    tnkit_callback_end(s->kit);
    return lo | (uint64_t)hi << 32;
}

static void tracenic_ledger_write(void *opaque, hwaddr addr, uint64_t val,
                                  unsigned size)
{
    TracenicLedgerState *s = opaque;

    tnkit_callback_begin(s->kit);
    /* A 64-bit access is the low register, then the high one. */
    if (!tnkit_ledger_write(s->kit, addr, val) ||
        (size == 8 && !tnkit_ledger_write(s->kit, addr + 4, val >> 32))) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic-ledger: write to 0x%"
                      HWADDR_PRIx ", which is no writable ledger register; "
                      "ignored\n", addr);
    }
    tnkit_callback_end(s->kit);
}

static const MemoryRegionOps tracenic_ledger_mmio_ops = {
    .read = tracenic_ledger_read,
    .write = tracenic_ledger_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

/* What the kit tells the device: nothing to signal, the records say it. */
static void tracenic_ledger_kit_event(void *opaque, TNKitEvent ev)
{
}

static uint32_t tracenic_ledger_kit_status(void *opaque)
{
    return 0;
}

static const TNKitOps tracenic_ledger_kit_ops = {
    .event = tracenic_ledger_kit_event,
    .status = tracenic_ledger_kit_status,
};

static void tracenic_ledger_config_write(PCIDevice *dev, uint32_t addr,
                                         uint32_t val, int len)
{
    pci_default_write_config(dev, addr, val, len);
    tnkit_config_written(TRACENIC_LEDGER(dev)->kit);
}

static void tracenic_ledger_realize(PCIDevice *pdev, Error **errp)
{
    TracenicLedgerState *s = TRACENIC_LEDGER(pdev);

    s->kit = tnkit_new(pdev, &s->kit_conf, &tracenic_ledger_kit_ops, s, errp);
    if (!s->kit) {
        return;
    }
    memory_region_init_io(&s->mmio, OBJECT(s), &tracenic_ledger_mmio_ops, s,
                          "tracenic-ledger-mmio", TN_LEDGER_BAR_SIZE);
    pci_register_bar(pdev, TN_LEDGER_BAR, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);
    if (!tnkit_open_trace(s->kit, NULL, errp)) {
        tnkit_free(s->kit);
        s->kit = NULL;
    }
}

static void tracenic_ledger_exit(PCIDevice *pdev)
{
    TracenicLedgerState *s = TRACENIC_LEDGER(pdev);

    tnkit_free(s->kit);
    s->kit = NULL;
}

static int tracenic_ledger_post_load(void *opaque, int version_id)
{
    TracenicLedgerState *s = opaque;

    tnkit_post_load(s->kit);
    return 0;
}

static const VMStateDescription tracenic_ledger_vmstate = {
    .name = "tracenic-ledger",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = tracenic_ledger_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, TracenicLedgerState),
        VMSTATE_STRUCT_POINTER(kit, TracenicLedgerState, vmstate_tnkit, TNKit),
        VMSTATE_END_OF_LIST()
    }
};

static Property tracenic_ledger_properties[] = {
    DEFINE_TNKIT_PROPERTIES(TracenicLedgerState, kit_conf),
    DEFINE_PROP_END_OF_LIST(),
};

static void tracenic_ledger_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    int i;

    k->realize = tracenic_ledger_realize;
    k->exit = tracenic_ledger_exit;
    k->config_write = tracenic_ledger_config_write;
    k->vendor_id = TN_PCI_VENDOR_ID;
    k->device_id = TN_LEDGER_PCI_DEVICE_ID;
    k->revision = TN_LEDGER_PCI_REVISION;
    k->class_id = PCI_CLASS_OTHERS;
    dc->desc = "tracenic ledger: a driver's memory events into a trace";
    dc->vmsd = &tracenic_ledger_vmstate;
    device_class_set_props(dc, tracenic_ledger_properties);
    for (i = 0; i < TNKIT_N_PROPS; i++) {
        object_class_property_set_description(klass, tnkit_prop_help[i][0],
                                              tnkit_prop_help[i][1]);
    }
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo tracenic_ledger_info = {
    .name = TYPE_TRACENIC_LEDGER,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(TracenicLedgerState),
    .class_init = tracenic_ledger_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void tracenic_ledger_register_types(void)
{
    type_register_static(&tracenic_ledger_info);
}

type_init(tracenic_ledger_register_types)
