/// A llama2.c `model.bin`: the legacy v0 export that `run.c` reads, the v1 fp32 export and the
/// v2 int8 (Q8_0) export that `runq.c` reads.
///
/// Layouts (karpathy/llama2.c `export.py`, read by `run.c`; all little-endian, every matrix `[out, in]`):
/// - **v0**: 7 × i32 `dim, hidden, layers, heads, kv_heads, vocab, seq_len`; a negative vocab
///   means the classifier is not shared. Then `tok_embeddings`, all `attention_norm`, `wq`, `wk`,
///   `wv`, `wo`, `ffn_norm`, `w1`, `w2`, `w3`, the final `norm`, the legacy RoPE tables
///   (`seq_len · head_dim/2` floats twice, skipped), and `output` when not shared.
/// - **v1**: 256-byte header (magic `ak42`, version 1, the 7 ints, shared flag at 36), then norms,
///   `tok_embeddings`, `wq … w3`, `output` when not shared; fp32.
/// - **v2**: 256-byte header (magic, version 2, the 7 ints, shared flag at 36, i32 group size at
///   37), fp32 norms, then each quantized tensor as int8 codes followed by its per-group f32 scales.
///
/// The file size must equal exactly what the header implies. Tensors are exposed under the
/// llama2.c PyTorch names (`layers.0.attention.wq.weight`, ...), so one mapping serves `.bin` and
/// `.pt` checkpoints.
public final class Llama2cFile: CheckpointSource {
    /// The mapped file.
    public let file: SourceFile
    /// Tensors under llama2.c's PyTorch names, in file order (a shared classifier appears as `output.weight` on the embedding's bytes).
    public let tensors: [SourceTensor]
    /// The header's config as `dim`, `hidden_dim`, `n_layers`, `n_heads`, `n_kv_heads`, `vocab_size`, `max_seq_len`.
    public let hyperParameters: [String: PickleValue]
    /// 0, 1 or 2.
    public let version: Int
    /// The file's path.
    public var path: String { file.path }
    /// `llama2c-v0`, `-v1` or `-v2`.
    public var container: String { "llama2c-v\(version)" }

    /// Header fields shared by every version.
    struct Header { var dim, hidden, layers, heads, kvHeads, vocab, seqLen: Int; var shared: Bool }

    /// Opens and validates `path`.
    public convenience init(path: String) throws(ConvertError) {
        try self.init(file: try SourceFile(path: path))
    }

    /// Whether `file` starts like a v1/v2 export (magic `ak42`).
    public static func hasMagic(_ file: SourceFile) -> Bool { file.count >= 8 && file.le(0, UInt32.self) == 0x616B_3432 }

    /// Validates an already mapped file.
    ///
    /// - Throws: ``ConvertError/llama2c(_:)`` for a bad header or a size that does not match it.
    public init(file: SourceFile) throws(ConvertError) {
        self.file = file
        var h: Header
        var groupSize = 0
        var offset: Int
        if Llama2cFile.hasMagic(file) {
            guard file.count >= 256 else { throw .llama2c("file is \(file.count) bytes, shorter than the 256-byte header") }
            version = Int(Int32(bitPattern: file.le(4, UInt32.self)))
            guard version == 1 || version == 2 else { throw .llama2c("version \(version) is not supported (0, 1 and 2 are)") }
            h = try Llama2cFile.header(file, at: 8)
            let flag = file.bytes[36]
            guard flag <= 1 else { throw .llama2c("shared_classifier byte is \(flag), expected 0 or 1") }
            h.shared = flag == 1
            if version == 2 {
                groupSize = Int(Int32(bitPattern: file.le(37, UInt32.self)))
                guard groupSize > 0, groupSize <= 1 << 16 else { throw .llama2c("group size \(groupSize) is out of range") }
            }
            offset = 256
        } else {
            version = 0
            guard file.count >= 28 else { throw .llama2c("file is \(file.count) bytes, shorter than the 28-byte header") }
            h = try Llama2cFile.header(file, at: 0)
            offset = 28
        }
        let D = h.dim, F = h.hidden, L = h.layers, V = h.vocab, hd = h.dim / h.heads, kvd = h.kvHeads * hd

        // Tensor list in file order for this version; sizes are small products of checked header ints.
        var specs: [(String, [Int], Bool)] = [] // name, shape, quantized in v2
        func perLayer(_ n: String, _ shape: [Int], _ q: Bool) { for l in 0..<L { specs.append(("layers.\(l).\(n)", shape, q)) } }
        let emb = ("tok_embeddings.weight", [V, D], true)
        let norms: () -> Void = {
            perLayer("attention_norm.weight", [D], false)
            perLayer("ffn_norm.weight", [D], false)
            specs.append(("norm.weight", [D], false))
        }
        let mats: () -> Void = {
            perLayer("attention.wq.weight", [D, D], true)
            perLayer("attention.wk.weight", [kvd, D], true)
            perLayer("attention.wv.weight", [kvd, D], true)
            perLayer("attention.wo.weight", [D, D], true)
        }
        let ffn: () -> Void = {
            perLayer("feed_forward.w1.weight", [F, D], true)
            perLayer("feed_forward.w2.weight", [D, F], true)
            perLayer("feed_forward.w3.weight", [F, D], true)
        }
        if version == 0 {
            specs.append(emb)
            perLayer("attention_norm.weight", [D], false)
            mats()
            perLayer("ffn_norm.weight", [D], false)
            ffn()
            specs.append(("norm.weight", [D], false))
            specs.append(("freq_cis_real", [h.seqLen, hd / 2], false))
            specs.append(("freq_cis_imag", [h.seqLen, hd / 2], false))
        } else {
            norms()
            specs.append(emb)
            mats()
            ffn()
        }
        if !h.shared { specs.append(("output.weight", [V, D], true)) }

        var out: [SourceTensor] = []
        for (name, shape, q) in specs {
            let n = shape.reduce(1, *)
            if version == 2 && q {
                guard n % groupSize == 0 else { throw .llama2c("tensor \(name) has \(n) elements, not a multiple of the group size \(groupSize)") }
                let scales = n / groupSize * 4
                guard file.contains(offset, n + scales) else {
                    throw .llama2c("file is \(file.count) bytes, too short for tensor \(name) at byte \(offset) (truncated?)")
                }
                var t = SourceTensor(name: name, shape: shape, dtype: .i8, bytes: UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + n)]),
                                     storageID: "@\(offset)")
                t.groupScales = UnsafeRawBufferPointer(rebasing: file.bytes[(offset + n)..<(offset + n + scales)])
                t.groupSize = groupSize
                out.append(t)
                offset += n + scales
            } else {
                guard file.contains(offset, 4 * n) else {
                    throw .llama2c("file is \(file.count) bytes, too short for tensor \(name) at byte \(offset) (truncated, or the header is wrong)")
                }
                if !name.hasPrefix("freq_cis") {
                    out.append(SourceTensor(name: name, shape: shape, dtype: .f32,
                                            bytes: UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + 4 * n)]), storageID: "@\(offset)"))
                }
                offset += 4 * n
            }
        }
        guard offset == file.count else {
            throw .llama2c("file is \(file.count) bytes but the header implies \(offset) (trailing bytes, or the header is wrong)")
        }
        if h.shared, let e = out.first(where: { $0.name == "tok_embeddings.weight" }) {
            var tied = e
            tied.name = "output.weight"
            out.append(tied)
        }
        tensors = out
        hyperParameters = [
            "dim": .int(D), "hidden_dim": .int(F), "n_layers": .int(L), "n_heads": .int(h.heads), "n_kv_heads": .int(h.kvHeads),
            "vocab_size": .int(V), "max_seq_len": .int(h.seqLen),
        ]
    }

    /// Reads and checks the 7 config ints at `at`.
    static func header(_ file: SourceFile, at: Int) throws(ConvertError) -> Header {
        var v: [Int] = []
        for i in 0..<7 { v.append(Int(Int32(bitPattern: file.le(at + 4 * i, UInt32.self)))) }
        let (dim, hidden, layers, heads, kv, vocabSigned, seq) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6])
        let vocab = abs(vocabSigned)
        guard (1...65_536).contains(dim), (1...(1 << 20)).contains(hidden), (1...1024).contains(layers), (1...1024).contains(heads),
              (1...1024).contains(kv), (1...(1 << 24)).contains(vocab), (1...(1 << 20)).contains(seq) else {
            throw .llama2c("header values dim \(dim), hidden \(hidden), layers \(layers), heads \(heads), kv_heads \(kv), vocab \(vocabSigned), seq_len \(seq) are out of range")
        }
        guard dim % heads == 0, heads % kv == 0 else { throw .llama2c("heads \(heads) must divide dim \(dim) and kv_heads \(kv) must divide heads") }
        return Header(dim: dim, hidden: hidden, layers: layers, heads: heads, kvHeads: kv, vocab: vocab, seqLen: seq, shared: vocabSigned > 0)
    }
}
