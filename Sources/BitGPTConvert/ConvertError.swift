import BitGPT

/// Everything that can go wrong while reading a foreign checkpoint or converting it.
///
/// Each case carries what a user needs to find the problem: the file, the byte offset, the
/// key or tensor name. `description` is one line; the command-line tools print it after `Error: `.
public enum ConvertError: Error, Equatable, CustomStringConvertible {
    /// A system call failed on `path`.
    case io(call: String, path: String, message: String)
    /// The ZIP container of a PyTorch checkpoint is malformed or uses a feature this reader refuses.
    case zip(offset: Int, reason: String)
    /// The pickle stream is malformed (truncated field, stack underflow, bad memo index, ...).
    case pickle(offset: Int, reason: String)
    /// The pickle uses an opcode outside the allowlist (INST, OBJ, EXT*, text-protocol opcodes, ...).
    case forbiddenOpcode(offset: Int, opcode: UInt8, name: String)
    /// The pickle names a global (class or function) outside the allowlist.
    case forbiddenGlobal(offset: Int, global: String)
    /// The pickle calls or builds an object in a way the allowlist does not permit.
    case forbiddenCall(offset: Int, reason: String)
    /// The checkpoint's object tree is not what a PyTorch checkpoint holds (missing key, bad tensor record).
    case checkpoint(String)
    /// A safetensors file breaks one of the format's rules.
    case safetensors(offset: Int, reason: String)
    /// A llama2.c `.bin` file is malformed.
    case llama2c(String)
    /// The checkpoint's layout could not be recognised, or `--arch` names an unknown layout.
    case unknownLayout(String)
    /// Source tensors that no mapping rule claims, or tensors the model needs that the source lacks.
    case mapping(String)
    /// The tokenizer file cannot be read or is not supported.
    case tokenizer(String)
    /// A command-line setting is invalid (bad `--tensor-type` rule, unknown dtype).
    case badOption(String)
    /// An error of the .bgpt layer (writing, validating the result).
    case format(FormatError)

    public var description: String {
        switch self {
        case let .io(call, path, message): return "\(call)(\(path)) failed: \(message)"
        case let .zip(offset, reason): return "bad ZIP archive at byte \(offset): \(reason)"
        case let .pickle(offset, reason): return "bad pickle at byte \(offset): \(reason)"
        case let .forbiddenOpcode(offset, opcode, name):
            return "pickle opcode \(name) (0x\(String(opcode, radix: 16))) at byte \(offset) is not allowed: checkpoints never need it, and it can run code"
        case let .forbiddenGlobal(offset, global):
            return "pickle refers to global \"\(global)\" at byte \(offset), which is not on the allowlist (nothing was executed)"
        case let .forbiddenCall(offset, reason): return "pickle at byte \(offset): \(reason) (nothing was executed)"
        case let .checkpoint(m): return "checkpoint: \(m)"
        case let .safetensors(offset, reason): return "bad safetensors file at byte \(offset): \(reason)"
        case let .llama2c(m): return "bad llama2.c model: \(m)"
        case let .unknownLayout(m): return m
        case let .mapping(m): return m
        case let .tokenizer(m): return "tokenizer: \(m)"
        case let .badOption(m): return m
        case let .format(e): return e.description
        }
    }
}
