/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test frame both benchmark ends send (guest tn-blast, host tn-hostnet),
 * and a batch of sendmmsg headers that all point at it.
 */
#ifndef BENCH_FRAME_H
#define BENCH_FRAME_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tracenic/regs.h"

/* Frame sizes both ends accept: the NIC's (TN_MAX_FRAME, without FCS). */
#define BENCH_MAX_FRAME TN_MAX_FRAME
#define BENCH_MIN_FRAME TN_MIN_FRAME

/*
 * The last source byte of the start handshake's frames (tn-blast's "go"):
 * the guest's hello, which the host answers, shows that frames reach the
 * guest; its armed frame tells the host that it now waits for the go.
 */
#define BENCH_HELLO_SRC 0x68
#define BENCH_ANSWER_SRC 0x6b
#define BENCH_ARMED_SRC 0x61

static const uint8_t bench_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/*
 * @dst, a locally administered source ending in @src_last, the local
 * experimental ethertype 0x88b5 (the receiver drops it cheaply), a counting
 * payload.
 */
static inline void bench_frame_fill(uint8_t *frame, size_t size, const uint8_t dst[6],
				 uint8_t src_last)
{
	size_t i;

	memcpy(frame, dst, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00", 5);
	frame[11] = src_last;
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (i = 14; i < size; i++)
		frame[i] = (uint8_t)i;
}

/* @n message headers, each sending @iov (the one frame). */
static inline void bench_frame_batch(struct mmsghdr *msgs, unsigned int n, struct iovec *iov)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

#endif
