import Foundation
import TestSupport
import Testing

/// README and bitgpt.h say what libbitgpt really does: its run-time dependencies, the context
/// window rule, and a valgrind run that passes with the shipped suppressions.
@Suite("libbitgpt docs")
struct LibraryDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built libbitgpt.so, beside the built tools.
    func library() throws -> String {
        let dir = URL(fileURLWithPath: try Tools.path("lm-run")).deletingLastPathComponent()
        let path = dir.appendingPathComponent("libbitgpt.so").path
        try #require(FileManager.default.fileExists(atPath: path), "libbitgpt.so is not built beside lm-run")
        return path
    }

    /// README's C API section.
    func readmeCAPI() throws -> String {
        let readme = try String(contentsOf: LibraryDocsTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "## C API (libbitgpt)"))
        let rest = readme[start.upperBound...]
        return String(rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)])
    }

    @Test("every system library that ldd lists for libbitgpt.so is named in README, which names no other")
    func dependencies() throws {
        let r = try ToolRunner.run("/usr/bin/ldd", [try library()])
        #expect(r.status == 0)
        // "libsentencepiece.so.0 => /lib/x86_64-linux-gnu/libsentencepiece.so.0 (0x…)"
        var system: Set<String> = []
        for line in r.stdout.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let name = fields.first.map(String.init), !name.hasPrefix("linux-vdso"), !name.contains("ld-linux") else { continue }
            let resolved = fields.count >= 3 ? String(fields[2]) : name
            if resolved.contains("/swift/") { continue }   // the toolchain's Swift runtime (debug builds)
            system.insert(String(name.prefix { $0 != "." }))
        }
        #expect(!system.contains("libsentencepiece_train"))
        let text = try readmeCAPI()
        for lib in system.sorted() { #expect(text.contains(lib), "README's C API section does not name \(lib)") }
        #expect(!text.contains("libprotobuf-lite") || system.contains("libprotobuf-lite"))
    }

    @Test("readelf -d: the system libraries libbitgpt.so needs are exactly README's list, without libsentencepiece_train")
    func needed() throws {
        let r = try ToolRunner.run("/usr/bin/env", ["readelf", "-d", try library()])
        #expect(r.status == 0, "\(r.stderr)")
        // " 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]"
        let needed = r.lines.filter { $0.contains("(NEEDED)") }.compactMap { line -> String? in
            guard let a = line.firstIndex(of: "["), let b = line.lastIndex(of: "]"), a < b else { return nil }
            return String(line[line.index(after: a)..<b])
        }
        // A debug build also needs the toolchain's shared Swift runtime; the loader is implied.
        let runtime = ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "lib_FoundationICU", "ld-linux"]
        let system = Set(needed.filter { n in !runtime.contains { n.hasPrefix($0) } })
        #expect(system == ["libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libsentencepiece.so.0"], "NEEDED: \(needed)")
        let text = try readmeCAPI()
        for lib in system.sorted() { #expect(text.contains(String(lib.prefix { $0 != "." })), "README's C API section does not name \(lib)") }
    }

    @Test("bitgpt.h states the context-window rule as the code has it: every family re-runs")
    func windowRule() throws {
        let header = try String(contentsOf: LibraryDocsTests.root.appendingPathComponent("Sources/CBitGPT/include/bitgpt.h"), encoding: .utf8)
        #expect(!header.contains("families with learned positions re-run"))
        #expect(header.contains("every family re-runs the last context_length tokens"))
    }

    /// Set by tools/test-sanitizers.sh: an instrumented library links only into instrumented
    /// programs and cannot run under valgrind; the plain `swift test` runs this test.
    static let skipValgrind = ProcessInfo.processInfo.environment["BITGPT_SKIP_VALGRIND_TEST"]

    @Test("generate.c passes valgrind --leak-check=full --error-exitcode=9 with tools/valgrind/swift.supp",
          .enabled(if: skipValgrind == nil, "BITGPT_SKIP_VALGRIND_TEST is set: \(skipValgrind ?? "")"))
    func valgrind() throws {
        let valgrind = try #require(["/usr/bin/valgrind", "/usr/local/bin/valgrind"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "valgrind is not installed (tools/setup.sh installs it)")
        let dir = try TemporaryDirectory()
        // Valgrind 3.19 cannot read clang's DWARF 5: run on a copy without debug info.
        let lib = dir.file("libbitgpt.so")
        try FileManager.default.copyItem(atPath: try library(), toPath: lib)
        #expect(try ToolRunner.run("/usr/bin/strip", ["--strip-debug", lib]).status == 0)
        let root = LibraryDocsTests.root.path
        let exe = dir.file("generate")
        let cc = try ToolRunner.run("/usr/bin/cc", ["-std=c11", "-O1", root + "/tools/c-example/generate.c", "-I", root + "/Sources/CBitGPT/include",
                                                    "-L", dir.path, "-lbitgpt", "-Wl,-rpath," + dir.path, "-o", exe])
        #expect(cc.status == 0, "\(cc.stderr)")
        let run = try ToolRunner.run(valgrind, ["--leak-check=full", "--error-exitcode=9", "--suppressions=" + root + "/tools/valgrind/swift.supp",
                                                exe, root + "/models/shakespeare-char-t2.bgpt", "Hi", "12", "3"])
        #expect(run.status == 0, "\(run.stderr.suffix(3000))")
        #expect(run.stderr.contains("possibly lost: 0 bytes") && run.stderr.contains("definitely lost: 0 bytes"))
    }
}
