import ArgumentParser
import BitGPT

/// A dtype on the command line (`--dtype`, `--to`, `--head-dtype`, `--classifier-dtype`): its
/// lower-case spec name, so `--help` lists `f32, f16, bf16, i8, t2, t1` and shows a default such
/// as `t2`; the aliases of ``DType/init(name:)`` (`int8`, `ternary`, `F16`, …) are accepted too.
public enum DTypeChoice: String, CaseIterable, Sendable, ExpressibleByArgument {
    case f32, f16, bf16, i8, t2, t1

    /// Any name ``DType/init(name:)`` reads, or nil.
    public init?(argument: String) {
        guard let d = DType(name: argument) else { return nil }
        self.init(d)
    }

    /// The choice naming `dtype`.
    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .i8: self = .i8
        case .t2: self = .t2
        case .t1: self = .t1
        }
    }

    /// The dtype it names.
    public var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .i8: return .i8
        case .t2: return .t2
        case .t1: return .t1
        }
    }
}

/// `--ternary-scale` (lm-convert, lm-quantize): a ``TernaryScaleRule``, or `auto` to let the
/// quantizer choose per tensor.
public enum TernaryScaleChoice: String, CaseIterable, Sendable, ExpressibleByArgument {
    case auto, absmean, lsq

    /// The rule, or nil for `auto`.
    public var rule: TernaryScaleRule? {
        switch self {
        case .auto: return nil
        case .absmean: return .absmean
        case .lsq: return .leastSquares
        }
    }
}

/// lm-train's `--arch`: the families the trainer builds. `gpt` is read as `gpt2` (an alias that
/// is neither listed nor printed: the run reports `gpt2`).
public enum TrainArchitectureChoice: String, CaseIterable, Sendable, ExpressibleByArgument {
    case gpt2, llama

    /// `gpt2`, `gpt` (the same) or `llama`, or nil.
    public init?(argument: String) {
        self.init(rawValue: argument == "gpt" ? "gpt2" : argument)
    }

    /// The architecture it names.
    public var architecture: Architecture {
        switch self {
        case .gpt2: return .gpt2
        case .llama: return .llama
        }
    }
}

/// lm-train's `--activation`: the MLP activations the trainer builds (gelu and relu for gpt2,
/// swiglu for llama; plain silu is only read from converted models).
public enum TrainActivationChoice: String, CaseIterable, Sendable, ExpressibleByArgument {
    case gelu, relu, swiglu

    /// The activation it names.
    public var activation: Activation {
        switch self {
        case .gelu: return .gelu
        case .relu: return .relu
        case .swiglu: return .swiglu
        }
    }
}
