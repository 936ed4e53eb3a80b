/// Everything that can go wrong while preparing data, training, checkpointing or exporting.
///
/// Each description is one line naming the file or flag and what is wrong.
public enum TrainError: Error, Equatable, CustomStringConvertible {
    /// A flag value or combination that cannot work.
    case badOption(String)
    /// The training text is unusable (empty, too short for the block size, too many symbols).
    case badData(path: String, reason: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// A checkpoint is missing, truncated, or does not match itself or this run.
    case badCheckpoint(path: String, reason: String)
    /// Data-parallel ranks disagree: a rank's replica differs from rank 0's.
    case replicaMismatch(String)

    public var description: String {
        switch self {
        case let .badOption(s): return s
        case let .badData(p, r): return "\(p): \(r)"
        case let .io(p, r): return "\(p): \(r)"
        case let .badCheckpoint(p, r): return "\(p): bad checkpoint: \(r)"
        case let .replicaMismatch(s): return s
        }
    }
}
