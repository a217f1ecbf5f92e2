"""cocotb tests for one mbnn stream engine or network; run by stream_check.py.

The plan (env STREAM_PLAN, written by stream_check.py) holds the input frames
and the expected output beats of every scenario (a network gives one beat
per frame, tlast on every beat); this module only drives the design through
cocotbext-axi and compares. Findings go to env STREAM_RESULT.
"""

import itertools
import json
import logging
import os
import random
import warnings

import cocotb
import cocotb.utils
from cocotb.clock import Clock
from cocotb.triggers import (ClockCycles, FallingEdge, ReadOnly, RisingEdge, SimTimeoutError,
                             with_timeout)
from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource

with open(os.environ["STREAM_PLAN"]) as _f:
    PLAN = json.load(_f)
RESULTS = []
# cocotbext-axi 0.1.28 still uses APIs that cocotb 2 deprecates; keep the log readable
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")
MAX_MISMATCHES = 10
RESET_CYCLES = 3
SLOWDOWN = 8          # timeouts allow this many times the unstalled frame period


def pause_generator(spec, rng, hs):
    """None: never pause; ["random", p]: pause each cycle with probability p;
    ["burst", on, off]: pause `on` cycles, then run `off` cycles, repeatedly;
    ["until_full", run, beats]: pause until the design has refused the input
    (tvalid high, tready low) `run` cycles in a row, or `beats` input beats
    have moved, then never again."""
    if spec is None:
        return None
    if spec[0] == "random":
        return (rng.random() < spec[1] for _ in itertools.count())
    if spec[0] == "burst":
        return itertools.cycle([True] * spec[1] + [False] * spec[2])
    if spec[0] == "until_full":
        return until_full(hs, spec[1], spec[2])
    raise ValueError(f"unknown pause spec {spec!r}")


def until_full(hs, run, beats):
    while hs.refused_run < run and hs.inp < beats:
        yield True
    hs.released = {"cycle": hs.cycle, "input_beats": hs.inp, "refused_run": hs.refused_run}
    while True:
        yield False


class Handshakes:
    """Counts the beats that move on both ports (tvalid and tready high at a
    rising edge) and the cycles at which an output beat with tlast moves.
    It also keeps each output beat's (tdata, tlast) as it moved: the check
    reads the sink's frames, but a beat that the sink holds back in a frame
    without tlast is only visible here, for the failure report."""

    def __init__(self, dut):
        self.dut = dut
        self.cycle = 0
        self.inp = 0
        self.refused = 0        # cycles with the input valid but not ready
        self.refused_run = 0    # the last of them in a row
        self.released = None    # when an "until_full" output stall ended
        self.out = 0
        self.last_cycles = []
        self.raw = []
        cocotb.start_soon(self._run())

    async def _run(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            self.cycle += 1
            if d.s_axis_tvalid.value == 1 and d.s_axis_tready.value == 1:
                self.inp += 1
                self.refused_run = 0
            elif d.s_axis_tvalid.value == 1:
                self.refused += 1
                self.refused_run += 1
            if d.m_axis_tvalid.value == 1 and d.m_axis_tready.value == 1:
                self.out += 1
                last = int(d.m_axis_tlast.value == 1)
                if last:
                    self.last_cycles.append(self.cycle)
                data = d.m_axis_tdata.value
                self.raw.append((int(data) if data.is_resolvable else str(data), last))


def expected_beats(sc, frame_indices):
    """(frame, pixel, tdata, tlast) for every output beat of these frames."""
    out = []
    for fi in frame_indices:
        beats = sc["expected"][fi]
        for pi, v in enumerate(beats):
            out.append((fi, pi, v, int(pi == len(beats) - 1)))
    return out


def compare(sc, expected, actual):
    """Beat by beat, in order; returns the mismatches (at most MAX_MISMATCHES)."""
    bad = []
    for k in range(max(len(expected), len(actual))):
        if len(bad) >= MAX_MISMATCHES:
            break
        act = list(actual[k]) if k < len(actual) else None
        if k >= len(expected):
            bad.append({"frame": -1, "pixel": k, "frame_kind": "none (extra beat)",
                        "expected": None, "actual": act})
            continue
        fi, pi, v, last = expected[k]
        if act is None or act != [v, last]:
            bad.append({"frame": fi, "pixel": pi, "frame_kind": sc["kinds"][fi],
                        "expected": [v, last], "actual": act})
    return bad


async def receive(sink, got, want, cycles):
    """Appends (tdata, tlast) of every beat of whole sink frames to `got` until
    it holds `want` beats; False on timeout."""
    deadline = cycles * PLAN["clock_ns"]
    start = cocotb.utils.get_sim_time("ns")
    while len(got) < want:
        left = deadline - (cocotb.utils.get_sim_time("ns") - start)
        if left <= 0:
            return False
        try:
            frame = await with_timeout(sink.recv(), left, "ns")
        except SimTimeoutError:
            return False
        data = list(frame.tdata)
        got.extend((v, int(i == len(data) - 1)) for i, v in enumerate(data))
    return True


def frame_budget(frames):
    """Cycles allowed for `frames` frames before calling it a hang."""
    return SLOWDOWN * (frames + 1) * PLAN["cycles_per_frame"] + PLAN["fill_cycles"] + 1000


def record(result):
    RESULTS.append(result)
    with open(os.environ["STREAM_RESULT"], "w") as f:
        json.dump(RESULTS, f)
    assert result["ok"], f"{result['name']}: {result['error']}"


@cocotb.test()
@cocotb.parametrize(index=list(range(len(PLAN["scenarios"]))))
async def stream(dut, index):
    sc = PLAN["scenarios"][index]
    rng = random.Random(f"{PLAN['seed']}:{sc['name']}")
    logging.getLogger(f"cocotb.{dut._name}").setLevel(logging.WARNING)
    result = {"name": sc["name"], "ok": False, "error": "", "beats_checked": 0}

    cocotb.start_soon(Clock(dut.clk, PLAN["clock_ns"], unit="ns").start())
    dut.rst.value = 1
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    await ClockCycles(dut.clk, RESET_CYCLES)
    await FallingEdge(dut.clk)
    # created once the engine's outputs are out of X (the sink reads tvalid
    # as a bool at every edge)
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst,
                             byte_size=PLAN["in_bits"])
    # the sink is not told about rst: beats that moved before a reset stay
    # in the record, in order, and are checked like all others
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk,
                         byte_size=PLAN["out_bits"])
    hs = Handshakes(dut)
    dut.rst.value = 0
    src_pause = pause_generator(sc["src_pause"], rng, hs)
    sink_pause = pause_generator(sc["sink_pause"], rng, hs)
    if src_pause is not None:
        source.set_pause_generator(src_pause)
    if sink_pause is not None:
        sink.set_pause_generator(sink_pause)

    frames = sc["frames"]
    got = []
    if sc["sink_pause"] and sc["sink_pause"][0] == "until_full":
        # one frame queued behind the one going in; two more frames once the
        # output stall has ended, then no more
        sent = 0
        for f in frames:
            if hs.released is not None and \
                    sent * PLAN["pixels_in"] >= hs.released["input_beats"] + 2 * PLAN["pixels_in"]:
                break
            await source.send(f)
            sent += 1
            for _ in range(frame_budget(1)):
                if source.count() == 0:
                    break
                await RisingEdge(dut.clk)
        result["frames_sent"] = sent
        expected = expected_beats(sc, range(sent))
        done = await receive(sink, got, len(expected), frame_budget(sent))
    elif sc["reset_after_beats"] is None:
        for f in frames:
            await source.send(f)
        expected = expected_beats(sc, range(len(frames)))
        done = await receive(sink, got, len(expected), frame_budget(len(frames)))
    else:
        before = sc["frames_before_reset"]
        for f in frames[:before]:
            await source.send(f)
        # wait until that many input beats have moved, then rst for one cycle
        for _ in range(frame_budget(before)):
            await RisingEdge(dut.clk)
            await ReadOnly()
            if hs.inp >= sc["reset_after_beats"]:
                break
        else:
            result["error"] = (f"hang: only {hs.inp} of {sc['reset_after_beats']} input beats "
                               "taken before the reset was due")
            record(result)
        await FallingEdge(dut.clk)
        dut.rst.value = 1          # the source drops the rest of its frame
        source.clear()
        await RisingEdge(dut.clk)  # the reset edge
        await ReadOnly()
        n_before = hs.out          # output beats that moved, up to this edge
        result["reset_cycle"] = hs.cycle
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        for f in frames[before:]:
            await source.send(f)
        pre = expected_beats(sc, range(before))
        if n_before > len(pre):
            result["error"] = (f"{n_before} output beats before the reset, but only "
                               f"{len(pre)} exist for the {before} frames sent")
            record(result)
        expected = pre[:n_before] + expected_beats(sc, range(before, len(frames)))
        done = await receive(sink, got, len(expected), frame_budget(len(frames)))
        result["beats_before_reset"] = n_before

    # anything after the last expected beat is an error too
    quiet = PLAN["quiet_cycles"]
    if done:
        await ClockCycles(dut.clk, quiet)
        while not sink.empty():
            data = list(sink.recv_nowait().tdata)
            got.extend((v, int(i == len(data) - 1)) for i, v in enumerate(data))
    errors = []
    if not done:
        errors.append(f"hang: {len(got)} of {len(expected)} beats arrived in whole frames "
                      f"before the timeout ({hs.out} output beats and {len(hs.last_cycles)} "
                      f"tlasts moved, {hs.inp} input beats)")
    elif hs.out > len(got):
        errors.append(f"{hs.out - len(got)} output beats after the last tlast")
    if len(got) != hs.out:
        got = hs.raw        # some beats never reached a whole frame: report them as moved
        errors.append("beats below are as they moved, not as the sink framed them")
    bad = compare(sc, expected, got)
    result["beats_checked"] = min(len(got), len(expected))
    result["tlast_cycles"] = hs.last_cycles
    result["input_refused_cycles"] = hs.refused
    if hs.released is not None:
        result["released"] = hs.released
    result["mismatches"] = bad
    if bad:
        errors.append(f"{len(bad)}{'+' if len(bad) >= MAX_MISMATCHES else ''} wrong beats")
    if sc["name"] == "no_pauses" and done and not bad:
        # SPEC 6.6: unstalled, frames come cycles_per_frame apart in steady state
        gaps = [b - a for a, b in zip(hs.last_cycles, hs.last_cycles[1:])]
        result["frame_gaps"] = gaps
        if any(g != PLAN["cycles_per_frame"] for g in gaps[1:]):
            errors.append(f"output frames {gaps} cycles apart, want cycles_per_frame = "
                          f"{PLAN['cycles_per_frame']} (after the first)")
    result["ok"] = not errors
    result["error"] = "; ".join(errors)
    record(result)
