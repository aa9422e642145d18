"""Instructions per input byte in the main loop of each aarch64 CRC kernel.

    python tests/c/loop_cost.py OBJDUMP OBJECT

reads OBJDUMP -d OBJECT (the kernels' object file), finds in each kernel the innermost
loop that contains its defining instruction, and prints the loop's length in
instructions divided by the bytes one pass through it consumes. Under emulation this
count, not a time, is what can be said about speed: it is what the CPU must issue per
byte, before latencies and ports.
"""

import re
import subprocess
import sys

# functions that may hold the loop (the compiler decides what it inlines), the instruction
# that marks the main loop, bytes consumed per pass
KERNELS = [
    ("table", ("slice8", "crc32_table"), "ldr", 8),
    ("crc32", ("crc32_body", "crc32_crc32"), "crc32x", 24),
    ("pmull", ("crc32_pmull",), "pmull", 128),
    ("pmull-eor3", ("crc32_pmull_eor3",), "eor3", 128),
]
BRANCH = re.compile(r"^(b\.\w+|b|cbn?z|tbn?z)$")


def functions(listing):
    """{name: [(address, mnemonic, operands)]} from objdump -d output."""
    out, current = {}, None
    for line in listing.splitlines():
        head = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if head:
            current = out.setdefault(head.group(1), [])
            continue
        ins = re.match(r"^\s+([0-9a-f]+):\s+[0-9a-f]{8}\s+(\S+)\s*(.*)$", line)
        if ins and current is not None:
            current.append((int(ins.group(1), 16), ins.group(2), ins.group(3)))
    return out


def main_loop(body, marker):
    """The backward-branch loop densest in `marker`s, as a list of instructions: the
    unrolled main loop, not a tail loop for a few bytes nor a loop around both."""
    best, best_key = None, None
    for i, (addr, mnem, ops) in enumerate(body):
        if not BRANCH.match(mnem):
            continue
        target = re.search(r"\b([0-9a-f]+) <", ops)
        if not target or int(target.group(1), 16) > addr:
            continue
        start = int(target.group(1), 16)
        loop = [ins for ins in body if start <= ins[0] <= addr]
        count = sum(ins[1] in (marker, marker + "2") for ins in loop)  # pmull2 is a pmull too
        key = (count / len(loop), -len(loop))
        if key[0] and (best_key is None or key > best_key):
            best, best_key = loop, key
    return best


def main(argv):
    objdump, obj = argv
    listing = subprocess.run([objdump, "-d", obj], capture_output=True, text=True, check=True).stdout
    funcs = functions(listing)
    for kernel, names, marker, per_pass in KERNELS:
        loop = next((found for found in (main_loop(funcs.get(name, []), marker) for name in names) if found), None)
        if loop is None:
            sys.exit(f"{kernel}: no loop with {marker} found in {' or '.join(names)}")
        count = sum(ins[1] in (marker, marker + "2") for ins in loop)
        print(f"{kernel:<11} {len(loop):3d} instructions per {per_pass:3d} bytes = {len(loop) / per_pass:.3f} per byte "
              f"({count} x {marker})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
