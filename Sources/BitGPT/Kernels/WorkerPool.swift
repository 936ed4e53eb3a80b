import Dispatch
import Foundation

/// Splits loops over output rows (or attention heads) across a fixed number of threads.
///
/// Work is cut into at most `threads` contiguous ranges and run with
/// `DispatchQueue.concurrentPerform`. Every output element is computed by the same code whatever
/// the range it falls in, so results are bit-identical for any thread count.
public final class WorkerPool: @unchecked Sendable {
    /// Number of ranges a loop is cut into (≥ 1).
    public let threads: Int

    /// Creates a pool.
    ///
    /// - Parameter threads: threads to use; nil or 0 means every active core.
    public init(threads: Int? = nil) {
        let n = threads ?? 0
        self.threads = n > 0 ? n : max(ProcessInfo.processInfo.activeProcessorCount, 1)
    }

    /// Runs `body(start, end)` over a partition of `0..<count` into contiguous ranges.
    ///
    /// - Parameters:
    ///   - count: number of items (rows, heads).
    ///   - minPerThread: don't split below this many items per range (tiny loops stay on one thread).
    ///   - body: called once per range, possibly concurrently; must only write its own items.
    @inline(__always)
    public func forRanges(_ count: Int, minPerThread: Int = 1, _ body: (Int, Int) -> Void) {
        let parts = min(threads, max(count / max(minPerThread, 1), 1))
        if parts <= 1 {
            body(0, count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { i in
            body(count * i / parts, count * (i + 1) / parts)
        }
    }
}
