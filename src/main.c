/* The dispatcher: picks the applet from argv[0] (busybox style, also "sysprim-NAME") or argv[1],
 * and hands it the rest of the command line. */
#include "sysprim/applet.h"
#include "sysprim/log.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
        if (log_init_from_env() < 0)
                log_warn("SYSPRIM_LOG: unknown level (use error, warn, info or debug); using warn");
        const struct applet *applet = argc > 0 ? applet_find(base_name(argv[0])) : NULL;
        if (applet == NULL) {
                if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                        applet_print_list(stdout);
                        return EXIT_OK;
                }
                if (strcmp(argv[1], "--version") == 0) {
                        printf("sysprim %s\n", SYSPRIM_VERSION);
                        return EXIT_OK;
                }
                if (strcmp(argv[1], "--list") == 0) {
                        for (size_t i = 0; applet_table[i]; i++)
                                printf("%s\n", applet_table[i]->name);
                        return EXIT_OK;
                }
                applet = applet_find(argv[1]);
                if (applet == NULL) {
                        if (argv[1][0] == '-')
                                log_error("unknown option '%s'", argv[1]);
                        else
                                log_error("unknown applet '%s'", argv[1]);
                        applet_print_list(stderr);
                        return EXIT_USAGE;
                }
                argc--;
                argv++;
        }
        log_set_applet(applet->name);
        return applet->main(argc, argv);
}
