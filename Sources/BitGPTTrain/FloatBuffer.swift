/// One owned, 64-byte aligned, zero-initialised block of `Float`s: the storage behind the
/// parameters, gradients, Adam moments and activations (each one flat buffer, carved up by a
/// size table, as in llm.c).
public final class FloatBuffer {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of elements.
    public let count: Int

    /// Allocates `count` zeroed floats.
    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1) * 4)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// Sets every element to zero.
    public func zero() { base.update(repeating: 0, count: count) }

    /// Pointer to element `offset`.
    @inline(__always) public func at(_ offset: Int) -> UnsafeMutablePointer<Float> { base + offset }

    /// A copy of elements `[offset, offset + n)`.
    public func array(_ offset: Int = 0, count n: Int? = nil) -> [Float] {
        Array(UnsafeBufferPointer(start: base + offset, count: n ?? count - offset))
    }

    /// Copies `values` to elements starting at `offset`.
    public func set(_ values: [Float], at offset: Int = 0) {
        precondition(offset + values.count <= count)
        values.withUnsafeBufferPointer { (base + offset).update(from: $0.baseAddress!, count: values.count) }
    }
}
