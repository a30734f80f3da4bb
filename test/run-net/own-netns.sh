# Sourced first (before test/e2e/lib.sh) by a run-net test that runs in a network namespace of its own:
# ip_forward, NAT tables, policy rules and sysprim's records are per namespace, and tests beside it
# (net-leftover's NAT container, say) change the host's. Re-executes the test under `unshare --net`
# and brings lo up there.
if [ "$(id -u)" = 0 ] && [ -z "${RUN_NET_OWN_NETNS:-}" ] && command -v unshare >/dev/null; then
        RUN_NET_OWN_NETNS=1 exec unshare --net "$BASH" "$0" "$@"
fi
[ -n "${RUN_NET_OWN_NETNS:-}" ] && ip link set lo up
