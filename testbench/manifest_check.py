"""What both outside test benches (icarus_check.py for the units,
stream_check.py for the stream engines) need to read a manifest: its
error type, the checks on its values, SPEC section 2's hex vectors, and
finding the manifest in a design directory."""

import os


class ManifestError(Exception):
    """The manifest is missing, unreadable or does not follow the SPEC."""


def require(cond, msg):
    if not cond:
        raise ManifestError(msg)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)   # JSON true is not 1


def bit(v, i):
    return (v >> i) & 1


def parse_hex_vector(text, n, what):
    """SPEC section 2: "0x" + exactly ceil(n/4) hex digits, MSB first."""
    digits = (n + 3) // 4
    require(isinstance(text, str) and text.startswith("0x") and len(text) == 2 + digits,
            f"{what}: want a \"0x\" hex string of {digits} digits, got {text!r}")
    try:
        value = int(text[2:], 16)
    except ValueError:
        raise ManifestError(f"{what}: not hexadecimal: {text!r}") from None
    require(value >> n == 0, f"{what}: has bits set above bit {n - 1}")
    return value


def find_manifest(arg, kind):
    """A `kind` directory (or a manifest path) -> the manifest's path."""
    if os.path.isfile(arg) and arg.endswith(".json"):
        return arg
    if not os.path.isdir(arg):
        raise ManifestError(f"{arg}: no such {kind} directory")
    found = [f for f in os.listdir(arg) if f.endswith(".json")]
    if len(found) != 1:
        raise ManifestError(f"{arg}: expected exactly one manifest .json, found {len(found)}")
    return os.path.join(arg, found[0])
