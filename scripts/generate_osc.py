"""Generate the OSC dispatcher table and reference page from osc/address_space.json.

    python scripts/generate_osc.py          # rewrite both
    python scripts/generate_osc.py --check  # exit 1 if either is out of date (the tests do this)
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "osc" / "address_space.json"
TABLE = ROOT / "livemusic_kernel" / "_osc_table.py"
REFERENCE = ROOT / "osc" / "REFERENCE.md"


def build(spec: dict) -> tuple[str, str]:
    lines = ['"""The OSC dispatcher table. Generated from osc/address_space.json by',
             'scripts/generate_osc.py: edit the JSON, not this file."""', "",
             "from ._osc_spec import Address, Arg", "", "ADDRESSES: tuple[Address, ...] = ("]
    page = ["# The /lmk OSC address space", "", spec["about"], "",
            "Every message that fails gets `/lmk/error <address> <reason>` back, to the sender.", ""]
    for group in spec["groups"]:
        page += [f"## {group['name'].capitalize()}", "", "| address | arguments | what it does |", "|---|---|---|"]
        for entry in group["addresses"]:
            args = ", ".join(
                f"Arg({a[0]!r}, {a[1]!r}" + (f", {a[2]!r})" if len(a) > 2 else ")") for a in entry["args"])
            lines.append(f"    Address({entry['address']!r}, ({args}{',' if len(entry['args']) == 1 else ''}), "
                         f"{entry['handler']!r}, {bool(entry.get('timed'))!r}),")
            shown = " ".join((f"[{a[0]}:{a[1]}={a[2]}]" if len(a) > 2 else
                              ("..." if a[1] == "*" else f"{a[0]}:{a[1]}")) for a in entry["args"])
            timed = " Timed." if entry.get("timed") else ""
            page.append(f"| `{entry['address']}` | {shown or '-'} | {entry['doc']}{timed} |")
        page.append("")
    lines += [")", ""]
    return "\n".join(lines), "\n".join(page)


def main() -> int:
    table, page = build(json.loads(SPEC.read_text()))
    if "--check" in sys.argv:
        stale = [p.name for p, text in ((TABLE, table), (REFERENCE, page)) if not p.exists() or p.read_text() != text]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python scripts/generate_osc.py", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(table)
    REFERENCE.write_text(page)
    print(f"wrote {TABLE.relative_to(ROOT)} and {REFERENCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
