/// A fixed-size, 64-byte aligned, zero-initialised buffer of `T`, owned by its object.
///
/// Used for every activation buffer and the KV cache, so that decoding allocates nothing and SIMD
/// kernels can rely on cache-line alignment.
public final class AlignedBuffer<T> {
    /// First element.
    public let pointer: UnsafeMutablePointer<T>
    /// Number of elements.
    public let count: Int

    /// Allocates `count` elements (at least one), zero-filled.
    ///
    /// - Parameter count: number of elements.
    public init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<T>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
