/*
 * fugu — the host side of the network card: QEMU's user-mode networking
 * through libslirp (a NAT to the host's sockets: the guest's DHCP server,
 * gateway and DNS at 10.0.2.2/10.0.2.3, and host-to-guest port forwards),
 * and the command-line options that ask for it (-nic, -netdev, -device
 * e1000). The NIC model (chipset/e1000.c) sees only frames.
 *
 * Frames from the network wait in a small queue while the guest's receive
 * ring is full; the queue is host state, never saved. Network input comes
 * from the host when it comes, so it makes -clock deterministic runs
 * non-reproducible, and -record/-replay do not log it (docs/NETWORK.md).
 */
#ifndef FUGU_NETDEV_H
#define FUGU_NETDEV_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_FWD 8
#define NET_ID_LEN 32

/* What the options asked for. */
struct net_config {
	bool nic;       /* an e1000 exists (-nic user, -device e1000) */
	bool user;      /* its backend is libslirp; else it is unconnected (frames dropped) */
	bool restrict_; /* restrict=on: the guest reaches only the host's forwards */
	uint8_t mac[6]; /* 52:54:00:12:34:56 unless mac= */
	unsigned nfwd;  /* hostfwd= rules */
	char fwd[NET_MAX_FWD][64];
	char netdev_id[NET_ID_LEN];     /* -netdev user,id=X ("" if none) */
	char device_netdev[NET_ID_LEN]; /* -device e1000,netdev=X */
	bool nic_none;                  /* -nic none was given */
};

/* The options, each one -1 with a one-line message in err. */
void net_config_init(struct net_config *nc);
int net_parse_nic(struct net_config *nc, const char *spec, char *err, size_t errlen);
int net_parse_netdev(struct net_config *nc, const char *spec, char *err, size_t errlen);
/* -device e1000[,netdev=ID][,mac=M] (spec starts at the device name) */
int net_parse_device(struct net_config *nc, const char *spec, char *err, size_t errlen);
/* After all options: references resolved. */
int net_config_finish(struct net_config *nc, char *err, size_t errlen);

struct netdev;
/* Offer a frame to the NIC: false when it has no room (the frame is kept). */
typedef bool (*netdev_deliver_fn)(void *opaque, const uint8_t *frame, size_t len);

/* The libslirp network for cfg; NULL with a message in err. */
struct netdev *netdev_create(const struct net_config *cfg, netdev_deliver_fn deliver, void *opaque,
			     char *err, size_t errlen);
void netdev_destroy(struct netdev *nd);
/* A frame from the guest. */
void netdev_send(struct netdev *nd, const uint8_t *frame, size_t len);
/* The NIC has receive room again: offer the queued frames. */
void netdev_rx_ready(struct netdev *nd);
/* Host sockets and timers, without blocking; true when something happened. */
bool netdev_poll(struct netdev *nd);
/* For an idle wait: up to max descriptors to watch, and the host time (ns
 * from now) by which netdev_poll should run again, lowered in *within_ns. */
unsigned netdev_wait_fds(struct netdev *nd, struct pollfd *pfd, unsigned max, uint64_t *within_ns);

#endif
