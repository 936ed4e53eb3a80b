/// Several linear layers applied to the same input in one parallel loop: q, k and v, or gate and up.
///
/// The input is prepared once (activation codes and scales), then the threads split the
/// concatenated rows of every member, so a decode step pays one fork and join for the group
/// instead of one per layer. The output of token t is the members' outputs side by side:
/// `out[t·ld + offset_m + r]` for row r of member m, with `offset_m` the rows of the members
/// before it. Each output element is computed exactly as ``Linear/forward(_:ld:_:n:scratch:pool:)``
/// computes it, so a group changes no result.
public final class LinearGroup {
    /// The layers, in output order.
    public let members: [Linear]
    /// First output column of each member.
    let offsets: [Int]
    /// Rows of all members together.
    public let rows: Int
    /// Input width, shared by every member.
    public let cols: Int

    /// Groups layers that can share one prepared input (``Linear/sharesInput(with:)``); nil when
    /// they cannot (for example BitGPT's per-layer RMSNorms), and the caller runs them one by one.
    public init?(_ members: [Linear]) {
        guard let first = members.first, members.allSatisfy({ $0.sharesInput(with: first) }) else { return nil }
        self.members = members
        var o: [Int] = [], r = 0
        for m in members {
            o.append(r)
            r += m.rows
        }
        offsets = o
        rows = r
        cols = first.cols
    }

    /// Computes every member for `n` tokens: x is (n, cols), out is (n, ld) with `ld ≥ rows`.
    ///
    /// Tokens go in chunks whose integer sums fit the scratch; `out` must not alias `x`.
    public func forward(_ out: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, n: Int,
                        scratch s: LinearScratch, pool: WorkerPool) {
        let chunk = max(1, min(s.maxTokens, s.accCapacity / rows))
        var t0 = 0
        while t0 < n {
            let m = min(chunk, n - t0)
            forwardChunk(out + t0 * ld, ld: ld, x + t0 * cols, n: m, scratch: s, pool: pool)
            t0 += m
        }
    }

    /// SwiGLU over a [gate, up] group of equal rows H: `out[t·ld + r] = silu(gate_r)·up_r` for
    /// r < H, with `out[t·ld + H + r]` holding up. Each thread combines the rows it computed, so
    /// the activation runs in the same parallel loop. Requires `ld ≥ 2·H`.
    public func forwardSwiGLU(_ out: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, n: Int,
                              scratch s: LinearScratch, pool: WorkerPool) {
        precondition(members.count == 2 && members[0].rows == members[1].rows, "SwiGLU needs gate and up of equal rows")
        let gate = members[0], up = members[1], H = gate.rows
        let chunk = max(1, min(s.maxTokens, s.accCapacity / rows))
        var t0 = 0
        while t0 < n {
            let m = min(chunk, n - t0)
            let o = out + t0 * ld
            let input = gate.prepare(x + t0 * cols, n: m, scratch: s)
            pool.forRanges(H, minPerThread: 16) { r0, r1 in
                gate.rowsForward(o, ld: ld, input, r0: r0, r1: r1, n: m, scratch: s, acc: s.acc)
                up.rowsForward(o + H, ld: ld, input, r0: r0, r1: r1, n: m, scratch: s, acc: s.acc + m * H)
                for t in 0..<m {
                    let row = o + t * ld
                    swigluForward(row + r0, row + r0, row + H + r0, n: r1 - r0)
                }
            }
            t0 += m
        }
    }

    private func forwardChunk(_ out: UnsafeMutablePointer<Float>, ld: Int, _ x: UnsafePointer<Float>, n: Int,
                              scratch s: LinearScratch, pool: WorkerPool) {
        let input = members[0].prepare(x, n: n, scratch: s)
        pool.forRanges(rows, minPerThread: 16) { g0, g1 in
            // The global row range [g0, g1) meets each member in a (possibly empty) sub-range.
            for (m, layer) in members.enumerated() {
                let o = offsets[m]
                let r0 = max(g0 - o, 0), r1 = min(g1 - o, layer.rows)
                guard r0 < r1 else { continue }
                layer.rowsForward(out + o, ld: ld, input, r0: r0, r1: r1, n: n, scratch: s, acc: s.acc + n * o)
            }
        }
    }
}
