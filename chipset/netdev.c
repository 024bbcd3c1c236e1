/*
 * fugu — user-mode networking through libslirp, and the network options
 * (chipset/netdev.h).
 *
 * libslirp is driven the way its header asks: slirp_pollfds_fill names the
 * sockets to watch, poll() runs with a zero timeout (fugu never blocks in
 * the run loop), slirp_pollfds_poll handles what is ready and runs slirp's
 * TCP timers. The run loop calls netdev_poll with the other host I/O (every
 * HOST_POLL_NS while the guest runs), and an idle guest's wait includes the
 * descriptors netdev_wait_fds returns, so network input wakes it.
 */
#include "chipset/netdev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slirp/libslirp.h>

#define QUEUE_MAX 256 /* frames waiting for the guest's receive ring */
#define TIMERS_MAX 8

struct net_timer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	bool used;
};

struct netdev {
	Slirp *slirp;
	netdev_deliver_fn deliver;
	void *opaque;
	/* frames the NIC could not take yet, oldest first */
	struct frame {
		uint8_t *data;
		size_t len;
	} queue[QUEUE_MAX];
	unsigned qhead, qlen;
	bool sending; /* inside slirp_input: replies are queued, not delivered */
	struct pollfd *pfd;
	unsigned npfd, cappfd;
	struct net_timer timers[TIMERS_MAX];
};

void
net_config_init(struct net_config *nc)
{
	memset(nc, 0, sizeof(*nc));
	static const uint8_t qemu_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	memcpy(nc->mac, qemu_mac, 6);
}

/* The next "key=value" item of a comma list: split into key and value. */
static const char *
next_item(const char *p, char *key, size_t keylen, char *val, size_t vallen, int *bad)
{
	size_t len = strcspn(p, ",");
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	size_t vlen = eq ? len - klen - 1 : 0;
	*bad = klen >= keylen || vlen >= vallen;
	if (!*bad) {
		memcpy(key, p, klen);
		key[klen] = 0;
		if (eq)
			memcpy(val, eq + 1, vlen);
		val[vlen] = 0;
	}
	return p[len] == ',' ? p + len + 1 : p + len;
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (unsigned k = 0; k < 6; k++) {
		if (v[k] > 0xff)
			return -1;
		mac[k] = (uint8_t)v[k];
	}
	return mac[0] & 1 ? -1 : 0; /* a multicast address cannot be a station's */
}

/*
 * The options of -nic user / -netdev user (QEMU's names): hostfwd (repeated),
 * restrict, and for -nic mac and model; ipv4/ipv6 as QEMU's defaults allow.
 * `what` names the option in messages.
 */
static int
parse_user_props(struct net_config *nc, const char *p, bool is_nic, const char *what, char *err,
		 size_t errlen)
{
	while (*p) {
		char key[32], val[96];
		int bad;
		p = next_item(p, key, sizeof(key), val, sizeof(val), &bad);
		if (bad) {
			snprintf(err, errlen, "%s: option too long", what);
			return -1;
		}
		if (!strcmp(key, "hostfwd")) {
			if (nc->nfwd == NET_MAX_FWD || strlen(val) >= sizeof(nc->fwd[0])) {
				snprintf(err, errlen, "%s: at most %d hostfwd rules", what,
					 NET_MAX_FWD);
				return -1;
			}
			strcpy(nc->fwd[nc->nfwd++], val);
		} else if (!strcmp(key, "restrict") &&
			   (!strcmp(val, "on") || !strcmp(val, "off") || !strcmp(val, "yes") ||
			    !strcmp(val, "no"))) {
			nc->restrict_ = !strcmp(val, "on") || !strcmp(val, "yes");
		} else if (!strcmp(key, "ipv4") && !strcmp(val, "on")) {
		} else if (!strcmp(key, "ipv6") && !strcmp(val, "off")) {
		} else if (is_nic && !strcmp(key, "model")) {
			if (strcmp(val, "e1000") && strcmp(val, "e1000-82540em")) {
				snprintf(err, errlen,
					 "%s: model '%s' is not supported (only e1000)", what, val);
				return -1;
			}
		} else if (is_nic && !strcmp(key, "mac")) {
			if (parse_mac(val, nc->mac) < 0) {
				snprintf(err, errlen, "%s: bad mac '%s'", what, val);
				return -1;
			}
		} else if (!is_nic && !strcmp(key, "id")) {
			if (!val[0] || strlen(val) >= NET_ID_LEN) {
				snprintf(err, errlen, "%s: bad id '%s'", what, val);
				return -1;
			}
			strcpy(nc->netdev_id, val);
		} else {
			snprintf(err, errlen,
				 "%s: unsupported option '%s%s%s' (supported: hostfwd=, restrict=, "
				 "%s)",
				 what, key, val[0] ? "=" : "", val,
				 is_nic ? "model=e1000, mac=" : "id=");
			return -1;
		}
	}
	return 0;
}

int
net_parse_nic(struct net_config *nc, const char *spec, char *err, size_t errlen)
{
	size_t n = strcspn(spec, ",");
	if (n == 4 && !strncmp(spec, "none", 4) && !spec[n]) {
		nc->nic_none = true;
		return 0;
	}
	if (n != 4 || strncmp(spec, "user", 4)) {
		snprintf(err, errlen, "-nic %.*s: only user (libslirp) or none is supported",
			 (int)n, spec);
		return -1;
	}
	if (nc->nic) {
		snprintf(err, errlen, "-nic: fugu has one network card");
		return -1;
	}
	nc->nic = nc->user = true;
	return parse_user_props(nc, spec[n] ? spec + n + 1 : "", true, "-nic user", err, errlen);
}

int
net_parse_netdev(struct net_config *nc, const char *spec, char *err, size_t errlen)
{
	size_t n = strcspn(spec, ",");
	if (n != 4 || strncmp(spec, "user", 4)) {
		snprintf(err, errlen, "-netdev %.*s: only user (libslirp) is supported", (int)n,
			 spec);
		return -1;
	}
	if (nc->netdev_id[0]) {
		snprintf(err, errlen, "-netdev: fugu has one network backend");
		return -1;
	}
	if (parse_user_props(nc, spec[n] ? spec + n + 1 : "", false, "-netdev user", err, errlen) <
	    0)
		return -1;
	if (!nc->netdev_id[0]) {
		snprintf(err, errlen, "-netdev user: id=NAME is required");
		return -1;
	}
	return 0;
}

int
net_parse_device(struct net_config *nc, const char *spec, char *err, size_t errlen)
{
	size_t n = strcspn(spec, ",");
	if (nc->nic) {
		snprintf(err, errlen, "-device %.*s: fugu has one network card", (int)n, spec);
		return -1;
	}
	nc->nic = true;
	const char *p = spec[n] ? spec + n + 1 : "";
	while (*p) {
		char key[32], val[64];
		int bad;
		p = next_item(p, key, sizeof(key), val, sizeof(val), &bad);
		if (!bad && !strcmp(key, "netdev") && val[0] && strlen(val) < NET_ID_LEN) {
			strcpy(nc->device_netdev, val);
		} else if (!bad && !strcmp(key, "mac") && parse_mac(val, nc->mac) == 0) {
		} else {
			snprintf(err, errlen,
				 "-device e1000: bad or unsupported property '%s' (netdev=ID, "
				 "mac=XX:XX:XX:XX:XX:XX)",
				 bad ? "?" : key);
			return -1;
		}
	}
	return 0;
}

int
net_config_finish(struct net_config *nc, char *err, size_t errlen)
{
	if (nc->nic_none && nc->nic) {
		snprintf(err, errlen, "-nic none contradicts the network card asked for");
		return -1;
	}
	if (nc->device_netdev[0]) {
		if (strcmp(nc->device_netdev, nc->netdev_id)) {
			snprintf(err, errlen,
				 "-device e1000: netdev '%s' is not defined (-netdev "
				 "user,id=%s)",
				 nc->device_netdev, nc->device_netdev);
			return -1;
		}
		nc->user = true;
	} else if (nc->netdev_id[0] && !nc->user) {
		snprintf(err, errlen,
			 "-netdev user,id=%s is not used by a device "
			 "(-device e1000,netdev=%s)",
			 nc->netdev_id, nc->netdev_id);
		return -1;
	}
	return 0;
}

/* libslirp's callbacks. */

static int64_t
clock_ns(void *opaque)
{
	struct timespec ts;
	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Hand a frame to the NIC, or queue it behind the frames already waiting. */
static void
offer(struct netdev *nd, const uint8_t *frame, size_t len)
{
	if (!nd->sending && nd->qlen == 0 && nd->deliver(nd->opaque, frame, len))
		return;
	if (nd->qlen == QUEUE_MAX)
		return; /* the queue is full: dropped (TCP retransmits) */
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, frame, len);
	nd->queue[(nd->qhead + nd->qlen) % QUEUE_MAX] = (struct frame){ copy, len };
	nd->qlen++;
}

static ssize_t
send_packet(const void *buf, size_t len, void *opaque)
{
	offer(opaque, buf, len);
	return (ssize_t)len;
}

static void
guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	fprintf(stderr, "fugu: network: %s\n", msg);
}

static void *
timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct netdev *nd = opaque;
	for (unsigned k = 0; k < TIMERS_MAX; k++)
		if (!nd->timers[k].used) {
			nd->timers[k] = (struct net_timer){ cb, cb_opaque, -1, true };
			return &nd->timers[k];
		}
	return NULL; /* XXX: libslirp does not expect this; it asks for one or two */
}

static void
timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct net_timer *)timer)->used = false;
}

static void
timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct net_timer *)timer)->expire_ms = expire_ms;
}

static void
register_poll_fd(int fd, void *opaque)
{
	(void)fd, (void)opaque;
}

static void
notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb slirp_callbacks = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_ns,
	.timer_new = timer_new,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = register_poll_fd,
	.unregister_poll_fd = register_poll_fd,
	.notify = notify,
};

/* "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" (QEMU's hostfwd). */
static int
add_hostfwd(struct netdev *nd, const char *rule, char *err, size_t errlen)
{
	char proto[8] = "", haddr[32] = "", gaddr[32] = "";
	unsigned hport, gport;
	char end;
	const char *p = rule;
	size_t n = strcspn(p, ":");
	if (n >= sizeof(proto) || !p[n])
		goto bad;
	memcpy(proto, p, n);
	p += n + 1;
	n = strcspn(p, ":");
	if (n >= sizeof(haddr) || !p[n])
		goto bad;
	memcpy(haddr, p, n);
	p += n + 1;
	const char *dash = strchr(p, '-');
	if (!dash || sscanf(p, "%u", &hport) != 1 || p[0] < '0' || p[0] > '9')
		goto bad;
	p = dash + 1;
	n = strcspn(p, ":");
	if (n >= sizeof(gaddr) || !p[n])
		goto bad;
	memcpy(gaddr, p, n);
	p += n + 1;
	if (sscanf(p, "%u%c", &gport, &end) != 1 || hport > 65535 || gport == 0 || gport > 65535)
		goto bad;
	bool udp = !strcmp(proto, "udp");
	if (!udp && proto[0] && strcmp(proto, "tcp"))
		goto bad;
	struct in_addr host = { .s_addr = INADDR_ANY }, guest;
	inet_pton(AF_INET, "10.0.2.15", &guest);
	if ((haddr[0] && inet_pton(AF_INET, haddr, &host) != 1) ||
	    (gaddr[0] && inet_pton(AF_INET, gaddr, &guest) != 1))
		goto bad;
	if (slirp_add_hostfwd(nd->slirp, udp, host, (int)hport, guest, (int)gport) < 0) {
		snprintf(err, errlen, "hostfwd=%s: could not set up host forwarding rule (%s)",
			 rule, strerror(errno));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "bad hostfwd '%s' (use [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)",
		 rule);
	return -1;
}

struct netdev *
netdev_create(const struct net_config *cfg, netdev_deliver_fn deliver, void *opaque, char *err,
	      size_t errlen)
{
	struct netdev *nd = calloc(1, sizeof(*nd));
	if (!nd) {
		snprintf(err, errlen, "network: out of memory");
		return NULL;
	}
	nd->deliver = deliver;
	nd->opaque = opaque;
	/* QEMU's user network: 10.0.2.0/24, gateway (the host) 10.0.2.2, DNS
	 * 10.0.2.3, DHCP from 10.0.2.15. IPv4 only. */
	SlirpConfig sc = { .version = 1, .restricted = cfg->restrict_, .in_enabled = true };
	inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
	inet_pton(AF_INET, "10.0.2.15", &sc.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
	sc.vhostname = "fugu";
	nd->slirp = slirp_new(&sc, &slirp_callbacks, nd);
	if (!nd->slirp) {
		snprintf(err, errlen, "network: libslirp failed to start");
		free(nd);
		return NULL;
	}
	for (unsigned k = 0; k < cfg->nfwd; k++)
		if (add_hostfwd(nd, cfg->fwd[k], err, errlen) < 0) {
			netdev_destroy(nd);
			return NULL;
		}
	return nd;
}

void
netdev_destroy(struct netdev *nd)
{
	if (!nd)
		return;
	slirp_cleanup(nd->slirp);
	while (nd->qlen) {
		free(nd->queue[nd->qhead].data);
		nd->qhead = (nd->qhead + 1) % QUEUE_MAX;
		nd->qlen--;
	}
	free(nd->pfd);
	free(nd);
}

void
netdev_rx_ready(struct netdev *nd)
{
	while (nd->qlen && !nd->sending) {
		struct frame *f = &nd->queue[nd->qhead];
		if (!nd->deliver(nd->opaque, f->data, f->len))
			return;
		free(f->data);
		nd->qhead = (nd->qhead + 1) % QUEUE_MAX;
		nd->qlen--;
	}
}

void
netdev_send(struct netdev *nd, const uint8_t *frame, size_t len)
{
	if (len > 65535)
		return;
	/* slirp may answer at once (ARP, DHCP): the answers wait until the
	 * NIC has finished transmitting, then go in order. */
	nd->sending = true;
	slirp_input(nd->slirp, frame, (int)len);
	nd->sending = false;
	netdev_rx_ready(nd);
}

static int
add_poll(int fd, int events, void *opaque)
{
	struct netdev *nd = opaque;
	if (nd->npfd == nd->cappfd) {
		unsigned cap = nd->cappfd ? 2 * nd->cappfd : 16;
		struct pollfd *p = realloc(nd->pfd, cap * sizeof(*p));
		if (!p)
			return -1;
		nd->pfd = p;
		nd->cappfd = cap;
	}
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	nd->pfd[nd->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)nd->npfd++;
}

static int
get_revents(int idx, void *opaque)
{
	struct netdev *nd = opaque;
	if (idx < 0 || (unsigned)idx >= nd->npfd)
		return 0;
	short re = nd->pfd[idx].revents;
	int r = 0;
	if (re & POLLIN)
		r |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		r |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

/* slirp's sockets now; *timeout_ms lowered to when its timers want a poll. */
static void
fill(struct netdev *nd, uint32_t *timeout_ms)
{
	nd->npfd = 0;
	slirp_pollfds_fill(nd->slirp, timeout_ms, add_poll, nd);
	int64_t now = clock_ns(NULL) / 1000000;
	for (unsigned k = 0; k < TIMERS_MAX; k++) {
		const struct net_timer *t = &nd->timers[k];
		if (t->used && t->expire_ms >= 0) {
			int64_t d = t->expire_ms > now ? t->expire_ms - now : 0;
			if ((uint64_t)d < *timeout_ms)
				*timeout_ms = (uint32_t)d;
		}
	}
}

bool
netdev_poll(struct netdev *nd)
{
	uint32_t timeout = UINT32_MAX;
	unsigned before = nd->qlen;
	fill(nd, &timeout);
	int r = poll(nd->pfd, nd->npfd, 0);
	slirp_pollfds_poll(nd->slirp, r < 0, get_revents, nd);
	int64_t now = clock_ns(NULL) / 1000000;
	for (unsigned k = 0; k < TIMERS_MAX; k++) {
		struct net_timer *t = &nd->timers[k];
		if (t->used && t->expire_ms >= 0 && t->expire_ms <= now) {
			t->expire_ms = -1;
			t->cb(t->cb_opaque);
		}
	}
	netdev_rx_ready(nd);
	return r > 0 || nd->qlen != before;
}

unsigned
netdev_wait_fds(struct netdev *nd, struct pollfd *pfd, unsigned max, uint64_t *within_ns)
{
	uint32_t timeout = UINT32_MAX;
	fill(nd, &timeout);
	if ((uint64_t)timeout * 1000000 < *within_ns)
		*within_ns = (uint64_t)timeout * 1000000;
	if (nd->npfd > max && *within_ns > 10000000)
		*within_ns = 10000000; /* more sockets than the wait holds: look again soon */
	unsigned n = nd->npfd < max ? nd->npfd : max;
	memcpy(pfd, nd->pfd, n * sizeof(*pfd));
	return n;
}
