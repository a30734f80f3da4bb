/* Unit test of run's networking layer (applets/run/network.c and its parts): option parsing, address
 * allocation under the bridge's lock, veth set-up, NAT, --publish and release. It runs in a private
 * network and mount namespace (with its own /run), so the host's links, rules and state are never
 * touched. */
#include "../../applets/run/container.h"
#include "../../applets/run/netlink.h"
#include "../../applets/run/network.h"
#include "../../applets/run/state_lock.h"
#include "test.h"

#include "sysprim/err.h"
#include "sysprim/util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A file of this network namespace's record directory (the test runs in a namespace of its own). */
static const char *state_file(const char *name)
{
        static char path[256];
        snprintf(path, sizeof(path), "%s/%s", network_state_dir(), name);
        return path;
}

static struct network_options bridge_options(void)
{
        struct network_options o = {.mode = NETWORK_MODE_BRIDGE, .bridge = "tsp0"};
        CHECK_EQ_INT(network_parse_subnet("10.210.0.0/24", &o.subnet), 0);
        return o;
}

static void test_parsing(void)
{
        enum network_mode mode;
        CHECK_EQ_INT(network_parse_mode("bridge", &mode), 0);
        CHECK_EQ_INT(mode, NETWORK_MODE_BRIDGE);
        CHECK_EQ_INT(network_parse_mode("host", &mode), 0);
        CHECK_EQ_INT(mode, NETWORK_MODE_HOST);
        CHECK_EQ_INT(network_parse_mode("Bridge", &mode), -EINVAL);

        struct network_subnet s;
        CHECK_EQ_INT(network_parse_subnet("10.89.7.9/24", &s), 0);
        CHECK_EQ_INT(ntohl(s.network.s_addr), 0x0a590700); /* host bits cleared */
        CHECK_EQ_INT(s.prefix_length, 24);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0", &s), -EINVAL);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0/30", &s), 0);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0/31", &s), -ERANGE);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0/32", &s), -ERANGE);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0/33", &s), -EINVAL);
        CHECK_EQ_INT(network_parse_subnet("10.0.0.0/8", &s), 0);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0/7", &s), -ERANGE);
        CHECK_EQ_INT(network_parse_subnet("10.89.0/24", &s), -EINVAL);
        CHECK_EQ_INT(network_parse_subnet("10.89.0.0/24x", &s), -EINVAL);
        /* Unicast only: not "this network", loopback, multicast or reserved. */
        CHECK_EQ_INT(network_parse_subnet("0.0.0.0/8", &s), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_subnet("127.0.0.0/8", &s), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_subnet("224.0.0.0/8", &s), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_subnet("255.255.255.0/24", &s), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_subnet("223.255.255.0/24", &s), 0);

        struct in_addr a;
        CHECK_EQ_INT(network_parse_ip("10.88.0.5", &a), 0);
        CHECK_EQ_INT(network_parse_ip("0.0.0.0", &a), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_ip("127.0.0.5", &a), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_ip("239.1.1.1", &a), -EADDRNOTAVAIL);
        CHECK_EQ_INT(network_parse_ip("223.1.1.1", &a), 0);
        CHECK_EQ_INT(network_parse_ip("10.88.5", &a), -EINVAL);

        struct network_publish_list p = {0};
        CHECK_EQ_INT(network_parse_publish("8080:80", &p), 0);
        CHECK_EQ_INT(network_parse_publish("127.0.0.1:8081:81/tcp", &p), 0);
        CHECK_EQ_INT(p.count, 2);
        CHECK_EQ_INT(p.items[0].host_port, 8080);
        CHECK_EQ_INT(p.items[0].container_port, 80);
        CHECK_EQ_INT(p.items[0].host_address.s_addr, htonl(INADDR_ANY));
        CHECK_EQ_INT(p.items[1].host_address.s_addr, htonl(INADDR_LOOPBACK));
        CHECK_EQ_INT(network_parse_publish("8080:90", &p), -EADDRINUSE); /* host port twice */
        CHECK_EQ_INT(network_parse_publish("8082:80/udp", &p), -EPROTONOSUPPORT);
        CHECK_EQ_INT(network_parse_publish("8082:80/", &p), -EINVAL); /* no protocol after the slash */
        CHECK_EQ_INT(network_parse_publish("0:80", &p), -ERANGE);
        CHECK_EQ_INT(network_parse_publish("8082:65536", &p), -ERANGE);
        CHECK_EQ_INT(network_parse_publish("8082:99999999999999999999999", &p), -ERANGE);
        CHECK_EQ_INT(network_parse_publish("8082:8x", &p), -EINVAL);
        CHECK_EQ_INT(network_parse_publish("8082", &p), -EINVAL);
        CHECK_EQ_INT(network_parse_publish("x:8082:80", &p), -EINVAL);
        CHECK_EQ_INT(p.count, 2);

        /* Bridge names: the check says why a name is refused. */
        struct err e = {0};
        CHECK_EQ_INT(network_check_bridge_name("sysprim_test1", &e), 0);
        CHECK_EQ_INT(network_check_bridge_name("abcdefghijklmno", &e), 0); /* 15: the most */
        CHECK_EQ_INT(network_check_bridge_name("br-0", &e), -EINVAL);
        CHECK_STREQ(e.msg, "--bridge: 'br-0' has '-', which a bridge name cannot have (a letter, then letters, "
                           "digits or _: it also names the bridge's NAT table)");
        CHECK_EQ_INT(network_check_bridge_name("0br", &e), -EINVAL);
        CHECK(strstr(e.msg, "'0br' starts with '0', not a letter") != NULL);
        CHECK_EQ_INT(network_check_bridge_name("a\nb", &e), -EINVAL);
        CHECK(strstr(e.msg, "has a byte 0x0a, which a bridge name cannot have") != NULL);
        CHECK_EQ_INT(network_check_bridge_name("", &e), -EINVAL);
        CHECK(strstr(e.msg, "--bridge: an empty name") != NULL);
        CHECK_EQ_INT(network_check_bridge_name("abcdefghijklmnop", &e), -EINVAL);
        CHECK_STREQ(e.msg, "--bridge: 'abcdefghijklmnop' has 16 characters; a network interface name has at most 15");
        CHECK_EQ_INT(network_check_bridge_name("x", NULL), 0);
        CHECK_EQ_INT(network_check_bridge_name("x-", NULL), -EINVAL);

        /* Addresses a container cannot have on a subnet, each with its reason. */
        struct network_subnet s24 = {.network = {.s_addr = htonl(0x0a590000)}, .prefix_length = 24};
        struct in_addr at;
        inet_pton(AF_INET, "10.89.0.2", &at);
        CHECK_EQ_INT(network_check_container_address(s24, at, &e), 0);
        inet_pton(AF_INET, "10.89.0.254", &at);
        CHECK_EQ_INT(network_check_container_address(s24, at, &e), 0);
        inet_pton(AF_INET, "10.89.0.1", &at);
        CHECK_EQ_INT(network_check_container_address(s24, at, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--ip: '10.89.0.1' is the bridge's own address in 10.89.0.0/24 (a container takes "
                           "10.89.0.2 to 10.89.0.254)");
        inet_pton(AF_INET, "10.89.0.0", &at);
        CHECK_EQ_INT(network_check_container_address(s24, at, &e), -EINVAL);
        CHECK(strstr(e.msg, "'10.89.0.0' is the network address of 10.89.0.0/24") != NULL);
        inet_pton(AF_INET, "10.89.0.255", &at);
        CHECK_EQ_INT(network_check_container_address(s24, at, &e), -EINVAL);
        CHECK(strstr(e.msg, "'10.89.0.255' is the broadcast address of 10.89.0.0/24") != NULL);
        struct network_subnet s30 = {.network = {.s_addr = htonl(0x0a590000)}, .prefix_length = 30};
        inet_pton(AF_INET, "10.89.0.3", &at);
        CHECK_EQ_INT(network_check_container_address(s30, at, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--ip: '10.89.0.3' is the broadcast address of 10.89.0.0/30 (a container takes only "
                           "10.89.0.2)");
        inet_pton(AF_INET, "10.89.1.2", &at);
        CHECK_EQ_INT(network_check_container_address(s24, at, &e), -EINVAL);
        CHECK(strstr(e.msg, "'10.89.1.2' is outside the bridge's subnet 10.89.0.0/24") != NULL);

        /* Options together. */
        struct container_network c = {.mode = "none", .address = "10.88.0.5"};
        struct network_options o;
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--ip needs --net bridge (here the network is none, the default)");
        c = (struct container_network){.mode = "host", .nat = 1};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--nat needs --net bridge (here the network is the host's, --net host)");
        c = (struct container_network){.mode = "bridge", .subnet = "10.88.0.0/16", .address = "10.88.0.1"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL); /* the bridge's own */
        c = (struct container_network){.mode = "bridge", .subnet = "10.88.0.0/16", .address = "10.89.0.9"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL); /* outside 10.88.0.0/16 */
        /* Without --subnet the bridge in use decides (it may have been made with another subnet):
         * bridge_record_allocate checks once the record is read. */
        c = (struct container_network){.mode = "bridge", .address = "10.89.0.9"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), 0);
        c = (struct container_network){.mode = "bridge", .subnet = "10.89.0.0/24", .address = "10.89.0.9"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), 0);
        /* A refused --subnet says why. */
        c = (struct container_network){.mode = "bridge", .subnet = "10.9.9.0/31"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--subnet: '10.9.9.0/31' is too small: a /31 leaves no address for a container "
                           "besides the bridge's (prefix length 8 to 30; a /30 holds one container)");
        c.subnet = "10.9.9.0/32";
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK(strstr(e.msg, "a /32 leaves no address for a container") != NULL);
        c.subnet = "10.0.0.0/7";
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--subnet: '10.0.0.0/7' is too large: sysprim allocates addresses from at most a /8 "
                           "(prefix length 8 to 30)");
        c.subnet = "127.0.0.0/8";
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK(strstr(e.msg, "'127.0.0.0/8' is not a unicast range") != NULL);
        c.subnet = "300.1.1.1/16";
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK(strstr(e.msg, "--subnet: invalid value '300.1.1.1/16' (expected") != NULL);
        c = (struct container_network){.mode = "bridge", .publish = {.items = (const char *[]){"70000:80"}, .count = 1}};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--publish: '70000:80': a port is a number from 1 to 65535");
        c = (struct container_network){.mode = "bridged"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--net: unknown mode 'bridged' (expected none, host or bridge)");
        c = (struct container_network){.mode = "bridge", .bridge = "a b"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK(strstr(e.msg, "--bridge: 'a b' has a space, which a bridge name cannot have") != NULL);
        c = (struct container_network){.mode = "bridge", .address = "10.0.0"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK_STREQ(e.msg, "--ip: '10.0.0' is not an IPv4 address (expected four numbers from 0 to 255 joined by "
                           "dots, such as 10.88.0.5)");
        c.address = "224.0.0.1";
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK(strstr(e.msg, "--ip: '224.0.0.1' is not a unicast address") != NULL);
        c = (struct container_network){.mode = "bridge", .subnet = "10.89.0.0/24", .address = "10.89.0.255"};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), -EINVAL);
        CHECK(strstr(e.msg, "--ip: '10.89.0.255' is the broadcast address of 10.89.0.0/24") != NULL);
        c = (struct container_network){.mode = NULL};
        CHECK_EQ_INT(network_options_parse(&c, &o, &e), 0);
        CHECK_EQ_INT(o.mode, NETWORK_MODE_NONE);
        CHECK(network_wants_namespace(&o));
        o.mode = NETWORK_MODE_HOST;
        CHECK(!network_wants_namespace(&o));
}

/* A stand-in for the container: a child in a new network namespace, waiting to be told to exit. */
struct fake_container {
        pid_t pid;
        int hold;   /* close to let it exit */
        int netns;
};

static struct fake_container container_start(void)
{
        int ready[2], hold[2];
        struct fake_container c = {.pid = -1, .hold = -1, .netns = -1};
        if (pipe(ready) < 0 || pipe(hold) < 0)
                return c;
        c.pid = fork();
        if (c.pid == 0) {
                close(hold[1]);
                char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
                if (write(ready[1], &ok, 1) != 1)
                        _exit(1);
                (void)read(hold[0], &ok, 1);
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        char ok = 0;
        if (read(ready[0], &ok, 1) != 1 || ok != 'y')
                c.pid = -1;
        close(ready[0]);
        c.hold = hold[1];
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c.pid);
        c.netns = open(path, O_RDONLY | O_CLOEXEC);
        return c;
}

static void container_stop(struct fake_container *c)
{
        if (c->hold >= 0)
                close(c->hold);
        if (c->netns >= 0)
                close(c->netns);
        if (c->pid > 0)
                waitpid(c->pid, NULL, 0);
        c->pid = -1;
        c->hold = c->netns = -1;
}

static int in_netns(int netns, int domain, int type)
{
        int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (netns >= 0 && setns(netns, CLONE_NEWNET) < 0)
                abort();
        int fd = socket(domain, type | SOCK_CLOEXEC, 0);
        if (setns(here, CLONE_NEWNET) < 0)
                abort();
        close(here);
        return fd;
}

static int tcp_listen(int netns, const char *addr, int port)
{
        int fd = in_netns(netns, AF_INET, SOCK_STREAM);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static int tcp_connect(int netns, const char *addr, int port)
{
        int fd = in_netns(netns, AF_INET, SOCK_STREAM);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int saved = errno;
                close(fd);
                errno = saved;
                return -1;
        }
        return fd;
}

static bool link_exists(const char *name)
{
        struct netlink nl;
        struct err e = {0};
        if (netlink_open(&nl, &e) < 0)
                return false;
        bool exists = netlink_link_index(&nl, name, &e) > 0;
        netlink_close(&nl);
        return exists;
}

static bool file_contains(const char *path, const char *text)
{
        _cleanup_free_ char *content = NULL;
        size_t len;
        return util_read_file(path, &content, &len) == 0 && strstr(content, text) != NULL;
}

static bool nat_table_present(void)
{
        return system("nft list table ip sysprim_tsp0 >/dev/null 2>&1") == 0;
}

static void test_bridge(void)
{
        struct err e = {0};
        struct network_options o = bridge_options();
        o.name = "web";
        struct network net = NETWORK_INIT;
        CHECK_EQ_INT(network_prepare(&net, &o, "hostname-unused", &e), 0);
        CHECK_EQ_INT(ntohl(net.address.s_addr), 0x0ad20002);
        CHECK(link_exists("tsp0"));
        CHECK(file_contains(state_file("tsp0.state"), "container 10.210.0.2 "));
        CHECK(net.hosts && strstr(net.hosts, "10.210.0.2\tweb\n"));
        CHECK(net.hosts && strstr(net.hosts, "127.0.0.1\tlocalhost\n"));
        CHECK(net.hosts && strstr(net.hosts, "10.210.0.1\thost.sysprim.internal\n"));

        /* A fixed address that is taken is refused; a free one is granted. */
        struct network other = NETWORK_INIT;
        struct network_options fixed = bridge_options();
        network_parse_ip("10.210.0.2", &fixed.ip);
        CHECK_EQ_INT(network_prepare(&other, &fixed, "x", &e), -EADDRINUSE);
        CHECK(strstr(e.msg, "in use") != NULL);
        network_release(&other);
        network_parse_ip("10.210.0.77", &fixed.ip);
        CHECK_EQ_INT(network_prepare(&other, &fixed, "x", &e), 0);
        CHECK_EQ_INT(ntohl(other.address.s_addr), 0x0ad2004d);
        /* Another subnet for a bridge in use is refused. */
        struct network third = NETWORK_INIT;
        struct network_options wrong = bridge_options();
        network_parse_subnet("10.211.0.0/24", &wrong.subnet);
        CHECK_EQ_INT(network_prepare(&third, &wrong, "x", &e), -EEXIST);
        CHECK(strstr(e.msg, "in use with subnet 10.210.0.0/24") != NULL);
        network_release(&third);
        network_release(&other);

        /* Attach to a "container": eth0 with the address, reachable both ways. */
        struct fake_container c = container_start();
        CHECK(c.pid > 0);
        CHECK_EQ_INT(network_attach(&net, c.pid, &e), 0);
        CHECK(link_exists(net.host_veth));
        int inside = tcp_listen(c.netns, "10.210.0.2", 7100);
        CHECK(inside >= 0);
        int fd = tcp_connect(-1, "10.210.0.2", 7100);
        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        int host = tcp_listen(-1, "10.210.0.1", 7101);
        fd = tcp_connect(c.netns, "10.210.0.1", 7101);
        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        close(inside);
        close(host);
        if (system("command -v ip >/dev/null 2>&1") == 0) {
                char cmd[320];
                snprintf(cmd, sizeof(cmd),
                         "nsenter -t %d -n ip route | grep -q 'default via 10.210.0.1 dev eth0' && "
                         "nsenter -t %d -n ip link show eth0 | grep -q 02:73:0a:d2:00:02 && "
                         "ip -d link show %s | grep -q 'master tsp0'",
                         (int)c.pid, (int)c.pid, net.host_veth);
                CHECK_EQ_INT(system(cmd), 0);
        }

        char veth[16];
        snprintf(veth, sizeof(veth), "%s", net.host_veth);
        network_release(&net);
        network_release(&net); /* idempotent */
        CHECK(!link_exists(veth));
        CHECK(!link_exists("tsp0"));
        CHECK(access(state_file("tsp0.state"), F_OK) < 0);
        container_stop(&c);
}

/* Ten processes start at the same moment: ten different addresses. */
static void test_parallel_allocation(void)
{
        enum { N = 10 };
        int results[2], go[2], hold[2];
        CHECK_EQ_INT(pipe(results), 0);
        CHECK_EQ_INT(pipe(go), 0);
        CHECK_EQ_INT(pipe(hold), 0);
        pid_t pids[N];
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        close(go[1]);
                        close(hold[1]);
                        char c;
                        (void)read(go[0], &c, 1); /* all start together when the pipe closes */
                        struct err e = {0};
                        struct network_options o = bridge_options();
                        struct network net = NETWORK_INIT;
                        uint32_t got = 0;
                        if (network_prepare(&net, &o, "p", &e) == 0)
                                got = net.address.s_addr;
                        else
                                fprintf(stderr, "child: %s\n", e.msg);
                        if (write(results[1], &got, sizeof(got)) != sizeof(got))
                                _exit(1);
                        /* Hold the address until every sibling has one. */
                        (void)read(hold[0], &c, 1);
                        network_release(&net);
                        _exit(0);
                }
        }
        close(go[0]);
        close(hold[0]);
        close(results[1]);
        close(go[1]);
        uint32_t got[N];
        for (int i = 0; i < N; i++)
                CHECK_EQ_INT(read(results[0], &got[i], sizeof(got[i])), sizeof(got[i]));
        close(results[0]);
        close(hold[1]);
        for (int i = 0; i < N; i++) {
                CHECK(got[i] != 0);
                for (int j = 0; j < i; j++)
                        CHECK(got[i] != got[j]);
        }
        for (int i = 0; i < N; i++)
                waitpid(pids[i], NULL, 0);
        CHECK(!link_exists("tsp0"));
        CHECK(access(state_file("tsp0.state"), F_OK) < 0);
        CHECK(access(state_file("tsp0.lock"), F_OK) < 0);
}

/* A `sysprim run` that dies without releasing: the next one reclaims its address and veth. */
/* A bridge left by a run killed before it could record it is recognised by its MAC and adopted; any
 * other bridge of that name is refused. */
static void test_unrecorded_bridge(void)
{
        struct netlink nl;
        struct err e = {0};
        CHECK_EQ_INT(netlink_open(&nl, &e), 0);
        const uint8_t ours[6] = {0x02, 0x73, 0x0a, 0xd2, 0x00, 0x01}, foreign[6] = {0x02, 0, 0, 0, 0, 1};
        struct network_options o = bridge_options();
        struct network net = NETWORK_INIT;
        CHECK_EQ_INT(netlink_bridge_create(&nl, "tsp0", foreign, &e), 0);
        CHECK_EQ_INT(network_prepare(&net, &o, "x", &e), -EEXIST);
        CHECK(strstr(e.msg, "not made by sysprim") != NULL);
        CHECK(link_exists("tsp0")); /* left alone */
        CHECK_EQ_INT(netlink_link_delete(&nl, "tsp0", &e), 0);
        CHECK_EQ_INT(netlink_bridge_create(&nl, "tsp0", ours, &e), 0);
        CHECK_EQ_INT(network_prepare(&net, &o, "x", &e), 0);
        uint8_t mac[6];
        CHECK(netlink_link_mac(&nl, "tsp0", mac, &e) > 0);
        CHECK_EQ_INT(memcmp(mac, ours, 6), 0);
        network_release(&net);
        CHECK(!link_exists("tsp0")); /* adopted, so removed with its last container */
        netlink_close(&nl);
}

static void test_stale_owner(void)
{
        struct fake_container c = container_start();
        pid_t owner = fork();
        if (owner == 0) {
                struct err e = {0};
                struct network_options o = bridge_options();
                struct network net = NETWORK_INIT;
                if (network_prepare(&net, &o, "p", &e) < 0 || network_attach(&net, c.pid, &e) < 0)
                        _exit(1);
                _exit(0); /* no release: as if killed */
        }
        int status = -1;
        waitpid(owner, &status, 0);
        CHECK_EQ_INT(status, 0);
        CHECK(link_exists("sp0ad20002"));
        struct err e = {0};
        struct network_options o = bridge_options();
        struct network net = NETWORK_INIT;
        CHECK_EQ_INT(network_prepare(&net, &o, "p", &e), 0);
        CHECK_EQ_INT(ntohl(net.address.s_addr), 0x0ad20002);
        CHECK(!link_exists("sp0ad20002")); /* the dead owner's pair is gone */
        network_release(&net);
        CHECK(!link_exists("tsp0"));
        container_stop(&c);
}

static void test_nat(void)
{
        if (system("command -v nft >/dev/null 2>&1") != 0) {
                printf("note: nft not installed, NAT part not run\n");
                return;
        }
        util_write_file("/proc/sys/net/ipv4/ip_forward", "0");
        struct err e = {0};
        struct network_options o = bridge_options();
        o.nat = 1;
        struct network a = NETWORK_INIT, b = NETWORK_INIT;
        CHECK_EQ_INT(network_prepare(&a, &o, "a", &e), 0);
        CHECK(nat_table_present());
        CHECK(system("nft list table ip sysprim_tsp0 | grep -q 'ip saddr 10.210.0.0/24 ip daddr != "
                     "10.210.0.0/24 masquerade'") == 0);
        CHECK(file_contains("/proc/sys/net/ipv4/ip_forward", "1"));
        CHECK_EQ_INT(network_prepare(&b, &o, "b", &e), 0); /* added once */
        CHECK_EQ_INT(system("test $(nft list table ip sysprim_tsp0 | grep -c masquerade) = 1"), 0);
        network_release(&a);
        CHECK(nat_table_present()); /* b still uses it */
        network_release(&b);
        CHECK(!nat_table_present());
        CHECK(file_contains("/proc/sys/net/ipv4/ip_forward", "0"));

        /* Two bridges with NAT: forwarding stays on until the last of them is gone. */
        struct network_options other = {.mode = NETWORK_MODE_BRIDGE, .bridge = "tsp1", .nat = 1};
        CHECK_EQ_INT(network_parse_subnet("10.230.0.0/24", &other.subnet), 0);
        CHECK_EQ_INT(network_prepare(&a, &o, "a", &e), 0);
        CHECK_EQ_INT(network_prepare(&b, &other, "b", &e), 0);
        CHECK(file_contains("/proc/sys/net/ipv4/ip_forward", "1"));
        network_release(&a);
        CHECK(file_contains("/proc/sys/net/ipv4/ip_forward", "1"));
        CHECK(system("nft list table ip sysprim_tsp1 >/dev/null 2>&1") == 0);
        network_release(&b);
        CHECK(file_contains("/proc/sys/net/ipv4/ip_forward", "0"));
        CHECK(system("nft list table ip sysprim_tsp1 >/dev/null 2>&1") != 0);
        CHECK(access(state_file("ip-forward.state"), F_OK) < 0);

        /* Forwarding that was on before is left on. */
        util_write_file("/proc/sys/net/ipv4/ip_forward", "1");
        CHECK_EQ_INT(network_prepare(&a, &o, "a", &e), 0);
        network_release(&a);
        CHECK(file_contains("/proc/sys/net/ipv4/ip_forward", "1"));
        util_write_file("/proc/sys/net/ipv4/ip_forward", "0");
}

static void test_publish(void)
{
        struct err e = {0};
        struct network_options o = bridge_options();
        CHECK_EQ_INT(network_parse_publish("127.0.0.1:18080:80", &o.publish), 0);
        struct network net = NETWORK_INIT;
        CHECK_EQ_INT(network_prepare(&net, &o, "p", &e), 0);
        struct fake_container c = container_start();
        CHECK_EQ_INT(network_attach(&net, c.pid, &e), 0);
        int server = tcp_listen(c.netns, "0.0.0.0", 80);
        CHECK(server >= 0);
        int client = tcp_connect(-1, "127.0.0.1", 18080);
        CHECK(client >= 0);
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        int accepted = accept(server, (struct sockaddr *)&from, &len);
        CHECK(accepted >= 0);
        char buf[64] = "";
        /* Both directions, then a half-close that must reach the other end. */
        CHECK_EQ_INT(write(client, "ping", 4), 4);
        CHECK_EQ_INT(read(accepted, buf, sizeof(buf)), 4);
        CHECK_EQ_INT(memcmp(buf, "ping", 4), 0);
        /* 1 MiB back, more than the relay's buffer. */
        static char big[1 << 20];
        memset(big, 'x', sizeof(big));
        CHECK_EQ_INT(util_write_all(accepted, big, sizeof(big)), 0);
        shutdown(accepted, SHUT_WR);
        size_t total = 0;
        ssize_t n;
        while ((n = read(client, big, sizeof(big))) > 0)
                total += (size_t)n;
        CHECK_EQ_INT(total, sizeof(big));
        close(client);
        close(accepted);
        close(server);
        /* Nobody listening inside: the client is dropped, not hung. */
        client = tcp_connect(-1, "127.0.0.1", 18080);
        CHECK(client >= 0);
        CHECK_EQ_INT(read(client, buf, sizeof(buf)), 0);
        close(client);
        network_release(&net);
        CHECK(tcp_connect(-1, "127.0.0.1", 18080) < 0);
        container_stop(&c);
        CHECK(!link_exists("tsp0"));
}

static void test_files(void)
{
        struct err e = {0};
        struct network_options o = {.mode = NETWORK_MODE_NONE};
        struct network net = NETWORK_INIT;
        CHECK_EQ_INT(network_prepare(&net, &o, "box", &e), 0);
        CHECK(net.hosts && strstr(net.hosts, "127.0.1.1\tbox\n"));
        CHECK(net.resolv_conf && strstr(net.resolv_conf, "# sysprim run: the host's"));

        /* In a child with its own mount namespace and /dev, as the container's set-up has them. */
        _cleanup_free_ char *before = NULL;
        size_t len;
        CHECK_EQ_INT(util_read_file("/etc/hosts", &before, &len), 0);
        pid_t child = fork();
        if (child == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0)
                        _exit(2);
                struct err ce = {0};
                if (network_mount_files(&net, false, &ce) < 0) {
                        fprintf(stderr, "%s\n", ce.msg);
                        _exit(3);
                }
                if (!file_contains("/etc/hosts", "127.0.1.1\tbox\n"))
                        _exit(4);
                if (access("/etc/resolv.conf", F_OK) == 0 && !file_contains("/etc/resolv.conf", "# sysprim run"))
                        _exit(5);
                if (open("/etc/hosts", O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS)
                        _exit(6); /* read-only inside */
                if (access("/dev/.sysprim-hosts", F_OK) == 0)
                        _exit(7); /* the staging file is gone */
                _exit(0);
        }
        int status = -1;
        waitpid(child, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK_EQ_INT(WEXITSTATUS(status), 0);
        /* A copy-on-write root (here: an empty tmpfs over /etc) gets the files written, /etc/hosts
         * created where it was missing. */
        child = fork();
        if (child == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", "/etc", "tmpfs", 0, "mode=0755") < 0 || symlink("../nowhere", "/etc/resolv.conf") < 0)
                        _exit(2);
                struct err ce = {0};
                if (network_mount_files(&net, true, &ce) < 0) {
                        fprintf(stderr, "%s\n", ce.msg);
                        _exit(3);
                }
                struct stat st;
                if (!file_contains("/etc/hosts", "127.0.1.1\tbox\n") || lstat("/etc/resolv.conf", &st) < 0 ||
                    !S_ISREG(st.st_mode) || !file_contains("/etc/resolv.conf", "# sysprim run"))
                        _exit(4);
                _exit(0);
        }
        status = -1;
        waitpid(child, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK_EQ_INT(WEXITSTATUS(status), 0);
        _cleanup_free_ char *after = NULL;
        CHECK_EQ_INT(util_read_file("/etc/hosts", &after, &len), 0);
        CHECK_STREQ(after, before); /* the host's file is untouched */
        network_release(&net);
        CHECK(net.hosts == NULL);

        /* --net host: the host's names and resolvers, plus the container's name. */
        o.mode = NETWORK_MODE_HOST;
        CHECK_EQ_INT(network_prepare(&net, &o, "hostbox", &e), 0);
        CHECK(net.hosts && strstr(net.hosts, before) == net.hosts);
        CHECK(net.hosts && strstr(net.hosts, "127.0.1.1\thostbox\n"));
        network_release(&net);
}

int main(void)
{
        test_parsing();
        if (geteuid() != 0)
                TEST_SKIP("needs root (network and mount namespaces)");
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                TEST_SKIP("cannot create network and mount namespaces");
        /* Our own /run: the state files of this test live and die with it. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0)
                TEST_SKIP("cannot mount a private /run");
        struct netlink nl;
        struct err e = {0};
        if (netlink_open(&nl, &e) < 0 || netlink_link_set_up(&nl, "lo", true, &e) < 0)
                TEST_SKIP("cannot bring lo up in a private namespace");
        netlink_close(&nl);

        test_bridge();
        test_parallel_allocation();
        test_unrecorded_bridge();
        test_stale_owner();
        test_nat();
        test_publish();
        test_files();
        TEST_DONE();
}
