#!/usr/bin/env python3
"""The iCEBreaker UART top of a network (`mbnn gen --network net.json --uart
BAUD`), simulated whole in Icarus under cocotb: cocotbext-uart's UartSource
sends each image as the byte 0xff and one byte a pixel into `rx`, its
UartSink reads the class byte from `tx`.

    .venv/bin/python testbench/uart_check.py --baud B --images test.json [--count N] DIR

The expected classes come from the network's manifest alone, through
stream_check.Network (written from SPEC 7, never from mbnn's Rust code).
Besides the first N images of the file, back to back, the run sends:
  - an image cut short after 20 pixels, then a whole image: the marker
    resets the network, so exactly one answer comes, the whole image's;
  - an image with every pixel byte 0xfe, which the top clips to the
    input's largest value.
After each answer the class LEDs must show the class's low 5 bits, and at
the end the error LED must be off. Exit status: 0 passed, 1 failed, 2 bad
usage or missing tools.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from manifest_check import ManifestError  # noqa: E402
from stream_check import load_design  # noqa: E402

CLOCK_PS = 83334  # the iCEBreaker's 12 MHz (cocotb wants an even period)
MARKER = 0xFF


def test_failures(work):
    """The failure messages of cocotb's results.xml; None without one."""
    try:
        root = xml.etree.ElementTree.parse(os.path.join(work, "results.xml")).getroot()
    except (OSError, xml.etree.ElementTree.ParseError):
        return None
    out = []
    for case in root.iter("testcase"):
        for tag in ("failure", "error"):
            bad = case.find(tag)
            if bad is not None:
                out.append(f"{bad.get('type')}: {bad.get('message')}")
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baud", type=int, required=True, help="the rate the top was generated for")
    ap.add_argument("--images", required=True, help="an image file (mbnn's format)")
    ap.add_argument("--count", type=int, default=20, help="images sent back to back (default 20)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("dir", help="the directory mbnn gen --uart wrote")
    a = ap.parse_args(argv)
    try:
        net = load_design(a.dir)
    except ManifestError as e:
        print(f"uart_check: {e}", file=sys.stderr)
        return 2
    if not os.path.isfile(os.path.join(a.dir, "uart_top.v")):
        print(f"uart_check: {a.dir}: no uart_top.v (generate with --uart)", file=sys.stderr)
        return 2
    with open(a.images) as f:
        images = json.load(f)["images"][: a.count]
    largest = (1 << net.bits) - 1
    clipped = [largest] * (net.height * net.width)
    expected = [net.run(img)[1] for img in images]
    plan = {
        "clock_ps": CLOCK_PS,
        # An image's compute after its last pixel is at most a frame and the fill.
        "network_ns": (net.cycles_per_frame + net.fill_cycles) * CLOCK_PS // 1000,
        "baud": a.baud,
        "images": images,
        "expected": expected,
        "cut_short": images[0][:20],
        "after_cut": images[1 % len(images)],
        "after_cut_class": expected[1 % len(expected)],
        "over_range": [0xFE] * (net.height * net.width),
        "over_range_class": net.run(clipped)[1],
    }
    from cocotb_tools.runner import get_runner

    work = tempfile.mkdtemp(prefix="uart_check.")
    for f in os.listdir(a.dir):
        if f.endswith(".hex"):
            shutil.copy(os.path.join(a.dir, f), work)
    plan_path = os.path.join(work, "plan.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    sources = [os.path.abspath(os.path.join(a.dir, f)) for f in sorted(os.listdir(a.dir)) if f.endswith(".v")]
    runner = get_runner("icarus")
    runner.build(sources=sources, hdl_toplevel="uart_top", build_dir=work, timescale=("1ns", "1ps"),
                 always=True, log_file=os.path.join(work, "build.log"))
    try:
        runner.test(test_module="uart_tb", hdl_toplevel="uart_top", build_dir=work,
                    test_dir=work, log_file=os.path.join(work, "sim.log"),
                    extra_env={"UART_PLAN": plan_path, "PYTHONDONTWRITEBYTECODE": "1"})
    except SystemExit:
        pass
    failures = test_failures(work)
    label = f"{net.top} behind uart_top at {a.baud} baud"
    if failures is not None and not failures:
        print(f"PASS {label}: {len(images)} images + a cut-short image + clipped pixels, every class byte and LED checked")
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    print(f"FAIL {label}: {'; '.join(failures or ['no results: see sim.log'])} (work files in {work})")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
