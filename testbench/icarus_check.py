#!/usr/bin/env python3
"""Independent Icarus Verilog check of generated mbnn designs.

Written only from SPEC.md sections 1-4 and the manifest JSON: expected values
are computed here, bit by bit, and never by the project's Rust code, so a bug
shared by the generator and its own reference model cannot hide.

    python3 testbench/icarus_check.py [--cycles N] [--seed S] [--keep] DIR...

Each DIR holds exactly one manifest <top>.json plus the Verilog files it lists.
Blocks: popcount, xnor_pe, and_pe, binary, groupnet, pa, pa_quantizer,
fixedpoint, mac. Besides random data, every design gets all-zeros, all-ones
and largest-|y| inputs; pa and pa_quantizer also get every endpoint v_j,
v_j - 1, v_j + 1 and both ends of the activation range.
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

from manifest_check import ManifestError, bit, find_manifest, is_int, parse_hex_vector, require

CONTROL_INPUTS = ("clk", "rst", "in_valid")
INITIAL_RESET = 3        # cycles of rst = 1 at the start
BUBBLE_RATE = 0.25       # share of cycles with in_valid = 0
SHOW_HEX_DIGITS = 40     # wide inputs are abbreviated in failure reports
SIM_TIMEOUT_S = 1800


# --------------------------------------------------------------------------
# Manifest -> a small description of what the design computes
#
# Each block becomes a model with three things: `inputs` (data port -> the
# width the block needs), `expected(data)` (the exact y for one input), and
# `corners(rng)` (directed inputs beyond all-zeros and all-ones).


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
        self.model = None


def require_ints(values, count, what):
    require(isinstance(values, list) and len(values) == count and all(map(is_int, values)),
            f"{what}: want a list of {count} integers")


def require_positive(p, key):
    require(is_int(p.get(key)) and p[key] >= 1, f"params.{key}: want a positive integer")
    return p[key]


def random_data(widths, rng):
    return {p: rng.getrandbits(widths[p]) for p in sorted(widths)}


def build_lanes(d):
    """Turn the block's params into lanes; the SPEC section 3 table."""
    p, block = d.params, d.block
    const = p.get("weights_mode") == "const"
    if block == "popcount":
        return [Lane("pop", "a")]
    # binary is the single-base baseline (Bi-Real, K = 1): an xnor_pe
    if block in ("xnor_pe", "and_pe", "binary"):
        op = "and" if block == "and_pe" else "xnor"
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


class LaneModel:
    """popcount, xnor_pe, and_pe, binary, groupnet: sums of binary lanes."""

    vector_y = False

    def __init__(self, d):
        self.n = d.n
        self.lanes = build_lanes(d)
        self.inputs = {}
        for lane in self.lanes:
            self.inputs[lane.a_port] = d.n
            if lane.w_port:
                self.inputs[lane.w_port] = d.n

    def expected(self, data):
        total = 0
        for lane in self.lanes:
            w = data[lane.w_port] if lane.w_port else lane.w_const
            total += lane.coeff * lane_value(lane, data[lane.a_port], w, self.n)
        return total

    def corners(self, rng):
        return [extreme_lane_inputs(self, rng, +1), extreme_lane_inputs(self, rng, -1)]


class PaModel:
    """pa and pa_quantizer (SPEC section 1, PA-Net): N comparators per
    activation give one-hot bases V_j; pa adds sum_ij P_ij popcount(T_i & V_j)."""

    def __init__(self, d, quantizer):
        p = d.params
        self.n = d.n
        self.quantizer = quantizer
        self.vector_y = quantizer
        self.bits = require_positive(p, "act_bits")
        self.n_bases = require_positive(p, "n")
        self.endpoints = p.get("endpoints")
        require_ints(self.endpoints, self.n_bases, "params.endpoints")
        require(all(u < v for u, v in zip(self.endpoints, self.endpoints[1:])),
                f"params.endpoints: want strictly increasing, got {self.endpoints}")
        self.inputs = {"act": self.n * self.bits}
        if quantizer:
            # the layout is only stated in prose, so insist on the one we decode
            require("y[j*len +: len]" in str(p.get("y_layout", "")),
                    f"params.y_layout: want base j at y[j*len +: len], got {p.get('y_layout')!r}")
            self.y_width = self.n_bases * self.n
            return
        self.m = require_positive(p, "m")
        self.phi = p.get("phi")
        require(isinstance(self.phi, list) and len(self.phi) == self.m,
                f"params.phi: want {self.m} lists of {self.n_bases} integers")
        for i, row in enumerate(self.phi):
            require_ints(row, self.n_bases, f"params.phi[{i}]")
        self.t_const = None
        if p.get("weights_mode") == "const":
            weights = p.get("weights")
            require(isinstance(weights, list) and len(weights) == self.m,
                    f"params.weights: want a list of {self.m} hex vectors")
            self.t_const = [parse_hex_vector(w, self.n, f"params.weights[{i}]")
                            for i, w in enumerate(weights)]
        else:
            self.inputs.update({f"t{i}": self.n for i in range(self.m)})

    def act_range(self):
        return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1

    def activations(self, act):
        """The n signed B-bit elements, element k = act[k*B +: B]."""
        mask = (1 << self.bits) - 1
        values = []
        for k in range(self.n):
            raw = (act >> (k * self.bits)) & mask
            values.append(raw - (1 << self.bits) if bit(raw, self.bits - 1) else raw)
        return values

    def pack(self, values):
        mask = (1 << self.bits) - 1
        return sum((v & mask) << (k * self.bits) for k, v in enumerate(values))

    def base_of(self, a):
        """0-based base j with v_j <= a < v_{j+1} (last: a >= v_N); None below v_1."""
        for j, v in enumerate(self.endpoints):
            upper = self.endpoints[j + 1] if j + 1 < self.n_bases else None
            if v <= a and (upper is None or a < upper):
                return j
        return None

    def interval(self, j):
        """Activation values of base j (None: below v_1) within B bits, or None."""
        lo, hi = self.act_range()
        if j is None:
            return (lo, self.endpoints[0] - 1) if lo < self.endpoints[0] else None
        lo = max(lo, self.endpoints[j])
        if j + 1 < self.n_bases:
            hi = min(hi, self.endpoints[j + 1] - 1)
        return (lo, hi) if lo <= hi else None

    def weight_bases(self, data):
        return self.t_const if self.t_const is not None else [data[f"t{i}"] for i in range(self.m)]

    def expected(self, data):
        bases = [self.base_of(a) for a in self.activations(data["act"])]
        if self.quantizer:
            return sum(1 << (j * self.n + k) for k, j in enumerate(bases) if j is not None)
        t = self.weight_bases(data)
        total = 0
        for i in range(self.m):
            for j in range(self.n_bases):
                # popcount(T_i & V_j), one element at a time
                total += self.phi[i][j] * sum(bit(t[i], k) for k in range(self.n) if bases[k] == j)
        return total

    def corner_values(self):
        """Each endpoint and its neighbours, and both ends of the B-bit range."""
        lo, hi = self.act_range()
        near = {v + e for v in self.endpoints for e in (-1, 0, 1)}
        return sorted({lo, hi} | {v for v in near if lo <= v <= hi})

    def corners(self, rng):
        values = self.corner_values()
        # every element on one corner value: each element's comparators see it
        vectors = [[v] * self.n for v in values]
        # and corner values side by side, in case elements get crossed
        for _ in range(2):
            mixed = (values * (self.n // len(values) + 1))[:self.n]
            rng.shuffle(mixed)
            vectors.append(mixed)
        out = []
        for v in vectors:
            data = dict(random_data(self.inputs, rng), act=self.pack(v))
            if not self.quantizer and self.t_const is None:
                data.update(self.one_hot_weights(rng))
            out.append(data)
        if not self.quantizer:
            out += [self.extreme(rng, +1), self.extreme(rng, -1)]
        return out

    def one_hot_weights(self, rng):
        """Each element in exactly one weight base, as PA weights are: a wrong
        base of one element then cannot cancel out between its T_i terms."""
        rows = [rng.randrange(self.m) for _ in range(self.n)]
        return {f"t{i}": sum(1 << k for k, r in enumerate(rows) if r == i) for i in range(self.m)}

    def extreme(self, rng, sign):
        """Per element, the base (and T bits) pushing y towards sign * (largest |y|)."""
        data = random_data(self.inputs, rng)
        choices = [None] + list(range(self.n_bases))
        values = []
        for k in range(self.n):
            best = None
            for j in choices:
                span = self.interval(j)
                if span is None:
                    continue
                gain = 0
                if j is not None:
                    for i in range(self.m):
                        up = int(sign * self.phi[i][j] > 0)   # a free T bit is set iff it helps
                        t_bit = up if self.t_const is None else bit(self.t_const[i], k)
                        gain += sign * self.phi[i][j] * t_bit
                if best is None or gain > best[0]:
                    best = (gain, j, span)
            _, j, span = best
            values.append(rng.randint(*span))
            if self.t_const is None and j is not None:
                for i in range(self.m):
                    port = f"t{i}"
                    data[port] = (data[port] & ~(1 << k)) | (int(sign * self.phi[i][j] > 0) << k)
        data["act"] = self.pack(values)
        return data

    def describe(self, data):
        acts = self.activations(data["act"])
        shown = ", ".join(f"{a}:{'-' if self.base_of(a) is None else self.base_of(a) + 1}"
                          for a in acts[:16])
        more = f", ... ({self.n} elements)" if self.n > 16 else ""
        return [f"    act elements (value:base, 1-based, - = none) = [{shown}{more}]"]


class ElementModel:
    """fixedpoint and mac baselines: y = sum_k a_k * w_k over multi-bit elements."""

    vector_y = False

    def __init__(self, d):
        p = d.params
        self.n = d.n
        self.fixed = d.block == "fixedpoint"
        self.bits = require_positive(p, "bits")
        width = self.n * self.bits
        self.inputs = {"a": width}
        self.w_const = None
        if p.get("weights_mode") == "const":
            self.w_const = parse_hex_vector(p.get("weights"), width, "params.weights")
        else:
            self.inputs["w"] = width

    def element(self, v, k):
        K = self.bits
        if self.fixed:
            # K binary digits, bit i weighs 2^i and is +1 (1) or -1 (0)
            return sum((1 << i) * (2 * bit(v, k * K + i) - 1) for i in range(K))
        raw = (v >> (k * K)) & ((1 << K) - 1)
        return raw - (1 << K) if bit(raw, K - 1) else raw

    def expected(self, data):
        w = data["w"] if self.w_const is None else self.w_const
        return sum(self.element(data["a"], k) * self.element(w, k) for k in range(self.n))

    def corners(self, rng):
        return [self.extreme(rng, +1), self.extreme(rng, -1)]

    def extreme(self, rng, sign):
        """Largest-magnitude elements, signs chosen so every product has sign `sign`."""
        K = self.bits
        # the two ends of the element range: fixedpoint 0...0 / 1...1, mac 10...0 / 01...1
        ends = (0, (1 << K) - 1) if self.fixed else (1 << (K - 1), (1 << (K - 1)) - 1)
        value = {code: self.element(code, 0) for code in ends}
        data = random_data(self.inputs, rng)
        a = w = 0
        for k in range(self.n):
            if self.w_const is None:
                a_code = ends[0]       # most negative: the largest |value| for mac
                w_code = max(ends, key=lambda c: sign * value[a_code] * value[c])
                w |= w_code << (k * K)
            else:
                wk = self.element(self.w_const, k)
                a_code = max(ends, key=lambda c: sign * value[c] * wk)
            a |= a_code << (k * K)
        data["a"] = a
        if self.w_const is None:
            data["w"] = w
        return data


def build_model(d):
    if d.block == "pa":
        return PaModel(d, quantizer=False)
    if d.block == "pa_quantizer":
        return PaModel(d, quantizer=True)
    if d.block in ("fixedpoint", "mac"):
        return ElementModel(d)
    return LaneModel(d)


def check_ports(d):
    """The manifest's ports must be exactly what the block's model drives."""
    for name in CONTROL_INPUTS:
        require(d.ports.get(name, {}).get("dir") == "in", f"ports: missing input {name!r}")
    for name in ("out_valid", "y"):
        require(d.ports.get(name, {}).get("dir") == "out", f"ports: missing output {name!r}")
    wanted = d.model.inputs
    have = {n for n, p in d.ports.items() if p["dir"] == "in" and n not in CONTROL_INPUTS}
    require(have == set(wanted),
            f"ports: data inputs {sorted(have)} but block needs {sorted(wanted)}")
    for name, width in wanted.items():
        require(d.ports[name]["width"] == width,
                f"ports: {name!r} is {d.ports[name]['width']} bits, params say {width}")
    require(d.ports["y"]["width"] >= 1, "ports: y has no width")
    y_width = getattr(d.model, "y_width", None)
    if y_width is not None:
        require(d.ports["y"]["width"] == y_width,
                f"ports: y is {d.ports['y']['width']} bits, params say {y_width}")


def load_design(arg):
    path = find_manifest(arg, "design")
    try:
        with open(path) as f:
            m = json.load(f)
        d = Design(os.path.dirname(path) or ".", path, m)
        require(isinstance(d.latency, int) and d.latency >= 1, "latency: want an integer >= 1")
        require(isinstance(d.n, int) and d.n >= 1, "params.len: want a positive integer")
        for p in d.ports.values():
            require(p["dir"] in ("in", "out") and isinstance(p["width"], int)
                    and isinstance(p["signed"], bool), f"ports: bad entry {p}")
        d.model = build_model(d)
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


def lane_value(lane, a, w, n):
    if lane.op == "pop":
        return sum(bit(a, i) for i in range(n))
    if lane.op == "and":
        return sum(bit(a, i) * bit(w, i) for i in range(n))
    # +1/-1 dot product straight from the definition (1 = +1, 0 = -1); this
    # equals 2*popcount(~(a^w)) - n without relying on that identity.
    return sum((2 * bit(a, i) - 1) * (2 * bit(w, i) - 1) for i in range(n))


# --------------------------------------------------------------------------
# Stimulus: random data, corners, bubbles, one mid-stream reset


def data_ports(d):
    return sorted(n for n, p in d.ports.items() if p["dir"] == "in" and n not in CONTROL_INPUTS)


def extreme_lane_inputs(model, rng, sign):
    """Inputs that push every lane's term towards sign * (largest |y|)."""
    ones = (1 << model.n) - 1
    inputs = random_data(model.inputs, rng)
    driven = set()                       # a shared `a` is set by its first lane only
    for lane in model.lanes:
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
    widths = d.model.inputs
    return ([{p: 0 for p in widths}, {p: (1 << w) - 1 for p, w in widths.items()}]
            + d.model.corners(rng))


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
        inputs = random_data(d.model.inputs, rng)
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
        y = d.model.expected(stim[src]["data"]) if valid else None
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


def show_y(d, y):
    """A pa_quantizer's y is a bit vector: hex reads better than a number."""
    return short_hex(y, d.ports["y"]["width"]) if d.model.vector_y and y is not None else y


def describe_failure(d, stim, trace, actual, c):
    exp, act = trace[c], actual[c]
    src = c - d.latency
    lines = [f"  first mismatch at cycle {c}: expected out_valid={exp[0]} y={show_y(d, exp[1])}, "
             f"got out_valid={act[0]} y={show_y(d, act[1])}"]
    if src >= 0:
        s = stim[src]
        lines.append(f"  inputs at cycle {src} (= {c} - latency {d.latency}): "
                     f"rst={s['rst']} in_valid={s['in_valid']}")
        widths = d.model.inputs
        for p in data_ports(d):
            lines.append(f"    {p} = {short_hex(s['data'][p], widths[p])}")
        if hasattr(d.model, "describe"):
            lines += d.model.describe(s["data"])
        if 4 * SHOW_HEX_DIGITS < max(widths.values()):
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
