import BitGPT
import BitGPTCAPI
import CBitGPT
import Foundation
import TestSupport
import Testing

/// One limit on threads (``ThreadLimit/maximum``) and one message, for `lm-run --threads`,
/// `lm-bench --threads` and the C API's `n_threads`.
@Suite("Thread limit")
struct ThreadLimitTests {
    @Test("lm-run refuses 0, 1025 and 100000 threads with the shared message, and runs with 1024")
    func lmRun() throws {
        let dir = try TemporaryDirectory()
        let m = dir.file("m.bgpt")
        try Tools.tinyModel(m)
        for n in [0, 1025, 100_000] {
            let r = try Tools.run("lm-run", [m, "--threads", "\(n)", "--max-new-tokens", "1"])
            #expect(r.status == 1)
            #expect(r.errorLines == ["Error: --threads: thread count \(n) is out of range 1...1024"])
        }
        let ok = try Tools.run("lm-run", [m, "--threads", "1024", "--max-new-tokens", "2", "--num-samples", "1"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test("lm-bench refuses 100000 threads with the same message, before any work")
    func lmBench() throws {
        let r = try Tools.run("lm-bench", ["--threads", "1,100000"])
        #expect(r.status == 1)
        #expect(r.errorLines == ["Error: --threads: thread count 100000 is out of range 1...1024"])
        #expect(r.stdout == "")
    }

    @Test("the C API refuses n_threads past the limit with the same message; 0 and 1024 work")
    func cAPI() throws {
        try Tools.withCAPIModel { model, m in
            for (n, ok) in [(Int32(0), true), (1024, true), (1025, false), (100_000, false), (-1, false)] {
                var p = bg_context_params()
                bg_context_params_init(&p)
                p.n_threads = n
                var ctx: OpaquePointer?
                let status = capiContextCreate(model, &p, &ctx)
                if ok {
                    #expect(status == BG_OK.rawValue, "\(n)")
                    capiContextFree(ctx)
                } else {
                    #expect(status == BG_ERR_INVALID_ARGUMENT.rawValue, "\(n)")
                    #expect(String(cString: capiModelLastError(model)) == "bg_context_create: n_threads: thread count \(n) is out of range 1...1024")
                }
            }
            #expect(ThreadLimit.maximum == 1024)
        }
    }
}
