import CBitGPTKernels
import Dispatch
import Foundation

/// The kernels kernel-bench can time.
enum BenchKernel: String {
    case t2, t1, i8, f32, f16, bf16, quantize
}

/// Raw pointers shared by benchmark threads; each thread writes only its own output rows.
struct SharedPointers: @unchecked Sendable {
    let w: UnsafeMutableRawPointer
    let x: UnsafeMutableRawPointer
    let q: UnsafeMutablePointer<Int8>
    let out: UnsafeMutableRawPointer
    let scale: UnsafeMutablePointer<Float>
}

/// One timed shape: W (rows, cols) in the kernel's storage, n tokens of activations.
struct BenchCase {
    let kernel: BenchKernel
    let rows: Int
    let cols: Int
    let n: Int

    /// Bytes of one packed row.
    var rowBytes: Int {
        switch kernel {
        case .t2: return 32 * (cols / 128) + (cols % 128 + 3) / 4
        case .t1: return 32 * (cols / 160) + (cols % 160 + 4) / 5
        case .i8: return cols
        case .f32: return 4 * cols
        case .f16, .bf16: return 2 * cols
        case .quantize: return 0
        }
    }

    /// Weight bytes read per call (activation bytes for quantize).
    var weightBytes: Int { kernel == .quantize ? 4 * n * cols : rows * rowBytes }

    /// Multiply-adds count as two operations.
    var operations: Double { kernel == .quantize ? Double(n * cols) : 2 * Double(rows) * Double(cols) * Double(n) }

    /// Allocates and fills the weights, activations and outputs of this case.
    func allocate() -> SharedPointers {
        let wBytes = max(weightBytes, 64)
        let p = SharedPointers(
            w: .allocate(byteCount: wBytes, alignment: 64),
            x: .allocate(byteCount: 4 * n * cols, alignment: 64),
            q: .allocate(capacity: n * cols),
            out: .allocate(byteCount: 4 * n * rows, alignment: 64),
            scale: .allocate(capacity: n))
        fill(p, wBytes)
        return p
    }

    /// Frees what `allocate` returned.
    static func free(_ p: SharedPointers) {
        p.w.deallocate(); p.x.deallocate(); p.q.deallocate(); p.out.deallocate(); p.scale.deallocate()
    }

    /// One call over all rows, split into `threads` row ranges run concurrently (as the runtime does).
    func callAllRows(_ table: bgpt_k_table, _ p: SharedPointers, threads: Int) {
        if threads == 1 {
            call(table, p, r0: 0, r1: rows)
            return
        }
        let rowsPerThread = (rows + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            let r0 = min(rows, i * rowsPerThread), r1 = min(rows, r0 + rowsPerThread)
            if r0 < r1 { call(table, p, r0: r0, r1: r1) }
        }
    }

    /// Median seconds of one call over repeated calls lasting at least `minTime` (and ≥ 5 calls).
    func medianSeconds(_ table: bgpt_k_table, threads: Int, minTime: Double) -> Double {
        let p = allocate()
        defer { BenchCase.free(p) }
        return Timing.median(minTime: minTime) { callAllRows(table, p, threads: threads) }
    }

    /// Valid random weights (ternary codes 0...2, T1 bytes ⌈q·256/243⌉, finite floats) and activations.
    func fill(_ p: SharedPointers, _ wBytes: Int) {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let w = p.w.assumingMemoryBound(to: UInt8.self)
        switch kernel {
        case .t2:
            for i in 0..<wBytes { w[i] = UInt8(next() % 3 | (next() % 3) << 2 | (next() % 3) << 4 | (next() % 3) << 6) }
        case .t1:
            for i in 0..<wBytes { w[i] = UInt8((Int(next() % 243) * 256 + 242) / 243) }
        case .i8, .quantize:
            for i in 0..<wBytes { w[i] = UInt8(truncatingIfNeeded: next()) }
        case .f32:
            let f = p.w.assumingMemoryBound(to: Float.self)
            for i in 0..<(wBytes / 4) { f[i] = Float(Int(next() % 2001) - 1000) / 1e4 }
        case .f16, .bf16:
            let h = p.w.assumingMemoryBound(to: UInt16.self)
            for i in 0..<(wBytes / 2) { h[i] = UInt16(0x3000 + next() % 0x800) }
        }
        let x = p.x.assumingMemoryBound(to: Float.self)
        for i in 0..<(n * cols) {
            x[i] = Float(Int(next() % 2001) - 1000) / 1e3
            p.q[i] = Int8(truncatingIfNeeded: next())
        }
    }

    func call(_ table: bgpt_k_table, _ p: SharedPointers, r0: Int, r1: Int) {
        let acc = p.out.assumingMemoryBound(to: Int32.self), out = p.out.assumingMemoryBound(to: Float.self)
        let x = p.x.assumingMemoryBound(to: Float.self)
        switch kernel {
        case .t2: table.dot_t2?(acc, rows, p.w.assumingMemoryBound(to: UInt8.self), rowBytes, p.q, cols, r0, r1, n)
        case .t1: table.dot_t1?(acc, rows, p.w.assumingMemoryBound(to: UInt8.self), rowBytes, p.q, cols, r0, r1, n)
        case .i8: table.dot_i8?(acc, rows, p.w.assumingMemoryBound(to: Int8.self), p.q, cols, r0, r1, n)
        case .f32: table.matmul_f32?(out, rows, p.w.assumingMemoryBound(to: Float.self), x, cols, r0, r1, n)
        case .f16: table.matmul_f16?(out, rows, p.w.assumingMemoryBound(to: UInt16.self), x, cols, r0, r1, n)
        case .bf16: table.matmul_bf16?(out, rows, p.w.assumingMemoryBound(to: UInt16.self), x, cols, r0, r1, n)
        case .quantize: if r0 == 0 { table.quantize_i8?(p.q, p.scale, x, n, cols) }
        }
    }
}

/// Memory read bandwidth of one thread: a summing loop over a buffer far larger than the caches.
enum ReadBandwidth {
    /// Best GB/s over 5 passes of a 256 MiB read.
    static func measure() -> Double {
        let count = 32 << 20
        let buffer = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = UInt64(i) }
        var best = 0.0, sink: UInt64 = 0
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
            var i = 0
            while i < count {
                s0 &+= buffer[i]; s1 &+= buffer[i + 1]; s2 &+= buffer[i + 2]; s3 &+= buffer[i + 3]
                i += 4
            }
            sink &+= s0 &+ s1 &+ s2 &+ s3
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, Double(8 * count) / seconds / 1e9)
        }
        if sink == 42 { print("") }  // keeps the loop from being optimized away
        return best
    }
}

/// Repeated timing of one piece of work.
enum Timing {
    /// Which clock `median` reads: wall time, or the process's CPU time divided by the thread
    /// count, which leaves out time spent descheduled on a loaded machine (not cache pollution).
    nonisolated(unsafe) static var useCPUTime = false
    nonisolated(unsafe) static var threads = 1

    private static func now() -> Double {
        if useCPUTime {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return (Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9) / Double(threads)
        }
        return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Median seconds of `body` over calls lasting at least `minTime` of wall time in all (and at
    /// least 5 calls).
    static func median(minTime: Double, _ body: () -> Void) -> Double {
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        while times.count < 5 || (Double(DispatchTime.now().uptimeNanoseconds - start) < minTime * 1e9 && times.count < 10_000) {
            let t0 = now()
            body()
            times.append(now() - t0)
        }
        times.sort()
        return times[times.count / 2]
    }
}

/// Every matmul of one token pass through a 100M Llama shape (dim 768, hidden 2048, 12 layers,
/// vocab 32000), each matrix in its own memory as in a mapped model, all in one kernel's format.
struct ModelPass {
    let kernel: BenchKernel
    let n: Int

    /// Per layer: q, k, v, o (768x768), gate and up (2048x768), down (768x2048).
    static let layerShapes = [(768, 768), (768, 768), (768, 768), (768, 768), (2048, 768), (2048, 768), (768, 2048)]

    /// Median seconds of the 84 layer matmuls and of the 32000x768 classifier, and the weight bytes.
    func medianSeconds(_ table: bgpt_k_table, threads: Int, minTime: Double) -> (layers: Double, classifier: Double, bytes: Int) {
        let layers = (0..<12).flatMap { _ in ModelPass.layerShapes.map { BenchCase(kernel: kernel, rows: $0.0, cols: $0.1, n: n) } }
        let head = BenchCase(kernel: kernel, rows: 32000, cols: 768, n: n)
        let buffers = layers.map { $0.allocate() }, headBuffers = head.allocate()
        defer { buffers.forEach(BenchCase.free); BenchCase.free(headBuffers) }
        let layerTime = Timing.median(minTime: minTime) {
            for (c, p) in zip(layers, buffers) { c.callAllRows(table, p, threads: threads) }
        }
        let headTime = Timing.median(minTime: minTime) { head.callAllRows(table, headBuffers, threads: threads) }
        return (layerTime, headTime, layers.reduce(0) { $0 + $1.weightBytes } + head.weightBytes)
    }
}
