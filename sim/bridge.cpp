// C-ABI bridge around one Verilated model, so that Rust drives every clock
// edge. Compiled once per design with the model's class renamed to Vdut
// (verilator --prefix Vdut) and with ports.inc, generated beside the model
// from the design's signature, listing every port but the clock as
// MBNN_INPUT(index, name) / MBNN_OUTPUT(index, name). The clock is `clk`.
#include "Vdut.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#else
class VerilatedVcdC;  // models built without --trace cannot trace
#endif
#include <cstdint>

#define MBNN_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

struct Bridge {
    VerilatedContext context;
    Vdut* model;
    VerilatedVcdC* trace = nullptr;
    uint64_t time = 0;
    explicit Bridge(bool tracing) {
        // Tracing must be switched on before the model is built.
        context.traceEverOn(tracing);
        model = new Vdut{&context};
    }
    ~Bridge() {
#if VM_TRACE
        if (trace) { trace->close(); delete trace; }
#endif
        model->final();
        delete model;
    }
    void dump() {
#if VM_TRACE
        if (trace) trace->dump(time);
#endif
        time++;
    }
};

// Ports of up to 64 bits are plain integers in the model, wider ones are
// VlWide arrays of 32-bit words. Values cross the bridge as 64-bit words,
// least significant first, the layout of the Rust side's bit vectors, so
// that nothing is converted or allocated per cycle.
template <typename T> void put(T& port, const uint64_t* words) { port = static_cast<T>(words[0]); }
template <std::size_t N> void put(VlWide<N>& port, const uint64_t* words) {
    for (std::size_t i = 0; i < N; ++i) port[i] = static_cast<uint32_t>(words[i / 2] >> (32 * (i % 2)));
}
template <typename T> void take(const T& port, uint64_t* words) { words[0] = port; }
template <std::size_t N> void take(const VlWide<N>& port, uint64_t* words) {
    for (std::size_t i = 0; i < (N + 1) / 2; ++i) words[i] = 0;
    for (std::size_t i = 0; i < N; ++i) words[i / 2] |= static_cast<uint64_t>(port[i]) << (32 * (i % 2));
}

}  // namespace

MBNN_EXPORT void* mbnn_new(int tracing) { return new Bridge(tracing != 0); }
MBNN_EXPORT void mbnn_free(void* h) { delete static_cast<Bridge*>(h); }

MBNN_EXPORT void mbnn_set_input(void* h, int index, const uint64_t* words) {
    Vdut* m = static_cast<Bridge*>(h)->model;
    switch (index) {
#define MBNN_INPUT(i, name) case i: put(m->name, words); break;
#define MBNN_OUTPUT(i, name)
#include "ports.inc"
#undef MBNN_INPUT
#undef MBNN_OUTPUT
    default: break;
    }
}

MBNN_EXPORT void mbnn_get_output(void* h, int index, uint64_t* words) {
    Vdut* m = static_cast<Bridge*>(h)->model;
    switch (index) {
#define MBNN_INPUT(i, name)
#define MBNN_OUTPUT(i, name) case i: take(m->name, words); break;
#include "ports.inc"
#undef MBNN_INPUT
#undef MBNN_OUTPUT
    default: break;
    }
}

// The clock low with the inputs set so far: the outputs then show what the
// design presents before the next rising edge (a stream's tready and tvalid).
MBNN_EXPORT void mbnn_settle(void* h) {
    Bridge* b = static_cast<Bridge*>(h);
    b->model->clk = 0;
    b->model->eval();
    b->dump();
}

// The rising edge: the inputs are sampled; the outputs then show the
// registers' new values.
MBNN_EXPORT void mbnn_rise(void* h) {
    Bridge* b = static_cast<Bridge*>(h);
    b->model->clk = 1;
    b->model->eval();
    b->dump();
}

// One whole clock cycle: settle, then the rising edge.
MBNN_EXPORT void mbnn_cycle(void* h) {
    mbnn_settle(h);
    mbnn_rise(h);
}

MBNN_EXPORT int mbnn_trace_open(void* h, const char* path) {
#if VM_TRACE
    Bridge* b = static_cast<Bridge*>(h);
    b->trace = new VerilatedVcdC;
    b->model->trace(b->trace, 99);
    b->trace->open(path);
    return b->trace->isOpen() ? 0 : -1;
#else
    (void)h;
    (void)path;
    return -1;
#endif
}
