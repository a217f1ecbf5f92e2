// The baseline of `make bench` (issue #5): a registered XNOR-popcount written
// as a plain `for` loop and left to the synthesis tool. Same ports and
// latency as a generated `--block xnor_pe` (clk, rst, in_valid, a, w,
// out_valid, y), so the same board wrapper and flows can drive it; y is the
// popcount itself, without the generated PE's `2*pop - n`.
module xnor_popcount_loop #(
    parameter integer N = 256
) (
    input  wire clk,
    input  wire rst,
    input  wire in_valid,
    input  wire [N-1:0] a,
    input  wire [N-1:0] w,
    output wire out_valid,
    output wire [$clog2(N+1)-1:0] y
);
    localparam integer W = $clog2(N + 1);
    reg [N-1:0] a_q;
    reg [N-1:0] w_q;
    reg [W-1:0] y_q;
    reg [1:0] valid_q;
    reg [W-1:0] count;
    integer i;

    always @(*) begin
        count = {W{1'b0}};
        for (i = 0; i < N; i = i + 1) begin
            count = count + {{(W - 1){1'b0}}, ~(a_q[i] ^ w_q[i])};
        end
    end

    always @(posedge clk) begin
        a_q <= a;
        w_q <= w;
        y_q <= count;
    end

    always @(posedge clk) begin
        if (rst) begin
            valid_q <= 2'b00;
        end else begin
            valid_q <= {valid_q[0], in_valid};
        end
    end

    assign out_valid = valid_q[1];
    assign y = y_q;
endmodule
