#!/usr/bin/env python3
"""Independent Icarus Verilog check of generated mbnn designs.

Written only from SPEC.md sections 2-4 and the manifest JSON: expected values
are computed here, bit by bit, and never by the project's Rust code, so a bug
shared by the generator and its own reference model cannot hide.

    python3 testbench/icarus_check.py [--cycles N] [--seed S] [--keep] DIR...

Each DIR holds exactly one manifest <top>.json plus the Verilog files it lists.
Exit status: 0 all passed, 1 some failed, 2 bad usage/manifest/missing tools.

Timing convention (SPEC section 4): inputs are applied while clk is low and
sampled at the rising edge that ends cycle t; outputs are read just before the
rising edge of each cycle, so an input of cycle t shows up at cycle t + latency.
rst is synchronous: an input presented while rst = 1 is not accepted, and the
reset flushes every result still in flight.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

CONTROL_INPUTS = ("clk", "rst", "in_valid")
INITIAL_RESET = 3        # cycles of rst = 1 at the start
BUBBLE_RATE = 0.25       # share of cycles with in_valid = 0
SHOW_HEX_DIGITS = 40     # wide inputs are abbreviated in failure reports
SIM_TIMEOUT_S = 1800


class ManifestError(Exception):
    """The manifest is missing, unreadable or does not follow the SPEC."""


# --------------------------------------------------------------------------
# Manifest -> a small description of what the design computes


class Lane:
    """One dot product term: coeff * op(a, w) over n elements."""

    def __init__(self, op, a_port, w_port=None, w_const=None, coeff=1):
        self.op = op            # "pop", "and" or "xnor"
        self.a_port = a_port
        self.w_port = w_port    # input port name, or None
        self.w_const = w_const  # constant weight vector, or None
        self.coeff = coeff


class Design:
    def __init__(self, directory, path, manifest):
        self.dir = directory
        self.manifest_path = path
        self.top = manifest["top"]
        self.block = manifest["block"]
        self.latency = manifest["latency"]
        self.files = [os.path.join(directory, f) for f in manifest["files"]]
        self.params = manifest["params"]
        self.n = self.params["len"]
        self.ports = {p["name"]: p for p in manifest["ports"]}
        self.lanes = []


def find_manifest(arg):
    """A design directory (or a manifest path) -> the manifest's path."""
    if os.path.isfile(arg) and arg.endswith(".json"):
        return arg
    if not os.path.isdir(arg):
        raise ManifestError(f"{arg}: no such design directory")
    found = [f for f in os.listdir(arg) if f.endswith(".json")]
    if len(found) != 1:
        raise ManifestError(f"{arg}: expected exactly one manifest .json, found {len(found)}")
    return os.path.join(arg, found[0])


def parse_hex_vector(text, n, what):
    """SPEC section 2: "0x" + exactly ceil(n/4) hex digits, MSB first."""
    digits = (n + 3) // 4
    if not (isinstance(text, str) and text.startswith("0x") and len(text) == 2 + digits):
        raise ManifestError(f"{what}: want a \"0x\" hex string of {digits} digits, got {text!r}")
    try:
        value = int(text[2:], 16)
    except ValueError:
        raise ManifestError(f"{what}: not hexadecimal: {text!r}") from None
    if value >> n:
        raise ManifestError(f"{what}: has bits set above bit {n - 1}")
    return value


def require(cond, msg):
    if not cond:
        raise ManifestError(msg)


def build_lanes(d):
    """Turn the block's params into lanes; the SPEC section 3 table."""
    p, block = d.params, d.block
    const = p.get("weights_mode") == "const"
    if block == "popcount":
        return [Lane("pop", "a")]
    if block in ("xnor_pe", "and_pe"):
        op = "xnor" if block == "xnor_pe" else "and"
        if const:
            return [Lane(op, "a", w_const=parse_hex_vector(p.get("weights"), d.n, "params.weights"))]
        return [Lane(op, "a", w_port="w")]
    if block == "groupnet":
        k, lambdas = p.get("k"), p.get("lambdas")
        require(isinstance(k, int) and k >= 1, "params.k: want a positive integer")
        require(isinstance(lambdas, list) and len(lambdas) == k
                and all(isinstance(x, int) for x in lambdas),
                f"params.lambdas: want {k} integers")
        shared = p.get("shared_input")
        require(isinstance(shared, bool), "params.shared_input: want true or false")
        if const:
            weights = p.get("weights")
            require(isinstance(weights, list) and len(weights) == k,
                    f"params.weights: want a list of {k} hex vectors")
        lanes = []
        for i in range(k):
            a_port = "a" if shared else f"a{i}"
            if const:
                w = parse_hex_vector(weights[i], d.n, f"params.weights[{i}]")
                lanes.append(Lane("xnor", a_port, w_const=w, coeff=lambdas[i]))
            else:
                lanes.append(Lane("xnor", a_port, w_port=f"w{i}", coeff=lambdas[i]))
        return lanes
    raise ManifestError(f"block {block!r} is not supported by this checker")


def check_ports(d):
    """The manifest's ports must be exactly what the block's lanes drive."""
    for name in CONTROL_INPUTS:
        require(d.ports.get(name, {}).get("dir") == "in", f"ports: missing input {name!r}")
    for name in ("out_valid", "y"):
        require(d.ports.get(name, {}).get("dir") == "out", f"ports: missing output {name!r}")
    wanted = set()
    for lane in d.lanes:
        wanted.add(lane.a_port)
        if lane.w_port:
            wanted.add(lane.w_port)
    have = {n for n, p in d.ports.items() if p["dir"] == "in" and n not in CONTROL_INPUTS}
    require(have == wanted, f"ports: data inputs {sorted(have)} but block needs {sorted(wanted)}")
    for name in wanted:
        require(d.ports[name]["width"] == d.n,
                f"ports: {name!r} is {d.ports[name]['width']} bits, params.len is {d.n}")
    require(d.ports["y"]["width"] >= 1, "ports: y has no width")


def load_design(arg):
    path = find_manifest(arg)
    try:
        with open(path) as f:
            m = json.load(f)
        d = Design(os.path.dirname(path) or ".", path, m)
        require(isinstance(d.latency, int) and d.latency >= 1, "latency: want an integer >= 1")
        require(isinstance(d.n, int) and d.n >= 1, "params.len: want a positive integer")
        for p in d.ports.values():
            require(p["dir"] in ("in", "out") and isinstance(p["width"], int)
                    and isinstance(p["signed"], bool), f"ports: bad entry {p}")
        d.lanes = build_lanes(d)
        check_ports(d)
    except ManifestError as e:
        raise ManifestError(f"{path}: {e}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ManifestError(f"{path}: malformed manifest ({type(e).__name__}: {e})") from None
    for f in d.files:
        require(os.path.isfile(f), f"{path}: listed file {f} does not exist")
    return d


# --------------------------------------------------------------------------
# Reference model: plain integer arithmetic, one element at a time


def bit(v, i):
    return (v >> i) & 1


def lane_value(lane, a, w, n):
    if lane.op == "pop":
        return sum(bit(a, i) for i in range(n))
    if lane.op == "and":
        return sum(bit(a, i) * bit(w, i) for i in range(n))
    # +1/-1 dot product straight from the definition (1 = +1, 0 = -1); this
    # equals 2*popcount(~(a^w)) - n without relying on that identity.
    return sum((2 * bit(a, i) - 1) * (2 * bit(w, i) - 1) for i in range(n))


def expected_y(d, inputs):
    total = 0
    for lane in d.lanes:
        w = inputs[lane.w_port] if lane.w_port else lane.w_const
        total += lane.coeff * lane_value(lane, inputs[lane.a_port], w, d.n)
    return total


# --------------------------------------------------------------------------
# Stimulus: random data, corners, bubbles, one mid-stream reset


def data_ports(d):
    return sorted(n for n, p in d.ports.items() if p["dir"] == "in" and n not in CONTROL_INPUTS)


def extreme_inputs(d, rng, sign):
    """Inputs that push every lane's term towards sign * (largest |y|)."""
    ones = (1 << d.n) - 1
    inputs = {p: rng.getrandbits(d.n) for p in data_ports(d)}
    driven = set()                       # a shared `a` is set by its first lane only
    for lane in d.lanes:
        up = lane.coeff * sign >= 0
        if lane.op != "xnor":            # popcount/and: all ones or all zeros
            inputs[lane.a_port] = ones if up else 0
            if lane.w_port:
                inputs[lane.w_port] = ones
        elif lane.w_port:                # programmable: bend w to the (maybe shared) a
            a = inputs[lane.a_port]
            inputs[lane.w_port] = a if up else a ^ ones
        elif lane.a_port not in driven:  # constant w: bend a to w
            inputs[lane.a_port] = lane.w_const if up else lane.w_const ^ ones
        driven.add(lane.a_port)
    return inputs


def corner_inputs(d, rng):
    ones = (1 << d.n) - 1
    ports = data_ports(d)
    return [{p: 0 for p in ports}, {p: ones for p in ports},
            extreme_inputs(d, rng, +1), extreme_inputs(d, rng, -1)]


def make_stimulus(d, cycles, rng):
    """Per-cycle rst, in_valid and data; corners right after the first reset."""
    corners = corner_inputs(d, rng)
    corners_end = INITIAL_RESET + len(corners)
    reset_at = max(cycles // 2, corners_end + d.latency + 2)
    reset_len = rng.randint(1, 3)
    minimum = reset_at + reset_len + d.latency + 2
    if cycles < minimum:
        raise ManifestError(f"{d.top}: --cycles must be at least {minimum} for latency {d.latency}")
    stim = []
    for c in range(cycles):
        inputs = {p: rng.getrandbits(d.n) for p in data_ports(d)}
        valid = int(rng.random() >= BUBBLE_RATE)
        if INITIAL_RESET <= c < corners_end:
            inputs, valid = corners[c - INITIAL_RESET], 1
        # keep the pipeline full before the reset so the flush is observable
        if reset_at - d.latency - 1 <= c < reset_at:
            valid = 1
        rst = int(c < INITIAL_RESET or reset_at <= c < reset_at + reset_len)
        stim.append({"rst": rst, "in_valid": valid, "data": inputs})
    return stim


def expected_trace(d, stim, latency):
    """Expected (out_valid, y) per cycle; None before the first reset acts."""
    trace = []
    for c in range(len(stim)):
        if c < INITIAL_RESET:
            trace.append(None)           # registers are still X
            continue
        src = c - latency
        valid = (src >= 0 and stim[src]["in_valid"] == 1
                 and not any(s["rst"] for s in stim[src:c]))
        y = expected_y(d, stim[src]["data"]) if valid else None
        trace.append((int(valid), y))
    return trace


# --------------------------------------------------------------------------
# Verilog test bench, simulation and output parsing


def vrange(width):
    return f"[{width - 1}:0] "


def write_testbench(d, stim, workdir):
    """One $readmemh file per input port, one word per cycle: any width works."""
    ins = ["rst", "in_valid"] + data_ports(d)
    for port in ins:
        digits = (d.ports[port]["width"] + 3) // 4
        with open(os.path.join(workdir, f"{port}.hex"), "w") as f:
            for s in stim:
                value = s[port] if port in ("rst", "in_valid") else s["data"][port]
                f.write(f"{value:0{digits}x}\n")
    n = len(stim)
    yw = d.ports["y"]["width"]
    decls = "\n".join(f"    reg {vrange(d.ports[p]['width'])}m_{p} [0:{n - 1}];\n"
                      f"    reg {vrange(d.ports[p]['width'])}d_{p};" for p in ins)
    loads = "\n".join(f'        $readmemh("{p}.hex", m_{p});' for p in ins)
    applies = "\n".join(f"            d_{p} = m_{p}[cyc];" for p in ins)
    conns = ",\n".join([f"        .clk(clk)"] + [f"        .{p}(d_{p})" for p in ins]
                       + ["        .out_valid(out_valid)", "        .y(y)"])
    tb = f"""// Generated by icarus_check.py for {d.top}
`timescale 1ns/1ps
module mbnn_icarus_tb;
    reg clk;
    wire out_valid;
    wire {vrange(yw)}y;
    integer cyc;
{decls}

    {d.top} dut (
{conns}
    );

    initial begin
{loads}
        clk = 1'b0;
        for (cyc = 0; cyc < {n}; cyc = cyc + 1) begin
            // drive while clk is low, read outputs just before the rising edge
{applies}
            #4 $display("CYC %0d %b %h", cyc, out_valid, y);
            #1 clk = 1'b1;
            #5 clk = 1'b0;
        end
        $finish;
    end
endmodule
"""
    path = os.path.join(workdir, "tb.v")
    with open(path, "w") as f:
        f.write(tb)
    return path


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=SIM_TIMEOUT_S)


def simulate(d, tb_path, workdir):
    """Compile and run; returns (list of (out_valid, y) text pairs, error)."""
    files = [os.path.abspath(f) for f in d.files]
    comp = run(["iverilog", "-g2001", "-s", "mbnn_icarus_tb", "-o", "sim.vvp", tb_path] + files,
               workdir)
    log = (comp.stdout + comp.stderr).strip()
    if comp.returncode != 0:
        return None, f"iverilog failed: {log.splitlines()[0] if log else comp.returncode}"
    # a port width warning means the manifest and the Verilog disagree
    port_warnings = [l for l in log.splitlines() if "warning" in l.lower() and "port" in l.lower()]
    if port_warnings:
        return None, f"iverilog: {port_warnings[0]}"
    sim = run(["vvp", "-n", "sim.vvp"], workdir)
    lines = (sim.stdout + sim.stderr).splitlines()
    rows = [l.split()[1:] for l in lines if l.startswith("CYC ")]
    # e.g. a short $readmemh file: the simulation ran but on wrong stimulus
    trouble = [l for l in lines if not l.startswith("CYC ")
               and ("warning" in l.lower() or "error" in l.lower())]
    if sim.returncode != 0 or trouble:
        return None, f"vvp: {trouble[0] if trouble else 'exit status ' + str(sim.returncode)}"
    return [(r[1], r[2]) for r in rows], None


def decode(valid_text, y_text, port):
    """Simulator text -> (out_valid or None, y or None); None means X/Z."""
    valid = int(valid_text) if valid_text in ("0", "1") else None
    try:
        y = int(y_text, 16)
    except ValueError:
        return valid, None
    if port["signed"] and bit(y, port["width"] - 1):
        y -= 1 << port["width"]
    return valid, y


def first_mismatch(trace, actual):
    for c, (exp, act) in enumerate(zip(trace, actual)):
        if exp is None:
            continue
        if act[0] != exp[0] or (exp[0] == 1 and act[1] != exp[1]):
            return c
    return None


def matching_latency(d, stim, actual):
    """On failure: would the results match with a different latency?"""
    for lat in range(1, d.latency + 6):
        if lat != d.latency and first_mismatch(expected_trace(d, stim, lat), actual) is None:
            return lat
    return None


# --------------------------------------------------------------------------
# Reporting


def short_hex(value, width):
    text = f"0x{value:0{(width + 3) // 4}x}"
    if len(text) > SHOW_HEX_DIGITS + 2:
        text = f"{text[:SHOW_HEX_DIGITS + 2]}...({width} bits)"
    return text


def describe_failure(d, stim, trace, actual, c):
    exp, act = trace[c], actual[c]
    src = c - d.latency
    lines = [f"  first mismatch at cycle {c}: expected out_valid={exp[0]} y={exp[1]}, "
             f"got out_valid={act[0]} y={act[1]}"]
    if src >= 0:
        s = stim[src]
        lines.append(f"  inputs at cycle {src} (= {c} - latency {d.latency}): "
                     f"rst={s['rst']} in_valid={s['in_valid']}")
        for p in data_ports(d):
            lines.append(f"    {p} = {short_hex(s['data'][p], d.n)}")
        if 4 * SHOW_HEX_DIGITS < d.n:
            lines.append("    (full vectors: rerun with --keep and see <port>.hex, "
                         f"line {src + 1})")
        resets = [i for i in range(src, c) if stim[i]["rst"]]
        if resets:
            lines.append(f"  rst was high at cycles {resets}")
    lat = matching_latency(d, stim, actual)
    if lat is not None:
        lines.append(f"  hint: every cycle matches with latency {lat}, manifest says {d.latency}")
    return "\n".join(lines)


def check_design(d, cycles, seed, keep):
    """Returns (passed, report text)."""
    rng = random.Random(f"{seed}:{d.top}")
    stim = make_stimulus(d, cycles, rng)
    trace = expected_trace(d, stim, d.latency)
    workdir = tempfile.mkdtemp(prefix=f"icarus_{d.top}_")
    try:
        raw, error = simulate(d, write_testbench(d, stim, workdir), workdir)
        label = f"{d.top} ({d.dir})"
        if error is None and len(raw) != cycles:
            error = f"simulation printed {len(raw)} of {cycles} cycles"
        if error:
            return False, f"FAIL {label}: {error}"
        actual = [decode(v, y, d.ports["y"]) for v, y in raw]
        checked = sum(1 for e in trace if e is not None)
        results = sum(1 for e in trace if e is not None and e[0])
        c = first_mismatch(trace, actual)
        if c is None:
            return True, f"PASS {label}: {checked} cycles checked, {results} results compared"
        return False, (f"FAIL {label}: {checked} cycles checked\n"
                       + describe_failure(d, stim, trace, actual, c))
    finally:
        if keep:
            print(f"  (work files kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv):
    ap = argparse.ArgumentParser(description="Check generated mbnn designs in Icarus Verilog.")
    ap.add_argument("designs", nargs="+", help="design directories, each with one manifest .json")
    ap.add_argument("--cycles", type=int, default=300, help="cycles per design (default 300)")
    ap.add_argument("--seed", default="1", help="random seed (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the generated test benches")
    args = ap.parse_args(argv)

    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        print("iverilog is not installed: install it with `sudo apt-get install iverilog`")
        return 2
    try:
        designs = [load_design(a) for a in args.designs]
    except ManifestError as e:
        print(f"error: {e}")
        return 2

    passed = failed = 0
    for d in designs:
        try:
            ok, report = check_design(d, args.cycles, args.seed, args.keep)
        except ManifestError as e:           # e.g. --cycles too small
            print(f"error: {e}")
            return 2
        except subprocess.TimeoutExpired:
            ok, report = False, f"FAIL {d.top} ({d.dir}): simulation timed out"
        print(report, flush=True)
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
