import BitGPT
import TestSupport
import Testing

/// Seeded random models, as llama.cpp's test-gguf makes random contexts: random metadata of every
/// type (arrays of every element type, unicode strings, extreme integers and floats) and random
/// tensors of every dtype and rank, written by the writer and read back identical.
@Suite("Random round trip")
struct RandomRoundTripTests {
    static func randomString(_ rng: inout SeededRandom) -> String {
        let pieces = ["a", "Z", "0", " ", "\n", "\t", "\"", "\\", "é", "日本", "🤖", "\u{0}", "\u{7F}", "▁", "Ġ"]
        return (0..<Int(rng.next() % 12)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }

    static func randomFloat(_ rng: inout SeededRandom) -> Float {
        switch rng.next() % 8 {
        case 0: return [Float.infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude][Int(rng.next() % 6)]
        default: return rng.normal(std: 100)
        }
    }

    static func randomArray(_ rng: inout SeededRandom) -> MetadataArray {
        let n = Int(rng.next() % 6)
        func many<T>(_ f: (inout SeededRandom) -> T) -> [T] { (0..<n).map { _ in f(&rng) } }
        switch rng.next() % 13 {
        case 0: return .uint8(many { UInt8(truncatingIfNeeded: $0.next()) })
        case 1: return .int8(many { Int8(truncatingIfNeeded: $0.next()) })
        case 2: return .uint16(many { UInt16(truncatingIfNeeded: $0.next()) })
        case 3: return .int16(many { Int16(truncatingIfNeeded: $0.next()) })
        case 4: return .uint32(many { UInt32(truncatingIfNeeded: $0.next()) })
        case 5: return .int32(many { Int32(truncatingIfNeeded: $0.next()) })
        case 6: return .uint64(many { $0.next() })
        case 7: return .int64(many { Int64(bitPattern: $0.next()) })
        case 8: return .float32(many { randomFloat(&$0) })
        case 9: return .float64(many { Double(randomFloat(&$0)) * 1e300 })
        case 10: return .bool(many { $0.next() % 2 == 0 })
        case 11: return .string(many { randomString(&$0) })
        default: return .bytes(many { r in (0..<Int(r.next() % 5)).map { _ in UInt8(truncatingIfNeeded: r.next()) } })
        }
    }

    static func randomValue(_ rng: inout SeededRandom) -> MetadataValue {
        switch rng.next() % 14 {
        case 0: return .uint8(UInt8(truncatingIfNeeded: rng.next()))
        case 1: return .int8(Int8(truncatingIfNeeded: rng.next()))
        case 2: return .uint16(UInt16(truncatingIfNeeded: rng.next()))
        case 3: return .int16(Int16(truncatingIfNeeded: rng.next()))
        case 4: return .uint32(UInt32(truncatingIfNeeded: rng.next()))
        case 5: return .int32(Int32(truncatingIfNeeded: rng.next()))
        case 6: return .uint64(rng.next())
        case 7: return .int64(Int64(bitPattern: rng.next()))
        case 8: return .float32(randomFloat(&rng))
        case 9: return .float64(Double(randomFloat(&rng)) / 3)
        case 10: return .bool(rng.next() % 2 == 0)
        case 11: return .string(randomString(&rng))
        case 12: return .array(randomArray(&rng))
        default: return .bytes((0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
    }

    @Test("100 random models read back exactly as written", arguments: 0..<4)
    func randomModels(batch: Int) throws {
        let dir = try TemporaryDirectory()
        var rng = SeededRandom(seed: 0x5EED_0000 + UInt64(batch))
        for i in 0..<25 {
            var m = Metadata()
            for k in 0..<Int(rng.next() % 20) { m.set("k\(k).\(["a", "b_c", "x9"][Int(rng.next() % 3)])", Self.randomValue(&rng)) }
            var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
            for t in 0..<Int(rng.next() % 6) {
                let dtype = DType.allCases[Int(rng.next() % UInt64(DType.allCases.count))]
                // Outer dims up to 6, the last (cols) sometimes past both packing blocks.
                var shape = (0..<Int(rng.next() % 4)).map { _ in 1 + Int(rng.next() % 6) }
                shape.append(1 + Int(rng.next() % (rng.next() % 3 == 0 ? 400 : 9)))
                let n = shape.reduce(1, *)
                let values = (0..<n).map { _ in rng.normal(std: 2) }
                let name = "t\(t)" + String(repeating: "·", count: Int(rng.next() % 3))
                tensors.append((TensorInfo(name: name, dtype: dtype, shape: shape), try TensorEncoder.encode(values, shape: shape, as: dtype, name: name)))
            }
            let alignment = [8, 32, 64, 256][Int(rng.next() % 4)]
            let path = dir.file("m\(i).bgpt")
            try BGPTWriter.write(path: path, metadata: m, tensors: tensors, alignment: alignment)
            let f = try BGPTFile(path: path)
            #expect(f.metadata == m, "model \(batch).\(i)")
            #expect(f.alignment == alignment)
            #expect(f.tensors.map(\.name) == tensors.map(\.info.name))
            try f.verify()
            for (t, e) in zip(f.tensors, tensors) {
                #expect(t.dtype == e.info.dtype && t.shape == e.info.shape)
                #expect(Array(f.view(t).bytes) == e.bytes, "\(t.name)")
                try f.view(t).validateCodes()
            }
            // The encoder alone lays out the same header the writer wrote.
            let h = BGPTEncoding.header(metadata: m, tensors: f.tensors, alignment: alignment)
            #expect(h.bytes == Array(try dir.read("m\(i).bgpt").prefix(f.headerSize)))
        }
    }
}
