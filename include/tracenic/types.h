/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixed-width integer types for the tracenic contract headers.
 *
 * The same headers are compiled into QEMU (the device), the Linux kernel
 * (the guest driver) and plain user space (dmacheck), so they may only use
 * what all three provide.  Every multi-byte field in a structure declared by
 * these headers is little-endian on the wire and in the trace file.
 */
#ifndef TRACENIC_TYPES_H
#define TRACENIC_TYPES_H

#ifdef __KERNEL__
#include <linux/stddef.h>
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

#define TN_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#endif /* TRACENIC_TYPES_H */
