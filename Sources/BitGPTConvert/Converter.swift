import BitGPT
import Foundation

/// Converts a foreign checkpoint into a .bgpt file, one tensor at a time.
///
/// Steps: open the source by its bytes (``CheckpointOpener``), plan the mapping
/// (``CheckpointMapper``), choose each tensor's dtype (``PrecisionPolicy``), declare everything to
/// a ``BGPTWriter`` (atomic: temp file, fsync, rename), then for each tensor read it in place from
/// the mapped source, encode it and write it. Peak memory is the mapped source (paged in as read)
/// plus about two copies of the largest tensor. Finally the output is reopened, validated and
/// checked against the architecture (``ModelConfig/checkTensors(in:)``).
public struct Converter {
    /// Everything the caller can set.
    public struct Options {
        /// Force a layout instead of detecting it.
        public var layout: CheckpointLayout?
        /// Hyper-parameters from the command line.
        public var overrides = HyperOverrides()
        /// Stored dtype per tensor.
        public var precision = PrecisionPolicy()
        /// Tokenizer file to embed (see ``TokenizerImport``), or nil for none.
        public var tokenizer: String?
        /// `general.name`; default: the output file's stem.
        public var name: String?
        /// Extra classes the pickle may hold as opaque records (`--allow-global`).
        public var extraOpaqueClasses: Set<String> = []
        /// Defaults: detect the layout, keep the source's precision, no tokenizer.
        public init() {}
    }

    /// What was written.
    public struct Summary {
        /// The layout that was converted.
        public var layout: CheckpointLayout
        /// The source container (`pytorch`, `safetensors`, `llama2c-v0`, ...).
        public var container: String
        /// The architecture, as read back from the written file.
        public var config: ModelConfig
        /// (name, dtype, shape, bytes) per tensor, in file order.
        public var tensors: [TensorInfo]
        /// Size of the source file in bytes.
        public var sourceBytes: Int
        /// Size of the written .bgpt in bytes.
        public var outputBytes: Int
        /// Facts worth telling the user.
        public var notes: [String]
    }

    /// Converts `input` to `output`.
    ///
    /// - Parameters:
    ///   - progress: called after each tensor with (bytes of source read so far, total source bytes).
    /// - Throws: ``ConvertError`` (the output is left untouched on any error).
    public static func convert(input: String, output: String, options: Options = Options(),
                               progress: ((Int, Int) -> Void)? = nil) throws(ConvertError) -> Summary {
        let source = try CheckpointOpener.open(input, extraOpaqueClasses: options.extraOpaqueClasses)
        var meta: [String: Float] = [:]
        if let t = source as? TorchCheckpoint, case let .dict(d)? = t.root["meta"] {
            for (k, v) in d.entries {
                guard let key = k.stringValue, case let .tensor(ref) = v, ref.elementCount == 1 else { continue }
                let st = t.sourceTensor(ref, name: key)
                if let x = st.floats().first { meta[key] = x }
            }
        }
        var plan = try CheckpointMapper.plan(source, layout: options.layout, overrides: options.overrides, meta: meta)
        var md = Metadata()
        let stem = output.split(separator: "/").last.map { String($0) } ?? output
        md.set("general.name", .string(options.name ?? (stem.hasSuffix(".bgpt") ? String(stem.dropLast(5)) : stem)))
        md.set("general.description", .string("converted from a \(plan.layout.rawValue) \(source.container) checkpoint"))
        md.set("general.source", .string(input.split(separator: "/").last.map { String($0) } ?? input))
        md.set("general.converter", .string("lm-convert \(BitGPTVersion.string)"))
        md.set("general.created", .string(ISO8601DateFormatter().string(from: Date())))
        plan.config.write(to: &md)
        if let tok = options.tokenizer {
            let t = try TokenizerImport.metadata(path: tok, vocabSize: plan.config.vocabSize)
            for e in t.entries { md.set(e.key, e.value) }
        }
        if let (template, from) = try ChatTemplateImport.find(besides: [input] + (options.tokenizer.map { $0.split(separator: ",").map(String.init) } ?? [])) {
            md.set(ChatTemplate.metadataKey, .string(template))
            plan.notes.append("chat template carried over from \(from)")
            do { _ = try ChatTemplate(source: template) } catch {
                plan.notes.append("the chat template is outside the runtime's template language (lm-run --chat will refuse it): \(error)")
            }
        }
        return try write(plan: plan, metadata: md, to: output, precision: options.precision, sourceBytes: fileSize(source),
                         container: source.container, release: sourceFile(source)?.release, progress: progress)
    }

    /// Writes a planned conversion (exposed for tests and for sources opened by the caller).
    ///
    /// - Parameters:
    ///   - release: called with each source tensor's bytes once written (drops its mapped pages).
    public static func write(plan: ConversionPlan, metadata: Metadata, to output: String, precision: PrecisionPolicy, sourceBytes: Int,
                             container: String, release: ((UnsafeRawBufferPointer) -> Void)? = nil,
                             progress: ((Int, Int) -> Void)? = nil) throws(ConvertError) -> Summary {
        // BitLinear weights default to ternary even when the checkpoint holds latent floats.
        let dtypes = plan.tensors.map { precision.dtype(for: $0.spec, sourceIsTernary: $0.ternaryScale != nil || ($0.spec.role == .linear && plan.config.bitLinear)) }
        let infos = zip(plan.tensors, dtypes).map { TensorInfo(name: $0.0.spec.name, dtype: $0.1, shape: $0.0.spec.shape) }
        let total = plan.tensors.reduce(0) { $0 + $1.source.bytes.count }
        var done = 0
        do throws(FormatError) {
            let writer = try BGPTWriter(path: output, metadata: metadata, tensors: infos)
            for (p, d) in zip(plan.tensors, dtypes) {
                if let raw = passThrough(p, as: d) {
                    try writer.write(p.spec.name, bytes: raw)
                } else {
                    try writer.write(p.spec.name, bytes: try encode(p, as: d))
                }
                release?(p.source.bytes)
                done += p.source.bytes.count
                progress?(done, total)
            }
            try writer.finish()
            // Re-open and check what was written against the architecture.
            let f = try BGPTFile(path: output)
            let back = try ModelConfig(metadata: f.metadata)
            try back.checkTensors(in: f)
            return Summary(layout: plan.layout, container: container, config: back, tensors: f.tensors, sourceBytes: sourceBytes,
                           outputBytes: f.fileSize, notes: plan.notes)
        } catch {
            throw .format(error)
        }
    }

    /// The source bytes themselves, when they already are the stored form of `dtype` (F32, F16 or
    /// BF16 source to the same type; both formats are little-endian and row-major): written
    /// straight from the mapped file, with no copy. Nil when the tensor needs encoding.
    static func passThrough(_ p: PlannedTensor, as dtype: DType) -> UnsafeRawBufferPointer? {
        guard p.ternaryScale == nil, p.source.groupScales == nil else { return nil }
        switch (p.source.dtype, dtype) {
        case (.f32, .f32), (.f16, .f16), (.bf16, .bf16): break
        default: return nil
        }
        guard let r = p.rows else { return p.source.bytes }
        let rowBytes = (p.source.shape.last ?? 0) * p.source.dtype.byteWidth
        return UnsafeRawBufferPointer(rebasing: p.source.bytes[(r.lowerBound * rowBytes)..<(r.upperBound * rowBytes)])
    }

    /// The stored bytes of one planned tensor as `dtype`. Ternary sources going to T2/T1 keep
    /// their codes and γ exactly; everything else goes through f32 values.
    public static func encode(_ p: PlannedTensor, as dtype: DType) throws(FormatError) -> [UInt8] {
        let shape = p.spec.shape
        let cols = shape.last ?? 1, rows = shape.dropLast().reduce(1, *)
        if let g = p.ternaryScale, dtype == .t2 || dtype == .t1, p.rows == nil, let codes = p.source.ternaryCodes() {
            return TensorEncoder.ternary(codes, scale: g, rows: rows, cols: cols, as: dtype)
        }
        return try TensorEncoder.encode(p.values(), shape: shape, as: dtype, name: p.spec.name)
    }

    static func fileSize(_ s: CheckpointSource) -> Int { sourceFile(s)?.count ?? 0 }

    static func sourceFile(_ s: CheckpointSource) -> SourceFile? {
        if let t = s as? TorchCheckpoint { return t.file }
        if let t = s as? SafetensorsFile { return t.file }
        if let t = s as? Llama2cFile { return t.file }
        return nil
    }
}

/// Opens a checkpoint by sniffing its first bytes: `PK` → PyTorch ZIP, `ak42` → llama2.c v1/v2,
/// a plausible u64 header length followed by `{` → safetensors, otherwise llama2.c v0 (`.bin`).
public enum CheckpointOpener {
    /// Opens `path` with the reader its contents call for.
    /// - Throws: the reader's ``ConvertError``.
    public static func open(_ path: String, extraOpaqueClasses: Set<String> = []) throws(ConvertError) -> CheckpointSource {
        let file = try SourceFile(path: path)
        if file.count >= 4, file.le(0, UInt32.self) == 0x0403_4b50 || (file.count >= 2 && file.bytes[0] == 0x80 && file.bytes[1] == 0x02) {
            return try TorchCheckpoint(file: file, opaqueClasses: PickleMachine.defaultOpaqueClasses.union(extraOpaqueClasses))
        }
        if Llama2cFile.hasMagic(file) { return try Llama2cFile(file: file) }
        if file.count >= 9, file.le(0, UInt64.self) <= UInt64(SafetensorsFile.maxHeaderSize), file.bytes[8] == UInt8(ascii: "{") || file.bytes[8] == 0x20 {
            return try SafetensorsFile(file: file)
        }
        if path.hasSuffix(".bin") { return try Llama2cFile(file: file) }
        throw .unknownLayout("\(path): not a PyTorch ZIP checkpoint, safetensors file or llama2.c .bin")
    }
}
