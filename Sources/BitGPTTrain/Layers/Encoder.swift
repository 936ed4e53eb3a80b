/// Token (+ learned position) embedding: `out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]`.
///
/// Shapes: out (B, T, C), tokens (B, T), wte (V, C), wpe (T_max, C) or nil (RoPE / no positions).
/// Token ids were checked against V when the data was loaded.
public func encoderForward(_ out: UnsafeMutablePointer<Float>, _ tokens: UnsafePointer<Int32>, _ wte: UnsafePointer<Float>,
                           _ wpe: UnsafePointer<Float>?, b: Int, t: Int, c: Int) {
    for bt in 0..<(b * t) {
        let o = out + bt * c, e = wte + Int(tokens[bt]) * c
        if let wpe {
            let p = wpe + (bt % t) * c
            for i in 0..<c { o[i] = e[i] + p[i] }
        } else {
            for i in 0..<c { o[i] = e[i] }
        }
    }
}

/// Backward of ``encoderForward``, accumulating into `dwte` rows of the tokens seen and `dwpe`.
public func encoderBackward(_ dwte: UnsafeMutablePointer<Float>, _ dwpe: UnsafeMutablePointer<Float>?,
                            _ dout: UnsafePointer<Float>, _ tokens: UnsafePointer<Int32>, b: Int, t: Int, c: Int) {
    for bt in 0..<(b * t) {
        let d = dout + bt * c, e = dwte + Int(tokens[bt]) * c
        for i in 0..<c { e[i] += d[i] }
        if let dwpe {
            let p = dwpe + (bt % t) * c
            for i in 0..<c { p[i] += d[i] }
        }
    }
}
