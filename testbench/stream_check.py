#!/usr/bin/env python3
"""Independent stream check of mbnn's layer engines (`conv`, `pa_conv`) and
whole networks.

Written only from SPEC.md sections 6 and 7 and the manifest JSON: the
expected output frames are computed here, pixel by pixel, never by the
project's Rust code. The design runs in Icarus Verilog under cocotb;
cocotbext-axi's AxiStreamSource and AxiStreamSink drive and take its
AXI4-Stream ports (`stream_tb.py` holds the cocotb tests), with one beat per
pixel in and, for a network, one beat per image out.

    .venv/bin/python testbench/stream_check.py [--seed S] [--jobs J] [--keep] DIR...

Each DIR holds one engine or network: exactly one manifest <top>.json plus
the files it lists; its `block` ("conv", "pa_conv" or "network") decides. A
network's output is computed layer by layer from `params.layers` (the same
engine code on each layer's params, max-pools, then the last layer's sums
or their argmax). Every design runs four scenarios, each after a reset:

  no_pauses      all-ones (all-max), all-zeros and random frames back to back,
                 input always valid, output always ready; output frames must
                 come exactly cycles_per_frame apart in steady state (SPEC 6.6)
  pauses_light   random stalls on both sides (input 20 %, output 30 %)
  pauses_heavy   input stalls 50 %, output stalled in long bursts
  reset_mid_frame  one frame, then rst for one cycle part-way through the
                 next; that frame and every output not yet out are dropped
                 (SPEC 6.1), then new frames must come out exactly (a network:
                 two images, the reset in the third)
  backpressure   networks only: images back to back, the output stalled
                 until the input is refused for two image periods in a row,
                 then two more images and all drained

Every output beat's tdata and tlast is compared, in order.
Exit status: 0 all passed, 1 some failed, 2 bad usage/manifest/missing tools.
"""

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree
from importlib.metadata import version

from manifest_check import ManifestError, bit, find_manifest, is_int, parse_hex_vector, require

TB_MODULE = "stream_tb"
SHOW_MISMATCHES = 3      # mismatching beats printed per scenario
BACKPRESSURE_IMAGES = 40  # at most this many images in a network's "backpressure"
CLOCK_NS = 10


def want_int(p, key, lo=None):
    v = p.get(key)
    require(is_int(v) and (lo is None or v >= lo),
            f"params.{key}: want an integer{'' if lo is None else f' >= {lo}'}, got {v!r}")
    return v


def want_ints(values, count, what):
    require(isinstance(values, list) and len(values) == count and all(map(is_int, values)),
            f"{what}: want a list of {count} integers, got {values!r}")
    return values


def clog2(x):
    """ceil(log2(x)) for x >= 1."""
    return (x - 1).bit_length()


def to_signed(v, width):
    return v - (1 << width) if width and bit(v, width - 1) else v


# --------------------------------------------------------------------------
# Geometry (SPEC 6.3)


def out_size(size, kernel, stride, dilation, padding):
    if padding == "same":
        return -(-size // stride)
    return (size - (kernel - 1) * dilation - 1) // stride + 1


def window(oy, ox, kernel, stride, dilation, padding, height, width):
    """(ky, kx, y, x) per tap; y, x = None for a tap outside the map."""
    half = (kernel - 1) // 2 if padding == "same" else 0
    taps = []
    for ky in range(kernel):
        for kx in range(kernel):
            y = oy * stride + (ky - half) * dilation
            x = ox * stride + (kx - half) * dilation
            inside = 0 <= y < height and 0 <= x < width
            taps.append((ky, kx, y if inside else None, x if inside else None))
    return taps


# --------------------------------------------------------------------------
# Engines: manifest -> what the engine computes


class Engine:
    """Common params, geometry and output stage of both engine blocks, from
    a params dict: an engine manifest's `params`, or one layer's in a
    network manifest. `base_dir` is where a `weights_file` is looked up
    (the manifest's directory)."""

    kind = "engine"
    max_frame = "all-ones"

    def __init__(self, params, block, base_dir):
        self.block = block
        self.base_dir = base_dir
        require(isinstance(params, dict), "params: want an object")
        p = self.params = params
        self.top = p.get("top")        # a network layer names its module here
        self.height = want_int(p, "height", 1)
        self.width = want_int(p, "width", 1)
        self.cin = want_int(p, "cin", 1)
        self.cout = want_int(p, "cout", 1)
        self.kernel = want_int(p, "kernel", 1)
        self.stride = want_int(p, "stride", 1)
        self.padding = p.get("padding")
        require(self.padding in ("same", "valid"), f"params.padding: {self.padding!r}")
        if self.padding == "same":
            require(self.kernel % 2 == 1, "params.kernel: want an odd kernel with \"same\"")
        self.n = self.kernel * self.kernel * self.cin
        self.output = p.get("output")
        self.cycles_per_frame = want_int(p, "cycles_per_frame", 1)
        self.fill_cycles = want_int(p, "fill_cycles", 0)
        self.ii = want_int(p, "ii", 1)
        self.weights = self.load_weights(p)

    def load_weights(self, p):
        if "weights_file" in p:
            path = os.path.join(self.base_dir, p["weights_file"])
            try:
                with open(path) as f:
                    return json.load(f)["weights"]
            except (OSError, ValueError, KeyError) as e:
                raise ManifestError(f"params.weights_file {path}: {e}") from None
        return p.get("weights")

    def set_geometry(self, dilations):
        """Output size from SPEC 6.3, checked against the manifest."""
        sizes = {(out_size(self.height, self.kernel, self.stride, d, self.padding),
                  out_size(self.width, self.kernel, self.stride, d, self.padding))
                 for d in dilations}
        require(len(sizes) == 1, f"params.dilations {dilations}: lanes with different "
                "output sizes (SPEC 6.3: different dilations need \"same\")")
        self.out_h, self.out_w = sizes.pop()
        require(self.out_h >= 1 and self.out_w >= 1, "the window does not fit in the map")
        p = self.params
        for key, want in (("out_height", self.out_h), ("out_map_width", self.out_w)):
            if key in p:
                require(p[key] == want, f"params.{key}: {p[key]}, SPEC 6.3 gives {want}")
        self.pixels_out = self.out_h * self.out_w
        # SPEC 6.6: ii and the frame period follow from the folding
        pe, simd = want_int(p, "pe", 1), want_int(p, "simd", 1)
        ii = (self.cout // pe) * (self.n // simd)
        require(self.ii == ii, f"params.ii: {self.ii}, SPEC 6.6 gives {ii}")
        cpf = max(self.height * self.width, self.pixels_out * ii)
        require(self.cycles_per_frame == cpf,
                f"params.cycles_per_frame: {self.cycles_per_frame}, SPEC 6.6 gives {cpf}")

    def set_output(self, lanes):
        """Output stage params (SPEC 6.5); returns the m_axis_tdata width."""
        p = self.params
        if self.output == "sum":
            self.ow = want_int(p, "out_width", 1)
            return self.cout * self.ow
        if self.output == "threshold":
            t = p.get("thresholds")
            require(isinstance(t, list) and len(t) == self.cout,
                    f"params.thresholds: want {self.cout} lists")
            count = len(t[0]) if t and isinstance(t[0], list) else 0
            require(count >= 1, "params.thresholds: want at least one threshold per channel")
            for o, row in enumerate(t):
                want_ints(row, count, f"params.thresholds[{o}]")
                require(row == sorted(row), f"params.thresholds[{o}]: not ascending")
            self.thresholds = t
            signs = p.get("threshold_signs", [1] * self.cout)
            want_ints(signs, self.cout, "params.threshold_signs")
            require(all(s in (1, -1) for s in signs), "params.threshold_signs: want +1 or -1")
            self.signs = signs
            self.ow = want_int(p, "out_width", 1)
            require(self.ow == clog2(count + 1),
                    f"params.out_width: {self.ow}, SPEC 6.5 gives ceil(log2({count}+1)) = "
                    f"{clog2(count + 1)}")
            return self.cout * self.ow
        if self.output == "fusion" and self.block == "conv":
            f, u = p.get("fusion"), p.get("fusion_thresholds")
            require(isinstance(f, list) and len(f) == lanes, f"params.fusion: want {lanes} lists")
            require(isinstance(u, list) and len(u) == lanes,
                    f"params.fusion_thresholds: want {lanes} lists")
            for i in range(lanes):
                want_ints(f[i], lanes, f"params.fusion[{i}]")
                want_ints(u[i], self.cout, f"params.fusion_thresholds[{i}]")
            self.fusion, self.fusion_u = f, u
            self.ow = None
            return lanes * self.cout
        raise ManifestError(f"params.output: {self.output!r} is not an output of {self.block}")

    def finish(self, in_bits, out_bits):
        self.in_bits, self.out_bits = in_bits, out_bits

    def pack_output(self, ys):
        """ys: per channel y(o) (sum, threshold) -> the output beat."""
        if self.output == "sum":
            mask = (1 << self.ow) - 1
            return sum((y & mask) << (o * self.ow) for o, y in enumerate(ys))
        q = [sum(1 for t in self.thresholds[o] if self.signs[o] * y >= t)
             for o, y in enumerate(ys)]
        return sum(v << (o * self.ow) for o, v in enumerate(q))

    def decode_output(self, beat):
        """A beat -> readable channel values, for failure reports."""
        if self.output == "fusion":
            lanes = self.out_bits // self.cout
            return "lanes " + " ".join(
                "".join(str(bit(beat, i * self.cout + o)) for o in range(self.cout))
                for i in range(lanes)) + " (channel 0 first)"
        vals = [(beat >> (o * self.ow)) & ((1 << self.ow) - 1) for o in range(self.cout)]
        if self.output == "sum":
            vals = [to_signed(v, self.ow) for v in vals]
        return f"{self.output} per channel {vals}"

    def grid(self, pixels):
        require(len(pixels) == self.height * self.width, "frame of the wrong size")
        return [pixels[r * self.width:(r + 1) * self.width] for r in range(self.height)]

    def expected_frame(self, pixels):
        """SPEC 6.3-6.5: one input frame (H*W beats) -> Ho*Wo output beats."""
        grid = self.grid(pixels)
        return [self.output_pixel(grid, oy, ox)
                for oy in range(self.out_h) for ox in range(self.out_w)]

    def expected_with_note(self, pixels):
        """The output beats, and a line for failure reports (none here)."""
        return self.expected_frame(pixels), None

    def output_pixel(self, grid, oy, ox):
        return self.pack_output(self.sums(grid, oy, ox))

    def shape_text(self):
        return f"{self.height}x{self.width} -> {self.out_h}x{self.out_w}"

    def beat_name(self, pixel):
        oy, ox = divmod(pixel, self.out_w)
        return f"output pixel {pixel} (row {oy}, col {ox})"


class ConvEngine(Engine):
    """conv: Group-Net, K binary lanes, lane i with dilation d_i (BPAC)."""

    block_name = "conv"

    def __init__(self, params, base_dir):
        super().__init__(params, self.block_name, base_dir)
        p = self.params
        self.lanes = want_int(p, "k", 1)
        self.dilations = want_ints(p.get("dilations"), self.lanes, "params.dilations")
        require(all(d >= 1 for d in self.dilations), "params.dilations: want >= 1")
        self.lambdas = want_ints(p.get("lambdas"), self.lanes, "params.lambdas")
        self.shared = p.get("shared_input")
        require(isinstance(self.shared, bool), "params.shared_input: want true or false")
        w = self.weights
        require(isinstance(w, list) and len(w) == self.lanes,
                f"params.weights: want {self.lanes} lists of {self.cout} hex vectors")
        self.w = []
        for i, row in enumerate(w):
            require(isinstance(row, list) and len(row) == self.cout,
                    f"params.weights[{i}]: want {self.cout} hex vectors")
            self.w.append([parse_hex_vector(h, self.n, f"params.weights[{i}][{o}]")
                           for o, h in enumerate(row)])
        self.set_geometry(self.dilations)
        out_bits = self.set_output(self.lanes)
        self.finish(self.cin if self.shared else self.lanes * self.cin, out_bits)

    def lane_bits(self, pixel, lane):
        """The cin activation bits lane `lane` reads from one pixel (SPEC 6.2)."""
        if self.shared:
            return pixel
        return (pixel >> (lane * self.cin)) & ((1 << self.cin) - 1)

    def dots(self, grid, oy, ox, o):
        """dot_i(o) for every lane i: +1 per agreeing bit, -1 per differing
        bit, over the taps inside the map only (SPEC 6.4)."""
        out = []
        for i, d in enumerate(self.dilations):
            total = 0
            for ky, kx, y, x in window(oy, ox, self.kernel, self.stride, d,
                                       self.padding, self.height, self.width):
                if y is None:
                    continue            # zero padding: contributes 0
                a = self.lane_bits(grid[y][x], i)
                for c in range(self.cin):
                    e = (ky * self.kernel + kx) * self.cin + c
                    total += 1 if bit(a, c) == bit(self.w[i][o], e) else -1
            out.append(total)
        return out

    def sums(self, grid, oy, ox):
        """y(o) for every output channel o (SPEC 6.4)."""
        return [sum(l * d for l, d in zip(self.lambdas, self.dots(grid, oy, ox, o)))
                for o in range(self.cout)]

    def output_pixel(self, grid, oy, ox):
        if self.output != "fusion":
            return self.pack_output(self.sums(grid, oy, ox))
        dots = [self.dots(grid, oy, ox, o) for o in range(self.cout)]
        beat = 0
        for i in range(self.lanes):
            for o in range(self.cout):
                s = sum(self.fusion[i][j] * dots[o][j] for j in range(self.lanes))
                if s >= self.fusion_u[i][o]:
                    beat |= 1 << (i * self.cout + o)
        return beat

    def frames(self, rng, count):
        mask = (1 << self.in_bits) - 1
        n = self.height * self.width
        return [[rng.getrandbits(self.in_bits) for _ in range(n)] for _ in range(count)], \
            [mask] * n, [0] * n


class PaConvEngine(Engine):
    """pa_conv: PA-Net, N comparators per activation, M x N AND-popcounts;
    with `"bitplanes": true` the N = act_bits bases are the bits of the
    unsigned activation instead (a network's first layer on pixels)."""

    block_name = "pa_conv"

    def __init__(self, params, base_dir):
        super().__init__(params, self.block_name, base_dir)
        p = self.params
        self.m = want_int(p, "m", 1)
        self.nb = want_int(p, "n", 1)
        self.bits = want_int(p, "act_bits", 1)
        self.signed = p.get("act_signed", True)
        require(isinstance(self.signed, bool), "params.act_signed: want true or false")
        self.bitplanes = p.get("bitplanes", False)
        require(isinstance(self.bitplanes, bool), "params.bitplanes: want true or false")
        if self.bitplanes:
            require(not self.signed, "params.act_signed: bit-planes need unsigned activations")
            require(self.nb == self.bits,
                    f"params.n: {self.nb}, bit-planes give N = act_bits = {self.bits}")
            require(p.get("endpoints", []) == [], "params.endpoints: want none with bit-planes")
            self.endpoints = []
        else:
            self.endpoints = want_ints(p.get("endpoints"), self.nb, "params.endpoints")
        require(all(u < v for u, v in zip(self.endpoints, self.endpoints[1:])),
                "params.endpoints: want strictly increasing")
        phi = p.get("phi")
        require(isinstance(phi, list) and len(phi) == self.m,
                f"params.phi: want {self.m} lists of {self.nb} integers")
        self.phi = [want_ints(row, self.nb, f"params.phi[{i}]") for i, row in enumerate(phi)]
        self.dilation = p.get("dilations")
        require(is_int(self.dilation) and self.dilation >= 1,
                "params.dilations: want one integer for pa_conv")
        w = self.weights
        require(isinstance(w, list) and len(w) == self.m,
                f"params.weights: want {self.m} lists of {self.cout} hex vectors")
        self.t = []
        for i, row in enumerate(w):
            require(isinstance(row, list) and len(row) == self.cout,
                    f"params.weights[{i}]: want {self.cout} hex vectors")
            self.t.append([parse_hex_vector(h, self.n, f"params.weights[{i}][{o}]")
                           for o, h in enumerate(row)])
        self.set_geometry([self.dilation])
        out_bits = self.set_output(None)
        self.finish(self.cin * self.bits, out_bits)

    def act_range(self):
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1

    def activation(self, pixel, c):
        raw = (pixel >> (c * self.bits)) & ((1 << self.bits) - 1)
        return to_signed(raw, self.bits) if self.signed else raw

    def bases(self, a):
        """V_j(a) for j = 0..N-1 from the comparators a >= v_j: base j is set
        iff v_j <= a and not v_{j+1} <= a (SPEC section 1); with bit-planes,
        V_j(a) = bit j of a."""
        if self.bitplanes:
            return [bit(a, j) for j in range(self.nb)]
        ge = [a >= v for v in self.endpoints] + [False]
        return [int(ge[j] and not ge[j + 1]) for j in range(self.nb)]

    def sums(self, grid, oy, ox):
        """y(o) for every output channel o (SPEC 6.4)."""
        taps = window(oy, ox, self.kernel, self.stride, self.dilation,
                      self.padding, self.height, self.width)
        ys = []
        for o in range(self.cout):
            # count[i][j] = #{inside e: T_i(o)[e] = 1 and V_j[e] = 1}
            count = [[0] * self.nb for _ in range(self.m)]
            for ky, kx, y, x in taps:
                if y is None:
                    continue            # outside: every base 0
                for c in range(self.cin):
                    e = (ky * self.kernel + kx) * self.cin + c
                    v = self.bases(self.activation(grid[y][x], c))
                    for i in range(self.m):
                        if bit(self.t[i][o], e):
                            for j in range(self.nb):
                                count[i][j] += v[j]
            ys.append(sum(self.phi[i][j] * count[i][j]
                          for i in range(self.m) for j in range(self.nb)))
        return ys

    def pack_pixel(self, acts):
        mask = (1 << self.bits) - 1
        return sum((a & mask) << (c * self.bits) for c, a in enumerate(acts))

    def frames(self, rng, count):
        lo, hi = self.act_range()
        near = sorted({lo, hi} | {v + e for v in self.endpoints for e in (-1, 0, 1)
                                  if lo <= v + e <= hi})
        n = self.height * self.width

        def act():
            # half the activations on or next to an endpoint or a range end
            return rng.choice(near) if rng.random() < 0.5 else rng.randint(lo, hi)
        frames = [[self.pack_pixel([act() for _ in range(self.cin)]) for _ in range(n)]
                  for _ in range(count)]
        return frames, [(1 << self.in_bits) - 1] * n, [0] * n


class MaxPool:
    """maxpool (SPEC 7): size x size windows, stride size, per channel the
    maximum of the unsigned `element_bits`-bit values (an OR on 1-bit maps);
    the rows and columns beyond floor(H/size)*size are dropped."""

    def __init__(self, params):
        require(isinstance(params, dict), "params: want an object")
        p = self.params = params
        self.top = p.get("top")
        self.height = want_int(p, "height", 1)
        self.width = want_int(p, "width", 1)
        self.channels = want_int(p, "channels", 1)
        self.eb = want_int(p, "element_bits", 1)
        self.size = want_int(p, "size", 1)
        self.out_h, self.out_w = self.height // self.size, self.width // self.size
        require(self.out_h >= 1 and self.out_w >= 1,
                f"a {self.size}x{self.size} pool does not fit in {self.height}x{self.width}")
        for key, want in (("out_height", self.out_h), ("out_map_width", self.out_w)):
            if key in p:
                require(p[key] == want, f"params.{key}: {p[key]}, the pool gives {want}")
        self.in_bits = self.out_bits = self.channels * self.eb

    def expected_frame(self, pixels):
        require(len(pixels) == self.height * self.width, "frame of the wrong size")
        mask, k = (1 << self.eb) - 1, self.size
        out = []
        for oy in range(self.out_h):
            for ox in range(self.out_w):
                window_pixels = [pixels[(oy * k + dy) * self.width + ox * k + dx]
                                 for dy in range(k) for dx in range(k)]
                out.append(sum(max((v >> (c * self.eb)) & mask for v in window_pixels)
                               << (c * self.eb) for c in range(self.channels)))
        return out


class Network:
    """A network top (SPEC 7) from its manifest alone: the image goes
    through params.layers in order, map by map; the output is one beat per
    image, the last layer's sums (packed as an engine's "sum" output) or the
    index of the largest of them (the lowest on ties)."""

    kind = "network"
    max_frame = "all-max"

    def __init__(self, directory, manifest):
        p = manifest.get("params")
        require(isinstance(p, dict), "params: want an object")
        self.params = p
        self.height = want_int(p, "input_height", 1)
        self.width = want_int(p, "input_width", 1)
        self.channels = want_int(p, "input_channels", 1)
        self.bits = want_int(p, "input_bits", 1)
        self.in_bits = self.channels * self.bits
        self.output = p.get("output")
        require(self.output in ("argmax", "sum"),
                f"params.output: want \"argmax\" or \"sum\", got {self.output!r}")
        self.cycles_per_frame = want_int(p, "cycles_per_frame", 1)
        self.fill_cycles = want_int(p, "fill_cycles", 0)
        layers = p.get("layers")
        require(isinstance(layers, list) and layers, "params.layers: want a list of layers")
        self.layers = []
        shape = (self.height, self.width, self.in_bits)
        for i, layer in enumerate(layers):
            what = f"params.layers[{i}]"
            try:
                require(isinstance(layer, dict), "want an object")
                what += f" ({layer.get('kind')}, block {layer.get('block')})"
                block = layer.get("block")
                if block == "conv":
                    stage = ConvEngine(layer.get("params"), directory)
                elif block == "pa_conv":
                    stage = PaConvEngine(layer.get("params"), directory)
                elif block == "maxpool":
                    stage = MaxPool(layer.get("params"))
                else:
                    raise ManifestError(f"block {block!r}: want conv, pa_conv or maxpool")
                got = (stage.height, stage.width, stage.in_bits)
                require(got == shape, "reads a {}x{} map of {}-bit pixels, but ".format(*got) +
                        ("the image is" if i == 0 else "the layer before gives") +
                        " {}x{} of {} bits".format(*shape))
            except ManifestError as e:
                raise ManifestError(f"{what}: {e}") from None
            self.layers.append(stage)
            shape = (stage.out_h, stage.out_w, stage.out_bits)
        last = self.last = self.layers[-1]
        require(isinstance(last, Engine) and last.output == "sum",
                "params.layers: the last layer must give sums (SPEC 7)")
        require((last.out_h, last.out_w) == (1, 1),
                f"params.layers: the last layer gives a {last.out_h}x{last.out_w} map, "
                "want 1x1 (one beat per image)")
        self.out_bits = max(1, clog2(last.cout)) if self.output == "argmax" else last.out_bits
        ow = want_int(p, "out_width", 1)
        require(ow == self.out_bits, f"params.out_width: {ow}, the last layer's "
                f"{last.cout} sums give {self.out_bits} bits with output {self.output!r}")
        cpf = max(s.cycles_per_frame for s in self.layers if isinstance(s, Engine))
        require(self.cycles_per_frame == cpf, f"params.cycles_per_frame: "
                f"{self.cycles_per_frame}, the slowest layer's is {cpf}")
        self.out_h = self.out_w = self.pixels_out = 1

    def run(self, pixels):
        """One image -> (the last layer's sums, the output beat)."""
        require(len(pixels) == self.height * self.width, "image of the wrong size")
        frame = pixels
        for stage in self.layers[:-1]:
            frame = stage.expected_frame(frame)
        ys = self.last.sums(self.last.grid(frame), 0, 0)
        if self.output == "sum":
            return ys, self.last.pack_output(ys)
        return ys, max(range(len(ys)), key=lambda o: (ys[o], -o))

    def expected_frame(self, pixels):
        return [self.run(pixels)[1]]

    def expected_with_note(self, pixels):
        ys, beat = self.run(pixels)
        return [beat], (f"of the last layer's sums {ys}" if self.output == "argmax" else None)

    def frames(self, rng, count):
        """Random, all-max and all-zeros images: the first layer's own choice
        of random inputs (its pixel format is the image's)."""
        first = self.layers[0]
        if isinstance(first, Engine):
            return first.frames(rng, count)
        n = self.height * self.width
        return ([[rng.getrandbits(self.in_bits) for _ in range(n)] for _ in range(count)],
                [(1 << self.in_bits) - 1] * n, [0] * n)

    def decode_output(self, beat):
        if self.output == "argmax":
            return f"argmax {beat}"
        return self.last.decode_output(beat)

    def shape_text(self):
        names = " ".join(s.block if isinstance(s, Engine) else "maxpool" for s in self.layers)
        return (f"{self.height}x{self.width}x{self.channels} images -> {names} -> "
                f"{self.output}, one beat each")

    def beat_name(self, pixel):
        return "the output beat"


def attach_top(design, directory, path, manifest):
    """The manifest's top-level part: the top module, its files and the
    SPEC 6.1 ports, with tdata widths as the design's params give."""
    design.dir = directory
    design.manifest_path = path
    design.top = manifest.get("top")
    require(isinstance(design.top, str) and design.top, "top: want the top module's name")
    files = manifest.get("files")
    require(isinstance(files, list) and files, "files: want a list of file names")
    design.files = [os.path.join(directory, f) for f in files]
    for f in design.files:
        require(os.path.isfile(f), f"{f}: listed in the manifest but missing")
    design.ports = {p["name"]: p for p in manifest.get("ports", [])}
    for name in ("clk", "rst", "s_axis_tvalid", "s_axis_tdata", "s_axis_tready",
                 "m_axis_tvalid", "m_axis_tdata", "m_axis_tlast", "m_axis_tready"):
        require(name in design.ports, f"ports: no {name} (SPEC 6.1)")
    for name, want in (("s_axis_tdata", design.in_bits), ("m_axis_tdata", design.out_bits)):
        got = design.ports[name].get("width")
        require(got == want, f"ports.{name}: width {got}, the params give {want}")
    return design


def load_design(arg):
    """An engine or network directory (or manifest) -> Engine or Network;
    the manifest's `block` decides."""
    path = find_manifest(arg, "engine or network")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise ManifestError(f"{path}: {e}") from None
    block = manifest.get("block")
    directory = os.path.dirname(path)
    try:
        if block == "network":
            design = Network(directory, manifest)
        elif block == "conv":
            design = ConvEngine(manifest.get("params"), directory)
        elif block == "pa_conv":
            design = PaConvEngine(manifest.get("params"), directory)
        else:
            raise ManifestError(f"block {block!r} is not a streaming engine or a network")
        return attach_top(design, directory, path, manifest)
    except ManifestError as e:
        raise ManifestError(f"{path}: {e}") from None


# --------------------------------------------------------------------------
# Scenarios: frames in, expected beats out


def make_plan(eng, seed):
    rng = random.Random(f"{seed}:{eng.top}")
    rand, ones, zeros = eng.frames(rng, 8)
    hw = eng.height * eng.width
    r = [("random", f) for f in rand]
    one, zero = (eng.max_frame, ones), ("all-zeros", zeros)
    if eng.kind == "engine":
        # output stalled for 6*ii+7 cycles (long enough to fill the engine's
        # output queue and stall its schedule), then ready for 11, repeatedly
        heavy_frames, heavy_sink = [r[4], zero], ["burst", 6 * eng.ii + 7, 11]
        # reset part-way through the second frame (not on a row boundary), with
        # outputs of the first frame likely still waiting behind a stalled sink
        before, reset_frames = 2, [r[5], r[6], r[7], one]
        reset_sink = ["burst", 5 * eng.ii + 5, 5]
        quiet = eng.fill_cycles + 8 * eng.ii + 100
    else:
        # one output beat per image: stalls of over two image periods fill
        # the output stage, the FIFOs and every layer back to the input, with
        # more images than the stages between them hold
        heavy_frames = [r[4], zero, r[2], one]
        heavy_sink = ["burst", 2 * eng.cycles_per_frame + 7, 3]
        # the first output comes a frame period after the input: reset in the
        # third image; with stalls of half a period, the first image's beat
        # moves before the reset and the second image is in flight
        before, reset_frames = 3, [r[5], r[6], r[7], r[0], one]
        reset_sink = ["burst", eng.cycles_per_frame // 2 + 5, 5]
        quiet = eng.fill_cycles + eng.cycles_per_frame + 100
    reset_after = min((before - 1) * hw + (2 * hw) // 3 + 1, before * hw - 1)
    scenarios = [
        # name, input pause, output pause, frames, reset after this many input beats
        ("no_pauses", None, None, [one, zero, r[0], r[1]], None),
        ("pauses_light", ["random", 0.2], ["random", 0.3], [r[2], r[3], one], None),
        ("pauses_heavy", ["random", 0.5], heavy_sink, heavy_frames, None),
        ("reset_mid_frame", ["random", 0.25], reset_sink, reset_frames, reset_after),
    ]
    if eng.kind == "network":
        # output stalled until the input has been refused for two image
        # periods in a row (every stage full back to the input), then drained
        full = [r[i % 8] if i % 5 else (zero if i % 2 else one)
                for i in range(BACKPRESSURE_IMAGES)]
        scenarios.append(("backpressure", None,
                          ["until_full", 2 * eng.cycles_per_frame + eng.fill_cycles,
                           len(full) * hw], full, None))
    plan = {"top": eng.top, "kind": eng.kind, "in_bits": eng.in_bits, "out_bits": eng.out_bits,
            "pixels_in": hw, "pixels_out": eng.pixels_out,
            "cycles_per_frame": eng.cycles_per_frame, "fill_cycles": eng.fill_cycles,
            "quiet_cycles": quiet, "clock_ns": CLOCK_NS, "seed": f"{seed}:{eng.top}",
            "scenarios": []}
    for name, src_pause, sink_pause, frames, reset_after in scenarios:
        expected, notes = zip(*(eng.expected_with_note(f) for _, f in frames))
        plan["scenarios"].append({
            "name": name, "src_pause": src_pause, "sink_pause": sink_pause,
            "kinds": [k for k, _ in frames], "frames": [f for _, f in frames],
            "expected": list(expected), "notes": list(notes),
            # with a reset, frames[:before] go before it (the last of them only
            # in part), frames[before:] after it
            "reset_after_beats": reset_after,
            "frames_before_reset": before if reset_after else None,
        })
    return plan


# --------------------------------------------------------------------------
# Running one engine or network under cocotb


def run_engine(eng, seed, keep):
    """Returns (passed, report text). The work directory stays on failure."""
    work = tempfile.mkdtemp(prefix=f"mbnn_stream_{eng.top[:40]}_")
    passed, text = simulate(eng, make_plan(eng, seed), work)
    if keep or not passed:
        text += f"\n  (work files, sim.log and results.xml in {work})"
    else:
        shutil.rmtree(work, ignore_errors=True)
    return passed, text


def simulate(eng, plan, work):
    from cocotb_tools.runner import get_runner

    label = f"{eng.top} ({eng.dir})"
    # $readmemh reads relative to the simulator's working directory
    for f in eng.files:
        if not f.endswith((".v", ".sv", ".json")):
            shutil.copy(f, work)
    plan_path = os.path.join(work, "plan.json")
    result_path = os.path.join(work, "result.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    runner = get_runner("icarus")
    sources = [os.path.abspath(f) for f in eng.files if f.endswith((".v", ".sv"))]
    try:
        runner.build(sources=sources, hdl_toplevel=eng.top, build_dir=work,
                     timescale=("1ns", "1ps"), always=True,
                     log_file=os.path.join(work, "build.log"))
    except (RuntimeError, SystemExit) as e:
        return False, f"FAIL {label}: iverilog failed ({e}); see build.log"
    try:
        runner.test(test_module=TB_MODULE, hdl_toplevel=eng.top, build_dir=work,
                    test_dir=work, log_file=os.path.join(work, "sim.log"),
                    extra_env={"STREAM_PLAN": plan_path, "STREAM_RESULT": result_path,
                               # no __pycache__ next to stream_tb.py
                               "PYTHONDONTWRITEBYTECODE": "1"})
    except SystemExit as e:
        if not os.path.exists(result_path):
            return False, f"FAIL {label}: the simulator exited with {e.code}; see sim.log"
    results = []
    if os.path.exists(result_path):
        with open(result_path) as f:
            results = json.load(f)
    return report(eng, plan, results, cocotb_failures(work))


def cocotb_failures(work):
    """Scenario index -> "Type: message" of each cocotb test that failed or
    raised, from cocotb's results.xml (an exception before the check ran
    leaves no entry in result.json)."""
    out = {}
    try:
        root = xml.etree.ElementTree.parse(os.path.join(work, "results.xml")).getroot()
    except (OSError, xml.etree.ElementTree.ParseError):
        return out
    for case in root.iter("testcase"):
        name = case.get("name", "")
        for tag in ("failure", "error"):
            bad = case.find(tag)
            if bad is not None and "index=" in name:
                out[int(name.rsplit("index=", 1)[1])] = f"{bad.get('type')}: {bad.get('message')}"
    return out


def show_beat(eng, beat):
    if beat is None:
        return "nothing"
    data, last = beat
    if not isinstance(data, int):                 # X or Z bits, as the simulator printed them
        return f"tdata {data} tlast {last}"
    return f"tdata 0x{data:x} tlast {last}"


def describe_mismatch(eng, sc, mm):
    exp, act = mm["expected"], mm["actual"]
    if exp is None:
        return [f"    output beat {mm['pixel']} is one too many: got {show_beat(eng, act)}"]
    frame, pixel = mm["frame"], mm["pixel"]
    lines = [f"    frame {frame} ({mm['frame_kind']}), {eng.beat_name(pixel)}: "
             f"expected {show_beat(eng, exp)}, got {show_beat(eng, act)}"]
    if act is not None and isinstance(act[0], int) and act[0] != exp[0]:
        note = sc.get("notes", [None] * (frame + 1))[frame]
        lines.append(f"      expected {eng.decode_output(exp[0])}"
                     + (f" ({note})" if note else ""))
        lines.append(f"      actual   {eng.decode_output(act[0])}")
    return lines


def report(eng, plan, results, crashed):
    label = f"{eng.top} ({eng.dir})"
    by_name = {r["name"]: r for r in results}
    lines, beats, ok = [], 0, True
    for index, sc in enumerate(plan["scenarios"]):
        r = by_name.get(sc["name"])
        if r is None:
            ok = False
            why = crashed.get(index, "no result (see sim.log)")
            lines.append(f"  {sc['name']}: did not finish: {why}")
            continue
        if r["ok"] and index in crashed:
            r = dict(r, ok=False, error=crashed[index])
        beats += r.get("beats_checked", 0)
        if r["ok"]:
            continue
        ok = False
        lines.append(f"  {sc['name']}: {r['error']}")
        for mm in r.get("mismatches", [])[:SHOW_MISMATCHES]:
            lines += describe_mismatch(eng, sc, mm)
    frames = sum(by_name.get(sc["name"], {}).get("frames_sent", len(sc["frames"]))
                 for sc in plan["scenarios"])
    what = (f"{len(plan['scenarios'])} scenarios, {frames} frames of {eng.shape_text()}, "
            f"{beats} beats checked")
    for sc in plan["scenarios"]:
        released = by_name.get(sc["name"], {}).get("released")
        if sc["sink_pause"] and sc["sink_pause"][0] == "until_full" and released:
            taken = released["input_beats"] / plan["pixels_in"]
            what += (f"; output stalled until the input was refused ({taken:.1f} images in)"
                     if released["refused_run"] >= sc["sink_pause"][1] else
                     f"; the input was never refused with the output stalled ({taken:.0f} "
                     "images in)")
    if ok:
        return True, f"PASS {label}: {what}"
    return False, f"FAIL {label}: {what}\n" + "\n".join(lines)


def icarus_version():
    try:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout
        return " ".join(out.splitlines()[0].split()[:4])
    except (OSError, IndexError):
        return "Icarus Verilog"


def main(argv):
    ap = argparse.ArgumentParser(
        description="Check mbnn stream engines and networks under cocotb + Icarus.")
    ap.add_argument("designs", nargs="+",
                    help="engine or network directories, each with one manifest .json")
    ap.add_argument("--seed", default="1", help="random seed (default 1)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="designs simulated at once (default: the number of cores)")
    ap.add_argument("--keep", action="store_true", help="keep the build directories")
    args = ap.parse_args(argv)

    try:
        import cocotb_tools.runner  # noqa: F401
        import cocotbext.axi  # noqa: F401
    except ImportError as e:
        print(f"cocotb or cocotbext-axi is missing ({e}): run `make setup` and use .venv/bin/python")
        return 2
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        print("iverilog is not installed: install it with `sudo apt-get install iverilog`")
        return 2
    try:
        designs = [load_design(a) for a in args.designs]
    except ManifestError as e:
        print(f"error: {e}")
        return 2

    counts = {k: sum(d.kind == k for d in designs) for k in ("engine", "network")}
    what = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in counts.items() if n)
    print(f"stream designs under cocotb {version('cocotb')}, cocotbext-axi "
          f"{version('cocotbext-axi')}, {icarus_version()}: {what}", flush=True)
    start = time.time()
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # the longest first, so that the cores stay busy; reported in the given order
        futures = {id(d): pool.submit(run_engine, d, args.seed, args.keep)
                   for d in sorted(designs, key=lambda d: -d.cycles_per_frame)}
        for d in designs:
            try:
                ok, text = futures[id(d)].result()
            except Exception as e:     # a bench bug must not read as a pass
                ok, text = False, f"FAIL {d.top} ({d.dir}): {type(e).__name__}: {e}"
            print(text, flush=True)
            passed, failed = passed + ok, failed + (not ok)
    print(f"{what} checked in {time.time() - start:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
