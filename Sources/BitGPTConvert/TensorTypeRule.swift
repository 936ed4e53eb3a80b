import BitGPT
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-tensor dtype override, `PATTERN=TYPE` on the command line (`--tensor-type`).
///
/// The pattern is a shell glob (`*`, `?`, `[...]`) matched against the whole .bgpt tensor name,
/// e.g. `blk.*.ffn_down=i8` or `output=f16`. When several rules match, the last one wins.
public struct TensorTypeRule: Equatable, Sendable, CustomStringConvertible {
    /// Shell glob on .bgpt tensor names.
    public var pattern: String
    /// The dtype matching tensors get.
    public var dtype: DType

    /// A rule from its parts.
    public init(pattern: String, dtype: DType) {
        self.pattern = pattern
        self.dtype = dtype
    }

    /// Parses `PATTERN=TYPE`.
    /// - Throws: ``ConvertError/badOption(_:)`` for a missing `=`, an empty pattern or an unknown type.
    public init(parsing s: String) throws(ConvertError) {
        guard let eq = s.lastIndex(of: "="), eq != s.startIndex else {
            throw .badOption("--tensor-type \"\(s)\" is not PATTERN=TYPE")
        }
        let t = String(s[s.index(after: eq)...])
        guard let d = DType(name: t) else { throw .badOption("--tensor-type \"\(s)\": \"\(t)\" is not a dtype (f32, f16, bf16, int8, ternary, t1)") }
        pattern = String(s[..<eq])
        dtype = d
    }

    /// Whether the rule applies to `name`.
    public func matches(_ name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }

    public var description: String { "\(pattern)=\(dtype)" }
}

/// Chooses the stored dtype of each tensor: roles first, then `--tensor-type` rules.
///
/// Defaults (`formats/bgpt.md` keeps embeddings and the head at higher precision):
/// - linear weights take `linear` (the `--dtype` flag); without it, ternary sources and the
///   BitLinear weights of a BitGPT model are T2 (the caller passes `sourceIsTernary`), float
///   sources stay F32;
/// - embeddings and the untied classifier are F32, or F16 when `--dtype f16`;
/// - norm gains and biases are always F32.
///
/// Float weights going to T2/T1 take γ by ``TernaryScaleRule``: the exact γ when they already are
/// ternary, else absmean for the linear weights of a quantization-aware model (BitLinear, trained
/// with it), else least squares; ``ternaryScale`` forces one rule.
public struct PrecisionPolicy: Sendable {
    /// The dtype for linear weights, or nil for "as the source".
    public var linear: DType?
    /// Overrides, applied in order (the last match wins).
    public var rules: [TensorTypeRule]
    /// The γ rule for float → ternary tensors, or nil to choose per tensor (``scaleRule(for:quantizationAware:)``).
    public var ternaryScale: TernaryScaleRule?

    /// A policy from `--dtype`, `--tensor-type` rules and `--ternary-scale`.
    public init(linear: DType? = nil, rules: [TensorTypeRule] = [], ternaryScale: TernaryScaleRule? = nil) {
        self.linear = linear
        self.rules = rules
        self.ternaryScale = ternaryScale
    }

    /// The γ rule for a float tensor with this spec going to T2/T1 when it is not already ternary:
    /// ``ternaryScale`` if set, else absmean for a linear weight of a quantization-aware model,
    /// least squares otherwise.
    public func scaleRule(for spec: TensorSpec, quantizationAware: Bool) -> TernaryScaleRule {
        ternaryScale ?? (quantizationAware && spec.role == .linear ? .absmean : .leastSquares)
    }

    /// The dtype for a tensor with this spec; `sourceIsTernary` when the source holds ternary codes.
    public func dtype(for spec: TensorSpec, sourceIsTernary: Bool) -> DType {
        var d: DType
        switch spec.role {
        case .linear: d = linear ?? (sourceIsTernary ? .t2 : .f32)
        case .embedding, .head: d = linear == .f16 ? .f16 : .f32
        case .vector: d = .f32
        }
        for r in rules where r.matches(spec.name) { d = r.dtype }
        return d
    }
}
