/// Forward/backward kernel pairs over contiguous row-major Float buffers.
///
/// Legend used in the kernel files: B batch, T sequence length, C channels,
/// OC output channels, V vocabulary size, NH heads, HS head size (C / NH).
/// Argument order is always: outputs, saved statistics, inputs, weights, shape.
/// Backward kernels ACCUMULATE (+=) into the gradients they are given; the caller zeroes them.
public enum Kernels {}
