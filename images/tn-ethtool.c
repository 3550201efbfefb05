// SPDX-License-Identifier: GPL-2.0-only
/*
 * tn-ethtool: the two ethtool requests the scenario runner makes of a NIC
 * driver that has no tracenic debugfs files (Debian's e1000e), in a static
 * binary for the busybox initramfs (busybox has no ethtool).
 *
 *   tn-ethtool IF rings RX TX   ETHTOOL_SRINGPARAM: resize the rings (ethtool -G)
 *   tn-ethtool IF reset         ETHTOOL_NWAY_RST: restart autonegotiation, which
 *                               e1000e does by a full reinit (ethtool -r)
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int request(int fd, const char *ifname, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	return ioctl(fd, SIOCETHTOOL, &ifr);
}

static int usage(void)
{
	fprintf(stderr, "usage: tn-ethtool IF rings RX TX | tn-ethtool IF reset\n");
	return 2;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3)
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("tn-ethtool: socket");
		return 1;
	}
	if (!strcmp(argv[2], "rings") && argc == 5) {
		struct ethtool_ringparam r = { .cmd = ETHTOOL_GRINGPARAM };

		if (request(fd, argv[1], &r)) {
			fprintf(stderr, "tn-ethtool: %s: cannot read the ring sizes: %s\n", argv[1],
				strerror(errno));
			return 1;
		}
		r.cmd = ETHTOOL_SRINGPARAM;
		r.rx_pending = strtoul(argv[3], NULL, 0);
		r.tx_pending = strtoul(argv[4], NULL, 0);
		if (request(fd, argv[1], &r)) {
			fprintf(stderr, "tn-ethtool: %s: cannot set rings rx %s tx %s (max rx %u tx %u): %s\n",
				argv[1], argv[3], argv[4], r.rx_max_pending, r.tx_max_pending,
				strerror(errno));
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[2], "reset") && argc == 3) {
		struct ethtool_value v = { .cmd = ETHTOOL_NWAY_RST };

		if (request(fd, argv[1], &v)) {
			fprintf(stderr, "tn-ethtool: %s: autonegotiation restart failed: %s\n",
				argv[1], strerror(errno));
			return 1;
		}
		return 0;
	}
	return usage();
}
