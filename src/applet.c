/* The applet registry: the table generated from the applet folders present, lookup and listing.
 * Part of the dispatcher. */
#include "sysprim/applet.h"
#include "applet_list.h"

#include <string.h>

#define SYSPRIM_DECLARE_APPLET(cname) extern const struct applet cname##_applet;
#define SYSPRIM_REFERENCE_APPLET(cname) &cname##_applet,
SYSPRIM_APPLETS(SYSPRIM_DECLARE_APPLET)

const struct applet *const applet_table[] = { SYSPRIM_APPLETS(SYSPRIM_REFERENCE_APPLET) NULL };

const struct applet *applet_find(const char *name)
{
        if (name == NULL)
                return NULL;
        if (strncmp(name, "sysprim-", 8) == 0)
                name += 8;
        for (size_t i = 0; applet_table[i]; i++)
                if (strcmp(applet_table[i]->name, name) == 0)
                        return applet_table[i];
        return NULL;
}

void applet_print_list(FILE *out)
{
        fprintf(out, "Usage: sysprim APPLET [ARGS...]   or   APPLET [ARGS...] through a link named after it\n\n"
                     "Applets:\n");
        if (applet_table[0] == NULL)
                fprintf(out, "  (none built)\n");
        for (size_t i = 0; applet_table[i]; i++)
                fprintf(out, "  %-14s %s\n", applet_table[i]->name, applet_table[i]->summary);
        fprintf(out, "\n'sysprim APPLET --help' shows an applet's options. 'sysprim --version', "
                     "'sysprim --list'.\n");
}
