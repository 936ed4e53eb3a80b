/// The bytes of a llama2.c checkpoint in its legacy v0 `.bin` layout (karpathy/llama2.c
/// `export.py` `legacy_export`, read by `run.c`), for tests that need one of a given shape.
///
/// Layout: seven int32 header values (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
/// seq_len; a positive vocab_size means the classifier shares the token embedding), then f32
/// tensors in this order: token embedding (vocab, dim), attention norms (layers, dim), wq, wk,
/// wv, wo (each layers × its matrix), FFN norms (layers, dim), w1, w2, w3, the final norm (dim),
/// and the RoPE tables freq_cis_real and freq_cis_imag (seq_len, head_size/2 each; zeros here,
/// readers compute their own). Norm weights are 1.
public enum Llama2cBinWriter {
    /// The file's bytes.
    ///
    /// - Parameters:
    ///   - embedding: the token embedding, `vocab · dim` values.
    ///   - matrix: the values of each weight matrix, asked for in file order (wq of every layer,
    ///     then wk, wv, wo, w1, w2, w3) with its element count.
    public static func v0(dim: Int, hidden: Int, layers: Int, heads: Int, kvHeads: Int, vocab: Int, seqLen: Int,
                          embedding: [Float], matrix: (Int) -> [Float]) -> [UInt8] {
        precondition(embedding.count == vocab * dim, "the embedding needs vocab · dim values")
        let headSize = dim / heads, kvDim = kvHeads * headSize
        var floats = embedding
        func ones(_ n: Int) { floats += [Float](repeating: 1, count: n) }
        ones(layers * dim)
        for n in [dim * dim, kvDim * dim, kvDim * dim, dim * dim] { for _ in 0..<layers { floats += matrix(n) } }
        ones(layers * dim)
        for n in [hidden * dim, dim * hidden, hidden * dim] { for _ in 0..<layers { floats += matrix(n) } }
        ones(dim)
        floats += [Float](repeating: 0, count: 2 * seqLen * headSize / 2)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(28 + 4 * floats.count)
        for v in [dim, hidden, layers, heads, kvHeads, vocab, seqLen] { withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 } }
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }
}
