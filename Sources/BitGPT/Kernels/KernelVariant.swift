import CBitGPTKernels

/// The instruction-set variant of the C kernels chosen at run time, e.g. `scalar` or `avx2`.
///
/// - Returns: a pointer to a static C string.
public func bgptKernelVariant() -> UnsafePointer<CChar> { bgpt_k_variant() }
