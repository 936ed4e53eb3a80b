import BitGPT
import BitGPTCAPI
import CBitGPT
import Foundation
import TestSupport
import Testing

/// The C API's buffer rules: a NULL buffer with capacity 0 asks for the size; a NULL buffer with a
/// non-zero capacity is an invalid argument, not a buffer that is too small.
@Suite("C API buffers")
struct CAPIBufferTests {
    @Test("bg_detokenize and bg_tokenize: NULL with a capacity is BG_ERR_INVALID_ARGUMENT; NULL with 0 is a size query")
    func nullBuffers() throws {
        try Tools.withCAPIModel { model, m in
            let text = "abcd"
            var ids = [Int32](repeating: 0, count: 16)
            var count = 0
            #expect(capiTokenize(model, text, 4, &ids, ids.count, &count) == BG_OK.rawValue && count == 4)

            var needed = -1
            #expect(capiDetokenize(model, ids, count, nil, 10, &needed) == BG_ERR_INVALID_ARGUMENT.rawValue)
            #expect(String(cString: capiModelLastError(model)) == "bg_detokenize: buf is NULL but capacity is 10 (pass 0 to ask for the size)")
            #expect(needed == -1)
            #expect(capiDetokenize(model, ids, count, nil, 0, &needed) == BG_ERR_BUFFER_TOO_SMALL.rawValue)
            #expect(needed == 5)

            var n = -1
            #expect(capiTokenize(model, text, 4, nil, 2, &n) == BG_ERR_INVALID_ARGUMENT.rawValue)
            #expect(String(cString: capiModelLastError(model)) == "bg_tokenize: tokens is NULL but capacity is 2 (pass 0 to ask for the count)")
            #expect(n == -1)
            #expect(capiTokenize(model, text, 4, nil, 0, &n) == BG_ERR_BUFFER_TOO_SMALL.rawValue)
            #expect(n == 4)
        }
    }
}
