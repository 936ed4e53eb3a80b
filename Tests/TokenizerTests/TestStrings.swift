import BitGPT
import Foundation

/// Test inputs shared by the tokenizer suites: a fixed battery of hard cases plus seeded random
/// strings over a mixed alphabet (ASCII, accents, CJK, emoji, odd whitespace).
enum TestStrings {
    static let fixed: [String] = [
        "", " ", "  ", "\n", "\n\n", "\t", " \t\n ", "Hello world", " Hello world", "Hello, world! It's 2024.",
        "  leading spaces\n\nnew lines\t tabs", "naïve café — “quotes” 日本語 🤖", "I've they'll we'd DON'T",
        "12345 678.90", "a\u{a0}b", "<|endoftext|>", "x<|endoftext|>y", "trailing   ", "trailing \n  ", "\r\n\r\n",
        "ÀÉÎÕÜ àéîõü ñ ß ẞ", "Ελληνικά Русский текст עברית العربية", "中文字符测试，标点。", "한국어 텍스트",
        "emoji 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ✓✗", "tabs\t\t\tand  spaces", "mixed123abc456", "'s 't 're 've 'm 'll 'd",
        "'S 'T 'RE 'VE 'M 'LL 'D", "ſ 's 'ſ", String(repeating: "x", count: 1000), String(repeating: "ab", count: 300),
        String(repeating: "😀", count: 100), String(repeating: " ", count: 40) + "a", "a" + String(repeating: " ", count: 40),
        "\u{2028}\u{2029}\u{85}", "zero\u{200b}width", "combining e\u{301} a\u{308}", "   \n\n\n   x", "x\n \n y",
        "½ ¾ ² ³ Ⅻ ⅷ", "\u{0}\u{1}\u{2} control", "a\u{7f}b", "١٢٣ ٤٥٦", "वाक्य हिंदी", "CR\ronly", "\n\r\n\r",
    ]

    static let alphabet: [String] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t\n'.,;:!?-_()\"éüßçñøåæ日本語中文한국어").map(String.init)
        + ["🤖", "👍", "🏽", "✓", "\u{a0}", "\u{3000}", "’", "—", "…", "\r\n"]

    /// `fixed` plus `count` seeded random strings.
    static func battery(random count: Int = 160, seed: UInt64 = 42) -> [String] {
        var rng = SeededRandom(seed: seed)
        var out = fixed
        let lengths = [1, 2, 3, 5, 8, 13, 40, 120]
        for _ in 0..<count {
            let n = lengths[Int(rng.next() % UInt64(lengths.count))]
            var s = ""
            for _ in 0..<n { s += alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            out.append(s)
        }
        return out
    }

    /// A scratch directory removed by the caller.
    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "bitgpt-tok-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}
