#!/usr/bin/env bash
# `meson install` installs the binary and one symlink per applet, and the links agree with --list.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
need_cmd meson
DESTDIR="$E2E_TMP/root" meson install -C "$SYSPRIM_BUILD_ROOT" --no-rebuild --quiet >"$E2E_TMP/log" 2>&1 ||
        { cat "$E2E_TMP/log"; fail "meson install"; e2e_done; }
bindir=$(find "$E2E_TMP/root" -type f -name sysprim -printf '%h\n' | head -1)
check "binary installed" test -x "$bindir/sysprim"
links=$(find "$bindir" -maxdepth 1 -type l -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')
testing "one link per applet" "echo '$links'" "$("$SYSPRIM" --list | sort | tr '\n' ' ' | sed 's/ $//')"
for name in $links; do
        testing "link $name points at sysprim" "readlink '$bindir/$name'" "sysprim"
done
e2e_done
