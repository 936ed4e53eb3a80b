import BitGPT

/// The size table that carves the one flat parameter buffer (and, identically, the gradient
/// and the two Adam moment buffers) into named tensors.
///
/// Tensors come in `ModelConfig.tensorSpecs` order under their `.bgpt` names (`formats/bgpt.md`
/// "Tensor names"), so export is a walk over this table.
public struct ParameterLayout {
    /// One tensor of the table.
    public struct Entry {
        public let name: String
        /// Shape, outermost first.
        public let shape: [Int]
        public let role: TensorRole
        /// First element in the flat buffer.
        public let offset: Int
        /// Number of elements.
        public let count: Int
        /// Whether AdamW decays it: matrices (2-D) do; gains and biases do not (nanoGPT).
        public var decays: Bool { shape.count == 2 }
    }

    /// Every tensor in buffer order.
    public let entries: [Entry]
    /// Total elements.
    public let count: Int
    private let index: [String: Int]

    /// Builds the table for a configuration.
    public init(config: ModelConfig) {
        self.init(tensors: config.tensorSpecs.map { ($0.name, $0.shape, $0.role) })
    }

    /// Builds the table for `tensors` in the given order (the LoRA adapters' table).
    init(tensors: [(name: String, shape: [Int], role: TensorRole)]) {
        var entries: [Entry] = []
        var offset = 0
        for s in tensors {
            let n = s.shape.reduce(1, *)
            entries.append(Entry(name: s.name, shape: s.shape, role: s.role, offset: offset, count: n))
            offset += n
        }
        self.entries = entries
        count = offset
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The offset of tensor `name`; the name must exist (a programmer error otherwise).
    public func offset(_ name: String) -> Int {
        guard let e = entry(name) else { preconditionFailure("no parameter \(name)") }
        return e.offset
    }
}
