import CBitGPTKernels
import Foundation

/// Splits loops over output rows (or attention heads) across a fixed set of threads.
///
/// Work is cut into at most `threads` contiguous ranges; the caller runs range 0 and the others go
/// to whichever thread claims them first. The threads are the C pool of `bitgpt_pool.h`: they spin
/// for a bounded time between loops, so the five or so loops of each layer of a decode step start
/// in well under a microsecond, and sleep when idle; the caller runs any range no worker has
/// claimed, so a busy machine slows a loop down to one thread's speed, not to the scheduler's
/// time slice. Every output element is computed by the same code whatever the range it falls in
/// and whichever thread runs it, so results are bit-identical for any thread count.
///
/// One loop at a time: a pool must not run loops from two threads at once.
public final class WorkerPool: @unchecked Sendable {
    /// Number of ranges a loop is cut into (≥ 1).
    public let threads: Int
    private let pool: OpaquePointer?
    /// Parallel loops run so far (each one a fork and a join when `threads` > 1).
    public private(set) var loops = 0

    /// Creates a pool and starts its threads.
    ///
    /// - Parameter threads: threads to use, caller included; nil or 0 means every active core.
    ///   Values above ``ThreadLimit/maximum`` are clamped to it.
    public init(threads: Int? = nil) {
        let n = threads ?? 0
        let t = min(n > 0 ? n : max(ProcessInfo.processInfo.activeProcessorCount, 1), ThreadLimit.maximum)
        // A pool that cannot start its threads runs everything on the caller.
        let p = t > 1 ? bgpt_pool_create(Int32(t)) : nil
        self.threads = p == nil ? 1 : t
        pool = p
    }

    deinit { bgpt_pool_destroy(pool) }

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
        forParts(parts) { i, n in body(count * i / n, count * (i + 1) / n) }
    }

    /// Runs `body(i, parts)` for i in `0..<parts` (parts ≤ ``threads``), part 0 on the caller.
    ///
    /// - Parameters:
    ///   - parts: number of parts, clamped to `1...threads`.
    ///   - body: called once per part, possibly concurrently.
    public func forParts(_ parts: Int, _ body: (Int, Int) -> Void) {
        let n = min(max(parts, 1), threads)
        guard n > 1, let pool else {
            body(0, 1)
            return
        }
        loops += 1
        withoutActuallyEscaping(body) { b in
            var task = PoolTask(body: b)
            withUnsafeMutablePointer(to: &task) { ptr in
                bgpt_pool_run(pool, Int32(n), { ctx, i, n in
                    ctx!.assumingMemoryBound(to: PoolTask.self).pointee.body(Int(i), Int(n))
                }, ptr)
            }
        }
    }
}

/// The closure a pool round runs, passed to the C threads by address.
private struct PoolTask {
    let body: (Int, Int) -> Void
}
