/// Finds stop strings in streamed text, across chunk boundaries.
///
/// Text is matched as Unicode scalars. A tail that could still become a stop string is held back
/// until the next piece decides it; the text before the first stop string is emitted and the rest
/// is dropped.
struct StopMatcher {
    private let stops: [[Unicode.Scalar]]
    private var held: [Unicode.Scalar] = []
    /// Whether a stop string was found (nothing more is emitted).
    private(set) var stopped = false

    init(_ stops: [String]) { self.stops = stops.map { Array($0.unicodeScalars) }.filter { !$0.isEmpty } }

    /// Adds a piece; returns the text that can be emitted now.
    mutating func push(_ piece: String) -> String {
        if stopped { return "" }
        held += piece.unicodeScalars
        if stops.isEmpty { return take(held.count) }
        // The earliest complete stop string ends the text.
        var first: Int?
        for s in stops {
            if let at = Self.find(s, in: held), at < (first ?? Int.max) { first = at }
        }
        if let at = first {
            stopped = true
            let out = take(at)
            held = []
            return out
        }
        // Keep the longest tail that is a proper prefix of a stop string.
        var keep = 0
        for s in stops {
            var n = min(s.count - 1, held.count)
            while n > keep {
                if held[(held.count - n)...].elementsEqual(s[..<n]) { keep = n; break }
                n -= 1
            }
        }
        return take(held.count - keep)
    }

    /// The held-back tail (no stop string followed), at the end of generation.
    mutating func flush() -> String {
        if stopped { return "" }
        return take(held.count)
    }

    private mutating func take(_ n: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: held[..<n])
        held.removeFirst(n)
        return String(s)
    }

    private static func find(_ needle: [Unicode.Scalar], in hay: [Unicode.Scalar]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}
