/* A small rtnetlink client (see netlink.h): builds one request at a time in a fixed buffer, sends it
 * with NLM_F_ACK and reads until the kernel's answer, reporting the kernel's extended-ack text. */
#include "netlink.h"

#include "sysprim/err.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif

/* One request under construction. Requests here are small (a few attributes), so 1 KiB is plenty;
 * a request that does not fit is a programming error reported as -ENOBUFS. */
struct request {
        alignas(struct nlmsghdr) unsigned char buf[1024];
        bool overflow;
};

static struct nlmsghdr *request_header(struct request *rq)
{
        return (struct nlmsghdr *)rq->buf;
}

static void *request_start(struct request *rq, uint16_t type, uint16_t flags, size_t body_size)
{
        memset(rq, 0, sizeof(*rq));
        struct nlmsghdr *h = request_header(rq);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        h->nlmsg_len = NLMSG_LENGTH(body_size);
        return NLMSG_DATA(h);
}

static struct rtattr *request_put(struct request *rq, uint16_t type, const void *data, size_t size)
{
        struct nlmsghdr *h = request_header(rq);
        size_t at = NLMSG_ALIGN(h->nlmsg_len);
        size_t len = RTA_LENGTH(size);
        if (at + RTA_ALIGN(len) > sizeof(rq->buf)) {
                rq->overflow = true;
                return NULL;
        }
        struct rtattr *a = (struct rtattr *)(rq->buf + at);
        a->rta_type = type;
        a->rta_len = (unsigned short)len;
        if (size)
                memcpy(RTA_DATA(a), data, size);
        h->nlmsg_len = (uint32_t)(at + RTA_ALIGN(len));
        return a;
}

static void request_put_string(struct request *rq, uint16_t type, const char *s)
{
        request_put(rq, type, s, strlen(s) + 1);
}

static void request_put_u32(struct request *rq, uint16_t type, uint32_t value)
{
        request_put(rq, type, &value, sizeof(value));
}

/* Nested attributes: open returns the container, close fixes its length to cover what follows. */
static struct rtattr *request_nest(struct request *rq, uint16_t type)
{
        return request_put(rq, type, NULL, 0);
}

static void request_nest_end(struct request *rq, struct rtattr *nest)
{
        if (nest != NULL)
                nest->rta_len = (unsigned short)(rq->buf + request_header(rq)->nlmsg_len -
                                                 (unsigned char *)nest);
}

/* Raw bytes inside a nest (the veth peer's struct ifinfomsg is not an attribute). */
static void *request_reserve(struct request *rq, size_t size)
{
        struct nlmsghdr *h = request_header(rq);
        size_t at = NLMSG_ALIGN(h->nlmsg_len);
        if (at + NLMSG_ALIGN(size) > sizeof(rq->buf)) {
                rq->overflow = true;
                return NULL;
        }
        h->nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(size));
        memset(rq->buf + at, 0, NLMSG_ALIGN(size));
        return rq->buf + at;
}

int netlink_open(struct netlink *nl, struct err *e)
{
        nl->seq = (uint32_t)getpid() << 8;
        nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (nl->fd < 0)
                return err_set(e, errno, "open rtnetlink socket");
        int one = 1;
        /* Best effort: the kernel's own words on why a request failed, and acks without the request. */
        (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        struct sockaddr_nl local = {.nl_family = AF_NETLINK};
        if (bind(nl->fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
                int r = err_set(e, errno, "bind rtnetlink socket");
                netlink_close(nl);
                return r;
        }
        return 0;
}

/* Run `fn` with this thread in the network namespace `netns_fd`, then come back. */
static int in_netns(int netns_fd, int (*fn)(void *ctx, struct err *e), void *ctx, struct err *e)
{
        _cleanup_close_ int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (own < 0)
                return err_set(e, errno, "open /proc/thread-self/ns/net");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return err_set(e, errno, "enter the container's network namespace");
        int r = fn(ctx, e);
        if (setns(own, CLONE_NEWNET) < 0)
                /* Cannot happen with the privileges that let us leave; if it does, every later step
                 * would act on the wrong namespace, so say so loudly. */
                return err_set(e, errno, "return to the host's network namespace");
        return r;
}

static int open_netlink(void *nl, struct err *e)
{
        return netlink_open(nl, e);
}

int netlink_open_in_netns(struct netlink *nl, int netns_fd, struct err *e)
{
        int r = in_netns(netns_fd, open_netlink, nl, e);
        if (r < 0 && nl->fd >= 0)
                netlink_close(nl);
        return r;
}

struct open_request {
        const char *path;
        int fd;
};

static int open_there(void *ctx, struct err *e)
{
        struct open_request *rq = ctx;
        rq->fd = open(rq->path, O_WRONLY | O_CLOEXEC);
        return rq->fd < 0 ? err_set(e, errno, "open %s", rq->path) : 0;
}

int netlink_ipv6_disable(int netns_fd, const char *name, struct err *e)
{
        char path[80];
        snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
        /* A sysctl under /proc/sys/net is that of the namespace of whoever opens it. */
        struct open_request rq = { path, -1 };
        int r = netns_fd >= 0 ? in_netns(netns_fd, open_there, &rq, e) : open_there(&rq, e);
        if (r < 0)
                return e->code == ENOENT ? 0 : r; /* a kernel without IPv6: nothing to turn off */
        r = util_write_all(rq.fd, "1", 1);
        close(rq.fd);
        return r < 0 ? err_set(e, r, "write %s", path) : 0;
}

void netlink_close(struct netlink *nl)
{
        if (nl->fd >= 0)
                close(nl->fd);
        nl->fd = -1;
}

/* Send the request and read the kernel's answer until its ack (or, for a dump, its end), passing each
 * message of the answer to `each` (when given). The kernel's extended-ack text is added to an error. */
static int exchange(struct netlink *nl, struct request *rq, void (*each)(const struct nlmsghdr *m, void *ctx),
                    void *ctx, struct err *e, const char *what)
{
        if (rq->overflow)
                return err_set(e, ENOBUFS, "%s: netlink request too large", what);
        struct nlmsghdr *h = request_header(rq);
        h->nlmsg_seq = ++nl->seq;
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        ssize_t n;
        do
                n = sendto(nl->fd, rq->buf, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_set(e, errno, "%s: send netlink request", what);
        if ((size_t)n != h->nlmsg_len)
                return err_set(e, EIO, "%s: short netlink send", what);

        for (;;) {
                alignas(struct nlmsghdr) unsigned char buf[16384];
                struct sockaddr_nl from;
                socklen_t from_len = sizeof(from);
                do
                        n = recvfrom(nl->fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &from_len);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        return err_set(e, errno, "%s: receive netlink answer", what);
                if ((size_t)n > sizeof(buf))
                        return err_set(e, EMSGSIZE, "%s: netlink answer truncated", what);
                if (from.nl_pid != 0)
                        continue; /* not from the kernel */
                size_t left = (size_t)n;
                for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
                        if (m->nlmsg_seq != nl->seq)
                                continue; /* a late answer to an earlier request */
                        if (m->nlmsg_type == NLMSG_ERROR) {
                                if (m->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                                        return err_set(e, EIO, "%s: malformed netlink error", what);
                                const struct nlmsgerr *ne = NLMSG_DATA(m);
                                if (ne->error == 0)
                                        return 0;
                                /* Extended ack: attributes after the (capped) original header. */
                                const char *kernel_text = NULL;
                                if (m->nlmsg_flags & NLM_F_ACK_TLVS) {
                                        size_t offset = NLMSG_LENGTH(sizeof(*ne));
                                        if (!(m->nlmsg_flags & NLM_F_CAPPED))
                                                offset += NLMSG_ALIGN(ne->msg.nlmsg_len) - NLMSG_HDRLEN;
                                        const struct rtattr *a = (const struct rtattr *)((const char *)m + offset);
                                        size_t alen = m->nlmsg_len > offset ? m->nlmsg_len - offset : 0;
                                        for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                                                if (a->rta_type == NLMSGERR_ATTR_MSG &&
                                                    RTA_PAYLOAD(a) > 0 &&
                                                    memchr(RTA_DATA(a), '\0', RTA_PAYLOAD(a)))
                                                        kernel_text = RTA_DATA(a);
                                }
                                if (kernel_text != NULL && kernel_text[0])
                                        return err_set(e, -ne->error, "%s (%s)", what, kernel_text);
                                return err_set(e, -ne->error, "%s", what);
                        }
                        if (m->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (each != NULL)
                                each(m, ctx);
                }
        }
}

struct first_reply {
        void *buf;
        size_t size;
        bool got;
};

static void keep_first(const struct nlmsghdr *m, void *ctx)
{
        struct first_reply *r = ctx;
        if (r->got)
                return;
        size_t len = m->nlmsg_len < r->size ? m->nlmsg_len : r->size;
        memset(r->buf, 0, r->size);
        memcpy(r->buf, m, len);
        r->got = true;
}

/* Send the request and wait for its ack. A reply (RTM_NEWLINK to RTM_GETLINK, say) is copied to
 * `reply` when given. A GET without NLM_F_DUMP ends with its reply, or with an ack after it. */
static int transact(struct netlink *nl, struct request *rq, void *reply, size_t reply_size,
                    struct err *e, const char *what)
{
        struct first_reply first = { reply, reply_size, false };
        int r = exchange(nl, rq, reply ? keep_first : NULL, &first, e, what);
        if (r == 0 && reply != NULL && !first.got)
                return err_set(e, EIO, "%s: no netlink reply", what);
        return r;
}

static int check_name(const char *name, struct err *e)
{
        if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ)
                return err_set(e, EINVAL, "bad interface name '%s' (1 to %d characters)", name ? name : "",
                               IFNAMSIZ - 1);
        return 0;
}

/* A request about the link `name`, addressed by IFLA_IFNAME (RTM_GETLINK, RTM_DELLINK, a new link). */
static int link_request(struct request *rq, uint16_t type, uint16_t flags, const char *name, struct err *e)
{
        int r = check_name(name, e);
        if (r < 0)
                return r;
        struct ifinfomsg *ifi = request_start(rq, type, flags, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        request_put_string(rq, IFLA_IFNAME, name);
        return 0;
}

/* The RTM_GETLINK reply for `name`: header, ifinfomsg and attributes. */
struct link_reply {
        alignas(struct nlmsghdr) unsigned char buf[4096];
};

static int link_query(struct netlink *nl, const char *name, struct link_reply *reply, struct err *e)
{
        struct request rq;
        int r = link_request(&rq, RTM_GETLINK, 0, name, e);
        if (r < 0)
                return r;
        /* Skip statistics and the like: the answer stays small. */
        request_put_u32(&rq, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        char what[64];
        snprintf(what, sizeof(what), "look up link %s", name);
        return transact(nl, &rq, reply->buf, sizeof(reply->buf), e, what);
}

/* IFLA_INFO_KIND inside the IFLA_LINKINFO nest `info`, copied into `kind` ("" when there is none). */
static void copy_link_kind(const struct rtattr *info, char kind[NETLINK_KIND_SIZE])
{
        size_t len = RTA_PAYLOAD(info);
        for (const struct rtattr *a = RTA_DATA(info); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_INFO_KIND) {
                        size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
                        if (n >= NETLINK_KIND_SIZE)
                                n = NETLINK_KIND_SIZE - 1;
                        memcpy(kind, RTA_DATA(a), n);
                        kind[n] = '\0';
                }
}

static int link_info(struct netlink *nl, const char *name, unsigned *flags, int *master_index,
                     uint8_t *mac, struct netlink_link_kind *kind, struct err *e)
{
        struct link_reply reply;
        int r = link_query(nl, name, &reply, e);
        if (r < 0)
                return r;
        const struct nlmsghdr *h = (const struct nlmsghdr *)reply.buf;
        if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                return err_set(e, EIO, "look up link %s: unexpected reply", name);
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        if (flags)
                *flags = ifi->ifi_flags;
        if (master_index)
                *master_index = 0;
        if (mac)
                memset(mac, 0, 6);
        if (kind) {
                kind->kind[0] = '\0';
                kind->hardware_type = ifi->ifi_type;
        }
        size_t len = h->nlmsg_len > sizeof(reply.buf) ? sizeof(reply.buf) : h->nlmsg_len;
        len -= NLMSG_LENGTH(sizeof(*ifi));
        for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (master_index && a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= sizeof(uint32_t))
                        memcpy(master_index, RTA_DATA(a), sizeof(*master_index));
                if (mac && a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6)
                        memcpy(mac, RTA_DATA(a), 6);
                if (kind && a->rta_type == IFLA_LINKINFO)
                        copy_link_kind(a, kind->kind);
        }
        return ifi->ifi_index;
}

int netlink_link_get(struct netlink *nl, const char *name, unsigned *flags, int *master_index,
                     struct err *e)
{
        return link_info(nl, name, flags, master_index, NULL, NULL, e);
}

int netlink_link_mac(struct netlink *nl, const char *name, uint8_t mac[6], struct err *e)
{
        return link_info(nl, name, NULL, NULL, mac, NULL, e);
}

int netlink_link_get_kind(struct netlink *nl, const char *name, struct netlink_link_kind *kind, struct err *e)
{
        return link_info(nl, name, NULL, NULL, NULL, kind, e);
}

int netlink_link_index(struct netlink *nl, const char *name, struct err *e)
{
        return netlink_link_get(nl, name, NULL, NULL, e);
}

int netlink_bridge_create(struct netlink *nl, const char *name, const uint8_t *mac, struct err *e)
{
        struct request rq;
        int r = link_request(&rq, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, e);
        if (r < 0)
                return r;
        if (mac)
                request_put(&rq, IFLA_ADDRESS, mac, 6);
        struct rtattr *info = request_nest(&rq, IFLA_LINKINFO);
        request_put_string(&rq, IFLA_INFO_KIND, "bridge");
        request_nest_end(&rq, info);
        char what[64];
        snprintf(what, sizeof(what), "create bridge %s", name);
        return transact(nl, &rq, NULL, 0, e, what);
}

static void put_netns(struct request *rq, struct netlink_netns netns)
{
        if (netns.pid > 0)
                request_put_u32(rq, IFLA_NET_NS_PID, (uint32_t)netns.pid);
        else if (netns.fd >= 0)
                request_put_u32(rq, IFLA_NET_NS_FD, (uint32_t)netns.fd);
}

int netlink_veth_create(struct netlink *nl, const char *name, const char *peer_name,
                        struct netlink_netns peer_netns, const uint8_t *peer_mac, struct err *e)
{
        struct request rq;
        int r = check_name(name, e);
        if (r == 0)
                r = check_name(peer_name, e);
        if (r == 0)
                r = link_request(&rq, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, e);
        if (r < 0)
                return r;
        struct rtattr *info = request_nest(&rq, IFLA_LINKINFO);
        request_put_string(&rq, IFLA_INFO_KIND, "veth");
        struct rtattr *data = request_nest(&rq, IFLA_INFO_DATA);
        struct rtattr *peer = request_nest(&rq, VETH_INFO_PEER);
        struct ifinfomsg *peer_ifi = request_reserve(&rq, sizeof(*peer_ifi));
        if (peer_ifi)
                peer_ifi->ifi_family = AF_UNSPEC;
        request_put_string(&rq, IFLA_IFNAME, peer_name);
        if (peer_mac)
                request_put(&rq, IFLA_ADDRESS, peer_mac, 6);
        put_netns(&rq, peer_netns);
        request_nest_end(&rq, peer);
        request_nest_end(&rq, data);
        request_nest_end(&rq, info);
        char what[96];
        snprintf(what, sizeof(what), "create veth pair %s/%s", name, peer_name);
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_link_delete(struct netlink *nl, const char *name, struct err *e)
{
        struct request rq;
        int r = link_request(&rq, RTM_DELLINK, 0, name, e);
        if (r < 0)
                return r;
        char what[64];
        snprintf(what, sizeof(what), "delete link %s", name);
        return transact(nl, &rq, NULL, 0, e, what);
}

/* RTM_NEWLINK on an existing link: addressed by index when known, else by IFLA_IFNAME, which the
 * kernel resolves itself (one round trip instead of two). */
static void link_change(struct request *rq, const char *name, int index, unsigned flags, unsigned change)
{
        struct ifinfomsg *ifi = request_start(rq, RTM_NEWLINK, 0, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        ifi->ifi_flags = flags;
        ifi->ifi_change = change;
        if (index <= 0)
                request_put_string(rq, IFLA_IFNAME, name);
}

int netlink_link_set_master(struct netlink *nl, const char *name, const char *master, struct err *e)
{
        char what[64];
        snprintf(what, sizeof(what), "attach %s to %s", name, master ? master : "no bridge");
        int r = check_name(name, e);
        if (r < 0)
                return r;
        int master_index = 0;
        if (master != NULL) {
                master_index = netlink_link_index(nl, master, e);
                if (master_index < 0)
                        return err_wrap(e, "%s", what);
        }
        struct request rq;
        link_change(&rq, name, 0, 0, 0);
        request_put_u32(&rq, IFLA_MASTER, (uint32_t)master_index);
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_link_set_netns(struct netlink *nl, const char *name, struct netlink_netns netns,
                           struct err *e)
{
        char what[64];
        snprintf(what, sizeof(what), "move %s to another network namespace", name);
        int r = check_name(name, e);
        if (r < 0)
                return r;
        if (netns.pid <= 0 && netns.fd < 0)
                return err_set(e, EINVAL, "%s: no namespace given", what);
        struct request rq;
        link_change(&rq, name, 0, 0, 0);
        put_netns(&rq, netns);
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_link_rename(struct netlink *nl, const char *name, const char *new_name, struct err *e)
{
        char what[64];
        snprintf(what, sizeof(what), "rename %s to %s", name, new_name ? new_name : "");
        int r = check_name(new_name, e);
        if (r < 0)
                return r;
        int index = netlink_link_index(nl, name, e);
        if (index < 0)
                return err_wrap(e, "%s", what);
        struct request rq;
        link_change(&rq, name, index, 0, 0);
        request_put_string(&rq, IFLA_IFNAME, new_name);
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_link_set_up(struct netlink *nl, const char *name, bool up, struct err *e)
{
        char what[64];
        snprintf(what, sizeof(what), "set %s %s", name, up ? "up" : "down");
        int r = check_name(name, e);
        if (r < 0)
                return r;
        struct request rq;
        link_change(&rq, name, 0, up ? IFF_UP : 0, IFF_UP);
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_address_add_ipv4(struct netlink *nl, const char *name, struct in_addr address,
                             unsigned prefix_length, struct err *e)
{
        char what[96], text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &address, text, sizeof(text));
        snprintf(what, sizeof(what), "add address %s/%u to %s", text, prefix_length, name);
        if (prefix_length > 32)
                return err_set(e, EINVAL, "%s: prefix length above 32", what);
        int index = netlink_link_index(nl, name, e);
        if (index < 0)
                return err_wrap(e, "%s", what);
        struct request rq;
        struct ifaddrmsg *ifa = request_start(&rq, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char)prefix_length;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)index;
        request_put(&rq, IFA_LOCAL, &address, sizeof(address));
        request_put(&rq, IFA_ADDRESS, &address, sizeof(address));
        if (prefix_length < 31) {
                uint32_t mask = prefix_length ? htonl(~0u << (32 - prefix_length)) : 0;
                struct in_addr broadcast = {.s_addr = address.s_addr | ~mask};
                request_put(&rq, IFA_BROADCAST, &broadcast, sizeof(broadcast));
        }
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_route_add_default_ipv4(struct netlink *nl, const char *name, struct in_addr gateway,
                                   struct err *e)
{
        char what[96], text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &gateway, text, sizeof(text));
        snprintf(what, sizeof(what), "add default route via %s dev %s", text, name);
        int index = netlink_link_index(nl, name, e);
        if (index < 0)
                return err_wrap(e, "%s", what);
        struct request rq;
        struct rtmsg *rtm = request_start(&rq, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        request_put(&rq, RTA_GATEWAY, &gateway, sizeof(gateway));
        request_put_u32(&rq, RTA_OIF, (uint32_t)index);
        return transact(nl, &rq, NULL, 0, e, what);
}

int netlink_rule_ipv4(struct netlink *nl, bool add, uint32_t priority, struct in_addr network,
                      unsigned prefix_length, const char *iif, bool blackhole, struct err *e)
{
        char what[128], text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &network, text, sizeof(text));
        snprintf(what, sizeof(what), "%s rule %u: to %s/%u%s%s %s", add ? "add" : "delete", priority, text,
                 prefix_length, iif ? " iif " : "", iif ? iif : "", blackhole ? "blackhole" : "lookup main");
        if (prefix_length > 32)
                return err_set(e, EINVAL, "%s: prefix length above 32", what);
        if (iif != NULL && check_name(iif, e) < 0)
                return err_wrap(e, "%s", what);
        struct request rq;
        struct fib_rule_hdr *frh = request_start(&rq, add ? RTM_NEWRULE : RTM_DELRULE,
                                                 add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*frh));
        frh->family = AF_INET;
        frh->dst_len = (unsigned char)prefix_length;
        frh->action = blackhole ? FR_ACT_BLACKHOLE : FR_ACT_TO_TBL;
        frh->table = blackhole ? RT_TABLE_UNSPEC : RT_TABLE_MAIN;
        request_put_u32(&rq, FRA_PRIORITY, priority);
        if (prefix_length > 0)
                request_put(&rq, FRA_DST, &network, sizeof(network));
        if (iif != NULL)
                request_put_string(&rq, FRA_IIFNAME, iif);
        return transact(nl, &rq, NULL, 0, e, what);
}

struct networks_ctx {
        void (*each)(void *ctx, struct in_addr network, unsigned prefix_length, int ifindex);
        void *ctx;
};

static void address_network(const struct nlmsghdr *m, void *ctx)
{
        const struct networks_ctx *n = ctx;
        if (m->nlmsg_type != RTM_NEWADDR || m->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
                return;
        const struct ifaddrmsg *ifa = NLMSG_DATA(m);
        if (ifa->ifa_family != AF_INET)
                return;
        size_t len = IFA_PAYLOAD(m);
        for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == sizeof(struct in_addr)) {
                        struct in_addr address;
                        memcpy(&address, RTA_DATA(a), sizeof(address));
                        n->each(n->ctx, address, ifa->ifa_prefixlen, (int)ifa->ifa_index);
                }
}

static void route_network(const struct nlmsghdr *m, void *ctx)
{
        const struct networks_ctx *n = ctx;
        if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
                return;
        const struct rtmsg *rtm = NLMSG_DATA(m);
        if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
                return;
        struct in_addr destination = { 0 }, gateway = { 0 };
        bool has_gateway = false;
        int oif = 0;
        size_t len = RTM_PAYLOAD(m);
        for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == sizeof(destination))
                        memcpy(&destination, RTA_DATA(a), sizeof(destination));
                else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == sizeof(gateway))
                        has_gateway = true, memcpy(&gateway, RTA_DATA(a), sizeof(gateway));
                else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == sizeof(uint32_t))
                        memcpy(&oif, RTA_DATA(a), sizeof(oif));
        }
        if (rtm->rtm_dst_len > 0)
                n->each(n->ctx, destination, rtm->rtm_dst_len, oif);
        if (has_gateway) /* the next hop itself (the default route's router, say) */
                n->each(n->ctx, gateway, 32, oif);
}

int netlink_ipv4_networks(struct netlink *nl,
                          void (*each)(void *ctx, struct in_addr network, unsigned prefix_length, int ifindex),
                          void *ctx, struct err *e)
{
        struct networks_ctx n = { each, ctx };
        struct request rq;
        struct ifaddrmsg *ifa = request_start(&rq, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        int r = exchange(nl, &rq, address_network, &n, e, "list the IPv4 addresses");
        if (r < 0)
                return r;
        struct rtmsg *rtm = request_start(&rq, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        return exchange(nl, &rq, route_network, &n, e, "list the IPv4 routes");
}
