/* Checks every registered applet's option table: no duplicate long or short names (also against the
 * built-in -h/--help, --quiet, --verbose), every entry has help, and --help fits in 80 columns. */
#include "sysprim/applet.h"
#include "sysprim/opt.h"
#include "capture.h"
#include "test.h"

int main(void)
{
        for (size_t a = 0; applet_table[a]; a++) {
                const struct applet *applet = applet_table[a];
                const struct opt *t = applet->options;
                CHECK(applet->summary != NULL && applet->main != NULL);
                CHECK(applet_find(applet->name) == applet);
                for (size_t i = 0; t && t[i].long_name; i++) {
                        if (t[i].help == NULL || t[i].help[0] == '\0') {
                                fprintf(stderr, "%s: --%s has no help\n", applet->name, t[i].long_name);
                                test_failures++;
                        }
                        if (strcmp(t[i].long_name, "help") == 0 || t[i].short_name == 'h') {
                                fprintf(stderr, "%s: --%s takes the built-in --help/-h\n", applet->name,
                                        t[i].long_name);
                                test_failures++;
                        }
                        for (size_t j = i + 1; t[j].long_name; j++) {
                                if (strcmp(t[i].long_name, t[j].long_name) == 0 ||
                                    (t[i].short_name && t[i].short_name == t[j].short_name)) {
                                        fprintf(stderr, "%s: --%s and --%s collide\n", applet->name, t[i].long_name,
                                                t[j].long_name);
                                        test_failures++;
                                }
                        }
                }
                struct capture out;
                capture_begin(&out, 1);
                opt_print_help(applet, stdout);
                const char *help = capture_end(&out);
                for (const char *line = help; *line;) {
                        const char *end = strchr(line, '\n');
                        size_t len = end ? (size_t)(end - line) : strlen(line);
                        if (len > 80) {
                                fprintf(stderr, "%s --help: line over 80 columns: %.*s\n", applet->name, (int)len,
                                        line);
                                test_failures++;
                        }
                        line += len + (end ? 1 : 0);
                }
        }
        CHECK(applet_find("sysprim-nosuch") == NULL);
        CHECK(applet_find(NULL) == NULL);
        TEST_DONE();
}
