"""Writes a tiny static 32-bit x86 (i386) program to the path given: it calls keyctl (288, through
int 0x80) for the session keyring and prints "EPERM" when that is refused, "other" otherwise, then
exits 0. For run's seccomp test: the default filter must apply its rules to this ABI too, not kill it.
Hand-assembled, so the test needs no 32-bit compiler."""
import struct, sys
base = 0x08048000
code_off = 52 + 32
def build():
    c = bytearray()
    c += b'\xb8' + struct.pack('<I', 288)          # mov eax, 288 (keyctl)
    c += b'\xbb' + struct.pack('<I', 0)            # mov ebx, KEYCTL_GET_KEYRING_ID
    c += b'\xb9' + struct.pack('<i', -3)           # mov ecx, KEY_SPEC_SESSION_KEYRING
    c += b'\xba' + struct.pack('<I', 1)            # mov edx, 1 (create)
    c += b'\xcd\x80'                               # int 0x80
    c += b'\x83\xf8\xff'                           # cmp eax, -1 (-EPERM)
    jne_at = len(c); c += b'\x75\x00'              # jne other
    mov1_at = len(c); c += b'\xb9' + b'\0\0\0\0'   # mov ecx, msg_eperm
    jmp_at = len(c); c += b'\xeb\x00'              # jmp out
    other = len(c); mov2_at = len(c); c += b'\xb9' + b'\0\0\0\0'  # mov ecx, msg_other
    out = len(c)
    c += b'\xb8' + struct.pack('<I', 4)            # mov eax, 4 (write)
    c += b'\xbb' + struct.pack('<I', 1)            # mov ebx, 1
    c += b'\xba' + struct.pack('<I', 6)            # mov edx, 6
    c += b'\xcd\x80'
    c += b'\xb8' + struct.pack('<I', 1)            # mov eax, 1 (exit)
    c += b'\x31\xdb'                               # xor ebx, ebx
    c += b'\xcd\x80'
    eperm = len(c); c += b'EPERM\n'
    oth = len(c); c += b'other\n'
    c[jne_at + 1] = other - (jne_at + 2)
    c[jmp_at + 1] = out - (jmp_at + 2)
    c[mov1_at + 1:mov1_at + 5] = struct.pack('<I', base + code_off + eperm)
    c[mov2_at + 1:mov2_at + 5] = struct.pack('<I', base + code_off + oth)
    return bytes(c)
code = build()
size = code_off + len(code)
ehdr = b'\x7fELF\x01\x01\x01' + b'\0' * 9 + struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, base + code_off, 52, 0, 0, 52, 32, 1, 0, 0, 0)
phdr = struct.pack('<IIIIIIII', 1, 0, base, base, size, size, 5, 0x1000)
open(sys.argv[1], 'wb').write(ehdr + phdr + code)
