# run: the runtime exits with the command's status, 128+N for signal N, 127 not found, 126 not
# executable, 125 when the runtime itself failed, 2 for a usage error.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
expect "the command's status" 3 "" spr sh -c 'exit 3'
expect "success" 0 "" spr true
expect "not found: 127" 127 "" spr /no/such/command
expect_stderr "not found: message" "command not found"
expect "not found on PATH: 127" 127 "" spr nosuchcommand
# ENOENT from exec for a file that exists: what is missing is its #! interpreter or its ELF loader
# (still 127, as bash). The files are in a volume; the test root stays as it is.
mkdir -p "$E2E_TMP/commands"
printf '#!/no/such/interpreter\necho hello\n' >"$E2E_TMP/commands/no-interpreter"
chmod +x "$E2E_TMP/commands/no-interpreter"
commands=(-v "$E2E_TMP/commands:/commands:ro")
expect "a script whose interpreter is missing: 127" 127 "" spr "${commands[@]}" /commands/no-interpreter
expect_stderr "...says the interpreter or loader is missing" \
        "/commands/no-interpreter: cannot execute: required file not found (its #! interpreter"
check "...not that the command was not found" eval '! grep -q "command not found" "$E2E_TMP/err"'
expect "...found on PATH: 127" 127 "" spr "${commands[@]}" -e PATH=/commands:/bin no-interpreter
expect_stderr "...says the same" "no-interpreter: cannot execute: required file not found"
# A dynamically linked program of the host's: the busybox root has no ELF loader.
dynamic=$(command -v ls)
if ldd "$dynamic" >/dev/null 2>&1; then
        cp "$dynamic" "$E2E_TMP/commands/dynamic"
        expect "a program whose ELF loader is missing: 127" 127 "" spr "${commands[@]}" /commands/dynamic
        expect_stderr "...says the interpreter or loader is missing" "/commands/dynamic: cannot execute: required file not found"
fi
# A file the kernel will not run (not ELF for this machine, no #!) is not handed to /bin/sh as a
# script, as execvp would: "Exec format error", 126, as runc and crun.
printf '\177ELF\002\001\001\000garbage' >"$E2E_TMP/commands/bad-elf"
printf 'echo ran-as-a-script\n' >"$E2E_TMP/commands/no-shebang"
chmod +x "$E2E_TMP/commands/bad-elf" "$E2E_TMP/commands/no-shebang"
expect "an ELF it cannot run: 126" 126 "" spr "${commands[@]}" /commands/bad-elf
expect_stderr "...Exec format error" "/commands/bad-elf: cannot execute: Exec format error"
expect "a script without #!: 126, not run by /bin/sh" 126 "" spr "${commands[@]}" /commands/no-shebang
expect "...found on PATH: the same" 126 "" spr "${commands[@]}" -e PATH=/commands:/bin no-shebang
expect_stderr "...Exec format error" "no-shebang: cannot execute: Exec format error"
expect "not executable: 126" 126 "" spr /etc/passwd
expect_stderr "not executable: message" "cannot execute"
expect "a directory: 126" 126 "" spr /bin
expect "killed by SIGKILL: 137" 137 "" spr sh -c 'kill -KILL $$'
expect "killed by SIGSEGV: 139" 139 "" spr sh -c 'kill -SEGV $$'
expect "a missing root filesystem: 125" 125 "" sp --rootfs "$E2E_TMP/missing" true
expect_stderr "125: message names the directory" "root filesystem $E2E_TMP/missing"
expect "a file as root filesystem: 125" 125 "" sp --rootfs /etc/passwd true
expect "no command: usage error" 2 "" sp
expect "unknown option: usage error" 2 "" sp --bogus true
run_done
