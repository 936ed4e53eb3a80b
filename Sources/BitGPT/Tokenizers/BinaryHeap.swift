/// An element of a ``BinaryHeap``: `comesBefore` decides which of two leaves the heap first.
package protocol HeapOrdered {
    /// Whether `self` leaves the heap before `other`.
    func comesBefore(_ other: Self) -> Bool
}

/// Plain keys leave the heap smallest first.
extension UInt64: HeapOrdered {
    @inlinable @inline(__always)
    package func comesBefore(_ other: UInt64) -> Bool { self < other }
}

/// A binary heap in an array: the element that comes before all others pops first. The BPE
/// encoder (``ByteLevelBPE``) keeps its candidate merges in one, the BPE trainer
/// (`BPETrainer` in BitGPTTrain) its pair counts; `package` access, inlinable so the trainer's
/// use is specialized too.
package struct BinaryHeap<Element: HeapOrdered> {
    @usableFromInline var a: [Element] = []

    /// An empty heap.
    @inlinable package init() {}

    /// Adds `x` in O(log n).
    @inlinable package mutating func push(_ x: Element) {
        a.append(x)
        var i = a.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !a[i].comesBefore(a[p]) { break }
            a.swapAt(p, i)
            i = p
        }
    }

    /// Removes and returns the first element, or nil when empty, in O(log n).
    @inlinable package mutating func pop() -> Element? {
        guard let top = a.first else { return nil }
        let last = a.removeLast()
        if !a.isEmpty {
            a[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var s = i
                if l < a.count && a[l].comesBefore(a[s]) { s = l }
                if r < a.count && a[r].comesBefore(a[s]) { s = r }
                if s == i { break }
                a.swapAt(s, i)
                i = s
            }
        }
        return top
    }
}
