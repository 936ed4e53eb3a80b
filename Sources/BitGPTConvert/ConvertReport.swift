import BitGPT

/// The text `lm-convert` prints after a conversion.
public enum ConvertReport {
    /// Architecture, notes, per-dtype totals and sizes, one fact per line.
    public static func text(_ s: Converter.Summary, output: String) -> String {
        var out = "converted \(s.layout.rawValue) (\(s.container)) → \(output)\n"
        let c = s.config
        out += "  architecture \(c.architecture.rawValue): vocab \(c.vocabSize), context \(c.contextLength), dim \(c.dim), layers \(c.nLayers), heads \(c.nHeads)/\(c.nKVHeads), hidden \(c.hiddenDim)\n"
        var byType: [DType: (Int, Int)] = [:]
        for t in s.tensors { byType[t.dtype, default: (0, 0)].0 += 1; byType[t.dtype, default: (0, 0)].1 += Int(t.byteSize) }
        for d in DType.allCases { if let (n, b) = byType[d] { out += "  \(d): \(n) tensors, \(b) bytes\n" } }
        for n in s.notes { out += "  note: \(n)\n" }
        out += "  \(s.tensors.count) tensors; checkpoint \(s.sourceBytes) bytes → .bgpt \(s.outputBytes) bytes\n"
        return out
    }
}
