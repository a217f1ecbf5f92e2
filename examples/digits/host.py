#!/usr/bin/env python3
"""Classify the digits test set on an iCEBreaker over its UART.

Build and load the board first:

    cargo run --release -- pnr --board icebreaker --network examples/digits/groupnet_k3.json --uart 115200
    iceprog target/mbnn-pnr/icebreaker/digits_groupnet_k3_uart/board_top.bin

then

    .venv/bin/python examples/digits/host.py --port /dev/ttyUSB1 [--baud 115200] [--count N]

Each image goes out as the byte 0xff and its 64 pixel bytes (0..15, in
raster order); the board answers with one byte, the class, and shows it on
the PMOD LEDs. The script compares every answer with the label and, when
`--expected classify.json` is given (written by `mbnn sim --network ...
--images ...`), with the golden model's class image for image.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = 0xFF


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB1")
    ap.add_argument("--baud", type=int, default=115200, help="the rate the top was built for (default 115200)")
    ap.add_argument("--images", default=os.path.join(HERE, "test_images.json"))
    ap.add_argument("--count", type=int, default=0, help="only the first N images (default: all)")
    ap.add_argument("--expected", help="classify.json of mbnn sim --images: the golden model's classes")
    ap.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for an answer")
    a = ap.parse_args(argv)
    try:
        import serial
    except ImportError:
        print("host.py: pyserial is missing: run make setup (it installs it into .venv)", file=sys.stderr)
        return 2
    with open(a.images) as f:
        data = json.load(f)
    images, labels = data["images"], data.get("labels")
    if a.count:
        images = images[: a.count]
    golden = None
    if a.expected:
        with open(a.expected) as f:
            golden = json.load(f)["golden"]
    try:
        port = serial.Serial(a.port, a.baud, timeout=a.timeout)
    except serial.SerialException as e:
        print(f"host.py: --port {a.port}: {e}", file=sys.stderr)
        return 2
    right = agree = 0
    start = time.monotonic()
    with port:
        port.reset_input_buffer()
        for i, image in enumerate(images):
            port.write(bytes([MARKER] + [min(int(v), 15) for v in image]))
            answer = port.read(1)
            if not answer:
                print(f"host.py: image {i}: no answer within {a.timeout} s (is the bitstream for {a.baud} baud loaded?)",
                      file=sys.stderr)
                return 1
            cls = answer[0]
            if labels is not None and cls == labels[i]:
                right += 1
            if golden is not None:
                if cls != golden[i]:
                    print(f"image {i}: the board says {cls}, the golden model {golden[i]}")
                else:
                    agree += 1
    seconds = time.monotonic() - start
    n = len(images)
    print(f"{n} images in {seconds:.1f} s ({n / seconds:.0f} images/s over the UART)")
    if labels is not None:
        print(f"accuracy: {100.0 * right / n:.2f} % ({right} of {n})")
    if golden is not None:
        print(f"equal to the golden model: {agree} of {n}")
        return 0 if agree == n else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
