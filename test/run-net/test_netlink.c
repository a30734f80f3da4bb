/* Unit test of run's rtnetlink client (applets/run/netlink.c). It runs entirely inside network
 * namespaces it makes itself, so the host's links are never touched and everything vanishes on exit. */
#include "../../applets/run/netlink.h"
#include "test.h"

#include "sysprim/err.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int open_own_netns(void)
{
        return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* A fresh namespace, returned as an fd; the caller stays where it was. */
static int make_netns(void)
{
        int here = open_own_netns();
        if (here < 0 || unshare(CLONE_NEWNET) < 0)
                return -1;
        int made = open_own_netns();
        if (setns(here, CLONE_NEWNET) < 0)
                abort();
        close(here);
        return made;
}

/* A TCP socket listening on addr:port inside `netns_fd` (sockets keep the namespace they were made in). */
static int listen_in_netns(int netns_fd, const char *addr, int port)
{
        int here = open_own_netns();
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                return -1;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
                close(fd);
                fd = -1;
        }
        if (setns(here, CLONE_NEWNET) < 0)
                abort();
        close(here);
        return fd;
}

/* Connect from `netns_fd` (-1: here) to addr:port; returns 0 or -errno. */
static int connect_from_netns(int netns_fd, const char *addr, int port, int listener, char *peer, size_t peer_size)
{
        int here = open_own_netns();
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (setns(here, CLONE_NEWNET) < 0)
                abort();
        close(here);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
        if (r == 0) {
                struct sockaddr_in from;
                socklen_t len = sizeof(from);
                int c = accept(listener, (struct sockaddr *)&from, &len);
                if (c < 0)
                        r = -errno;
                else {
                        inet_ntop(AF_INET, &from.sin_addr, peer, (socklen_t)peer_size);
                        close(c);
                }
        }
        close(fd);
        return r;
}

static struct in_addr ip4(const char *text)
{
        struct in_addr a;
        inet_pton(AF_INET, text, &a);
        return a;
}

int main(void)
{
        if (geteuid() != 0)
                TEST_SKIP("needs root (network namespaces)");
        if (unshare(CLONE_NEWNET) < 0)
                TEST_SKIP("cannot create a network namespace");

        struct err e = {0};
        struct netlink nl;
        CHECK_EQ_INT(netlink_open(&nl, &e), 0);

        /* Lookups and error reporting. */
        CHECK_EQ_INT(netlink_link_index(&nl, "lo", &e), 1);
        CHECK_EQ_INT(netlink_link_index(&nl, "nosuchlink0", &e), -ENODEV);
        CHECK(strstr(e.msg, "nosuchlink0") != NULL);
        CHECK_EQ_INT(netlink_link_delete(&nl, "nosuchlink0", &e), -ENODEV);
        CHECK_EQ_INT(netlink_link_index(&nl, "a-name-far-too-long", &e), -EINVAL);
        CHECK_EQ_INT(netlink_link_set_up(&nl, "", true, &e), -EINVAL);

        /* Bridge with a fixed address; a second one of that name is refused. */
        const uint8_t bridge_mac[6] = {0x02, 0x73, 0x0a, 0xc8, 0x00, 0x01};
        CHECK_EQ_INT(netlink_bridge_create(&nl, "tbr0", bridge_mac, &e), 0);
        int bridge = netlink_link_index(&nl, "tbr0", &e);
        CHECK(bridge > 1);
        CHECK_EQ_INT(netlink_bridge_create(&nl, "tbr0", NULL, &e), -EEXIST);
        CHECK(strstr(e.msg, "create bridge tbr0") != NULL);
        CHECK_EQ_INT(netlink_link_set_up(&nl, "tbr0", true, &e), 0);
        unsigned flags = 0;
        int master = -1;
        CHECK(netlink_link_get(&nl, "tbr0", &flags, &master, &e) == bridge);
        CHECK(flags & IFF_UP);
        CHECK_EQ_INT(master, 0);

        /* A veth pair beside us, one end on the bridge. */
        CHECK_EQ_INT(netlink_veth_create(&nl, "tv0", "tv1", NETLINK_NETNS_NONE, NULL, &e), 0);
        CHECK(netlink_link_index(&nl, "tv1", &e) > 0);
        CHECK_EQ_INT(netlink_link_set_master(&nl, "tv0", "tbr0", &e), 0);
        CHECK(netlink_link_get(&nl, "tv0", &flags, &master, &e) > 0);
        CHECK_EQ_INT(master, bridge);
        CHECK_EQ_INT(netlink_link_set_master(&nl, "tv0", "nosuchbridge", &e), -ENODEV);
        CHECK_EQ_INT(netlink_link_set_up(&nl, "tv0", true, &e), 0);
        CHECK_EQ_INT(netlink_link_set_up(&nl, "tv0", false, &e), 0);
        CHECK(netlink_link_get(&nl, "tv0", &flags, NULL, &e) > 0);
        CHECK(!(flags & IFF_UP));
        CHECK_EQ_INT(netlink_link_set_up(&nl, "tv0", true, &e), 0);

        /* `ip` (when installed) sees the same thing we made. */
        if (system("command -v ip >/dev/null 2>&1") == 0) {
                CHECK_EQ_INT(system("ip -d link show tbr0 | grep -q 'bridge forward_delay'"), 0);
                CHECK_EQ_INT(system("ip link show tbr0 | grep -q '02:73:0a:c8:00:01'"), 0);
                CHECK_EQ_INT(system("ip -d link show tv0 | grep -q 'master tbr0'"), 0);
                CHECK_EQ_INT(system("ip -d link show tv0 | grep -q 'veth'"), 0);
        }

        /* Move the other end into a "container" namespace by fd, rename and configure it there. */
        int inner = make_netns();
        CHECK(inner >= 0);
        CHECK_EQ_INT(netlink_link_set_netns(&nl, "tv1", (struct netlink_netns){.pid = 0, .fd = inner}, &e), 0);
        CHECK_EQ_INT(netlink_link_index(&nl, "tv1", &e), -ENODEV);
        struct netlink in;
        CHECK_EQ_INT(netlink_open_in_netns(&in, inner, &e), 0);
        CHECK(netlink_link_index(&in, "tv1", &e) > 0);
        CHECK_EQ_INT(netlink_link_rename(&in, "tv1", "eth0", &e), 0);
        CHECK_EQ_INT(netlink_link_index(&in, "tv1", &e), -ENODEV);
        CHECK_EQ_INT(netlink_link_set_up(&in, "lo", true, &e), 0);
        CHECK_EQ_INT(netlink_link_set_up(&in, "eth0", true, &e), 0);
        CHECK_EQ_INT(netlink_address_add_ipv4(&in, "eth0", ip4("10.200.0.2"), 24, &e), 0);
        CHECK_EQ_INT(netlink_address_add_ipv4(&in, "eth0", ip4("10.200.0.2"), 24, &e), -EEXIST);
        CHECK_EQ_INT(netlink_address_add_ipv4(&in, "eth0", ip4("10.200.0.9"), 33, &e), -EINVAL);
        CHECK_EQ_INT(netlink_address_add_ipv4(&nl, "tbr0", ip4("10.200.0.1"), 24, &e), 0);
        /* A second host address outside the subnet is reachable from inside only by the default route. */
        CHECK_EQ_INT(netlink_address_add_ipv4(&nl, "tbr0", ip4("10.201.0.1"), 24, &e), 0);

        /* Host -> container, seen from the container as coming from the bridge's address. */
        char peer[INET_ADDRSTRLEN] = "";
        int inside_listener = listen_in_netns(inner, "10.200.0.2", 7001);
        CHECK(inside_listener >= 0);
        CHECK_EQ_INT(connect_from_netns(-1, "10.200.0.2", 7001, inside_listener, peer, sizeof(peer)), 0);
        CHECK_STREQ(peer, "10.200.0.1");

        int host_listener = listen_in_netns(-1, "0.0.0.0", 7002);
        CHECK(host_listener >= 0);
        CHECK_EQ_INT(connect_from_netns(inner, "10.201.0.1", 7002, host_listener, peer, sizeof(peer)), -ENETUNREACH);
        CHECK_EQ_INT(netlink_route_add_default_ipv4(&in, "eth0", ip4("10.200.0.1"), &e), 0);
        CHECK_EQ_INT(netlink_route_add_default_ipv4(&in, "eth0", ip4("10.200.0.1"), &e), -EEXIST);
        CHECK_EQ_INT(connect_from_netns(inner, "10.201.0.1", 7002, host_listener, peer, sizeof(peer)), 0);
        CHECK_STREQ(peer, "10.200.0.2");

        /* Policy-routing rules: the host's own traffic to the subnet looks up the main table, anything
         * else to it is dropped; each exists once, and deleting an absent one says so. */
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, true, 31000, ip4("10.200.0.0"), 24, "lo", false, &e), 0);
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, true, 31001, ip4("10.200.0.0"), 24, NULL, true, &e), 0);
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, true, 31001, ip4("10.200.0.0"), 24, NULL, true, &e), -EEXIST);
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, true, 31001, ip4("10.200.0.0"), 33, NULL, true, &e), -EINVAL);
        CHECK_EQ_INT(connect_from_netns(-1, "10.200.0.2", 7001, inside_listener, peer, sizeof(peer)), 0);
        if (system("command -v ip >/dev/null 2>&1") == 0) {
                CHECK_EQ_INT(system("ip rule show | grep -q '^31000:.*from all to 10.200.0.0/24 iif lo lookup main'"), 0);
                CHECK_EQ_INT(system("ip rule show | grep -q '^31001:.*from all to 10.200.0.0/24 blackhole'"), 0);
        }
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, false, 31001, ip4("10.200.0.0"), 24, NULL, true, &e), 0);
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, false, 31001, ip4("10.200.0.0"), 24, NULL, true, &e), -ENOENT);
        CHECK_EQ_INT(netlink_rule_ipv4(&nl, false, 31000, ip4("10.200.0.0"), 24, "lo", false, &e), 0);
        if (system("command -v ip >/dev/null 2>&1") == 0)
                CHECK(system("ip rule show | grep -q 10.200.0.0") != 0);

        /* A veth whose peer is born inside a process's namespace (by pid), already called eth0. */
        int ready[2], hold[2];
        CHECK_EQ_INT(pipe(ready), 0);
        CHECK_EQ_INT(pipe(hold), 0);
        pid_t child = fork();
        if (child == 0) {
                char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
                if (write(ready[1], &c, 1) != 1)
                        _exit(1);
                close(hold[1]);
                (void)read(hold[0], &c, 1); /* until the parent closes its end */
                _exit(0);
        }
        char c = 0;
        CHECK_EQ_INT(read(ready[0], &c, 1), 1);
        CHECK_EQ_INT(c, 'y');
        const uint8_t peer_mac[6] = {0x02, 0x73, 0x0a, 0xc8, 0x00, 0x03};
        CHECK_EQ_INT(netlink_veth_create(&nl, "tv2", "eth0", (struct netlink_netns){.pid = child, .fd = -1},
                                         peer_mac, &e), 0);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child);
        int child_ns = open(path, O_RDONLY | O_CLOEXEC);
        struct netlink cn;
        CHECK_EQ_INT(netlink_open_in_netns(&cn, child_ns, &e), 0);
        CHECK(netlink_link_index(&cn, "eth0", &e) > 0);
        CHECK_EQ_INT(netlink_link_index(&nl, "eth0", &e), -ENODEV);
        CHECK(netlink_link_index(&nl, "tv2", &e) > 0);
        if (system("command -v ip >/dev/null 2>&1") == 0) {
                snprintf(path, sizeof(path), "nsenter -t %d -n ip link show eth0 | grep -q 02:73:0a:c8:00:03",
                         (int)child);
                CHECK_EQ_INT(system(path), 0);
        }
        /* Moving by pid: the host end follows its peer into the child's namespace. */
        CHECK_EQ_INT(netlink_link_set_netns(&nl, "tv2", (struct netlink_netns){.pid = child, .fd = -1}, &e), 0);
        CHECK(netlink_link_index(&cn, "tv2", &e) > 0);
        netlink_close(&cn);
        close(child_ns);
        close(hold[1]);
        int status = 0;
        CHECK_EQ_INT(waitpid(child, &status, 0), child);

        /* Deleting one end of a pair removes the other, even across namespaces. */
        CHECK_EQ_INT(netlink_link_delete(&nl, "tv0", &e), 0);
        CHECK_EQ_INT(netlink_link_index(&in, "eth0", &e), -ENODEV);
        CHECK_EQ_INT(netlink_link_delete(&nl, "tbr0", &e), 0);
        CHECK_EQ_INT(netlink_link_index(&nl, "tbr0", &e), -ENODEV);

        close(inside_listener);
        close(host_listener);
        netlink_close(&in);
        netlink_close(&nl);
        close(inner);
        TEST_DONE();
}
