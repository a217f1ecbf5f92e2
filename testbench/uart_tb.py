"""cocotb test of uart_top (driven by uart_check.py): cocotbext-uart on
both UART lines, the plan from $UART_PLAN."""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer
from cocotbext.uart import UartSink, UartSource

PLAN = None
if "UART_PLAN" in os.environ:
    with open(os.environ["UART_PLAN"]) as plan_file:
        PLAN = json.load(plan_file)
MARKER = 0xFF
CLASS_LEDS = 5


async def answer(sink, dut, what, timeout_ns):
    """One class byte from tx, within `timeout_ns`; then the class LEDs."""
    await sink.wait(timeout=timeout_ns, timeout_unit="ns")
    assert not sink.empty(), f"{what}: no class byte within {timeout_ns} ns"
    got = sink.read_nowait(1)[0]
    await ClockCycles(dut.clk, 4)
    leds = int(dut.led_class.value)
    return got, leds


@cocotb.test()
async def images_over_the_uart(dut):
    plan = PLAN
    # FPGA flip-flops start at 0 on configuration; the power-on reset's shift
    # register relies on it (a simulator starts it at x).
    dut.por_shift.value = 0
    cocotb.start_soon(Clock(dut.clk, plan["clock_ps"], unit="ps").start())
    source = UartSource(dut.rx, baud=plan["baud"], bits=8)
    sink = UartSink(dut.tx, baud=plan["baud"], bits=8)
    await ClockCycles(dut.clk, 40)  # the power-on reset
    bit_ns = 1e9 / plan["baud"]
    # An image takes (1 + pixels) bytes of 10 bits, then the network's compute.
    per_image = int((1 + len(plan["images"][0])) * 10 * bit_ns * 1.2 + 2 * plan["network_ns"]) + 20 * int(bit_ns)

    for i, (image, want) in enumerate(zip(plan["images"], plan["expected"])):
        await source.write(bytes([MARKER] + image))
        got, leds = await answer(sink, dut, f"image {i}", per_image)
        assert got == want, f"image {i}: class byte {got}, expected {want}"
        assert leds == want % (1 << CLASS_LEDS), f"image {i}: class LEDs {leds:05b}, expected class {want}"

    # Cut short: the marker before the next image drops the partial one.
    await source.write(bytes([MARKER] + plan["cut_short"]))
    await source.write(bytes([MARKER] + plan["after_cut"]))
    got, _ = await answer(sink, dut, "the image after a cut-short one", 2 * per_image)
    assert got == plan["after_cut_class"], f"after a cut-short image: class {got}, expected {plan['after_cut_class']}"
    await Timer(per_image, "ns")
    assert sink.empty(), f"a cut-short image gave an answer too: {list(sink.read_nowait())}"

    # Pixel bytes above the input's range are clipped to its largest value.
    await source.write(bytes([MARKER] + plan["over_range"]))
    got, _ = await answer(sink, dut, "the over-range image", per_image)
    assert got == plan["over_range_class"], f"clipped pixels: class {got}, expected {plan['over_range_class']}"

    led_n = int(dut.led_n.value)
    assert led_n & 1 == 1, "the error LED (led_n[0], active low) is lit"
