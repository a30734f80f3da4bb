#!/usr/bin/env bash
# Dispatch through both paths (subcommand and symlink), the applet list, --version and usage errors.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"

version=$(sed -n "s/^ *version: '\(.*\)',$/\1/p" "$SYSPRIM_SOURCE_ROOT/meson.build" | head -1)
testing "--version" "'$SYSPRIM' --version" "sysprim $version"
testing "--list matches the built applets" "'$SYSPRIM' --list | tr '\n' ' ' | sed 's/ \$//'" "${SYSPRIM_APPLETS:-}"
testing "no argument lists applets" "'$SYSPRIM' | head -1" \
        "Usage: sysprim APPLET [ARGS...]   or   APPLET [ARGS...] through a link named after it"
testing "--help equals no argument" "diff <('$SYSPRIM') <('$SYSPRIM' --help) && echo same" "same"
testing "unknown applet: message" "'$SYSPRIM' nosuch 2>&1 >/dev/null | head -1" "sysprim: unknown applet 'nosuch'"
testing "unknown applet: exit 2" "'$SYSPRIM' nosuch >/dev/null 2>&1" "" 2
testing "unknown applet: list on stderr" "'$SYSPRIM' nosuch 2>&1 >/dev/null | grep -c '^Applets:'" "1"
testing "unknown top-level option: exit 2" "'$SYSPRIM' --frobnicate 2>&1" \
        "$("$SYSPRIM" --frobnicate 2>&1)" 2
testing "unknown top-level option: message" "'$SYSPRIM' --frobnicate 2>&1 | head -1" \
        "sysprim: unknown option '--frobnicate'"
# A link named after something that is not an applet falls back to argv[1].
ln -s "$SYSPRIM" "$E2E_TMP/other-name"
testing "unknown link name falls back to argv[1]" "'$E2E_TMP/other-name' --version" "sysprim $version"

applet_links "$E2E_TMP/bin"
for name in ${SYSPRIM_APPLETS:-}; do
        for line in $("$SYSPRIM" --list); do [ "$line" = "$name" ] && found=1; done
        testing "$name: listed in --help" "'$SYSPRIM' --help | grep -c '^  $name '" "1"
        testing "$name --help via subcommand" "'$SYSPRIM' $name --help | head -1 | cut -d' ' -f1-3" \
                "Usage: sysprim $name"
        testing "$name --help via symlink equals subcommand" \
                "diff <('$E2E_TMP/bin/$name' --help) <('$SYSPRIM' $name --help) && echo same" "same"
        testing "$name --help via sysprim-$name symlink" \
                "diff <('$E2E_TMP/bin/sysprim-$name' --help) <('$SYSPRIM' $name --help) && echo same" "same"
        testing "$name: unknown option exits 2" "'$E2E_TMP/bin/$name' --no-such-option >/dev/null 2>&1" "" 2
        testing "$name: unknown option names it" \
                "'$SYSPRIM' $name --no-such-option 2>&1 | head -1" "sysprim $name: unknown option '--no-such-option'"
        testing "$name: unknown option hints at --help" \
                "'$SYSPRIM' $name --no-such-option 2>&1 | tail -1" \
                "sysprim $name: try 'sysprim $name --help' for more information"
done
e2e_done
