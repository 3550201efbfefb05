// SPDX-License-Identifier: GPL-2.0-only
/*
 * tn-dmabench: the cost of one streaming map and unmap for a PCI device,
 * measured in the guest, so the DMA-API agent's overhead per call is the
 * difference with the agent loaded and without (bench/agent_bench.py).
 *
 *   insmod tn-dmabench.ko dev=0000:00:03.0 count=2000
 *
 * Maps and unmaps one page DMA_FROM_DEVICE @count times on the device
 * (bound to a driver or not: its DMA ops are set when it is added), prints
 * "tn-dmabench: <count> map+unmap pairs in <ns> ns" and stays loaded until
 * rmmod.  The device is never given the address.
 */
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/pci.h>

static char *dev;
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address of the device to map for, e.g. 0000:00:03.0");

static unsigned int count = 1000;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "map+unmap pairs to time");

static int __init tn_dmabench_init(void)
{
	unsigned int domain, bus, slot, fn, i;
	struct pci_dev *pdev;
	struct page *page;
	dma_addr_t addr;
	ktime_t start;
	int err = 0;

	if (!dev || sscanf(dev, "%x:%x:%x.%x", &domain, &bus, &slot, &fn) != 4) {
		pr_err("tn-dmabench: dev='%s' is not a PCI address; lspci -D lists them\n",
		       dev ? dev : "");
		return -EINVAL;
	}
	pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, fn));
	if (!pdev) {
		pr_err("tn-dmabench: no PCI device at %s\n", dev);
		return -ENODEV;
	}
	page = alloc_page(GFP_KERNEL);
	if (!page) {
		pci_dev_put(pdev);
		return -ENOMEM;
	}
	start = ktime_get();
	for (i = 0; i < count; i++) {
		addr = dma_map_page(&pdev->dev, page, 0, PAGE_SIZE, DMA_FROM_DEVICE);
		if (dma_mapping_error(&pdev->dev, addr)) {
			pr_err("tn-dmabench: map %u of %u failed\n", i, count);
			err = -EIO;
			break;
		}
		dma_unmap_page(&pdev->dev, addr, PAGE_SIZE, DMA_FROM_DEVICE);
	}
	if (!err)
		pr_info("tn-dmabench: %u map+unmap pairs in %lld ns\n", count,
			ktime_to_ns(ktime_sub(ktime_get(), start)));
	__free_page(page);
	pci_dev_put(pdev);
	return err;
}

static void __exit tn_dmabench_exit(void)
{
}

module_init(tn_dmabench_init);
module_exit(tn_dmabench_exit);
MODULE_DESCRIPTION("tracenic: time streaming DMA maps for one PCI device");
MODULE_LICENSE("GPL");
