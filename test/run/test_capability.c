/* Unit test of the `run` applet's capability names (applets/run/capability.c): names with and without
 * the cap_ prefix in any case, ALL, unknown names, and Docker's default set. */
#include "capability.h"
#include "container.h"
#include "test.h"

int main(void)
{
        uint64_t bits = 0;
        CHECK(capability_parse("CHOWN", &bits) == 0 && bits == UINT64_C(1) << 0);
        CHECK(capability_parse("cap_sys_admin", &bits) == 0 && bits == UINT64_C(1) << 21);
        CHECK(capability_parse("Net_Admin", &bits) == 0 && bits == UINT64_C(1) << 12);
        CHECK(capability_parse("CAP_CHECKPOINT_RESTORE", &bits) == 0 && bits == UINT64_C(1) << 40);
        CHECK(capability_parse("all", &bits) == 0 && bits == capability_all());
        CHECK(capability_all() >= (UINT64_C(1) << 38) - 1); /* every kernel this runs on knows 0..37 */
        CHECK(capability_parse("fly", &bits) < 0);
        CHECK(capability_parse("", &bits) < 0);
        CHECK(capability_parse("cap_", &bits) < 0);
        /* Docker's default set, by name. */
        const char *docker[] = { "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid",
                                 "setpcap", "net_bind_service", "net_raw", "sys_chroot",
                                 "audit_write", "setfcap" }; /* Docker's, but mknod (see container.h) */
        uint64_t set = 0;
        for (size_t i = 0; i < sizeof(docker) / sizeof(docker[0]); i++) {
                CHECK(capability_parse(docker[i], &bits) == 0);
                set |= bits;
        }
        CHECK(set == CONTAINER_DEFAULT_CAPABILITIES);
        TEST_DONE();
}
