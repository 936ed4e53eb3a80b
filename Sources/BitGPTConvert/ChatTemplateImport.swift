import BitGPT
import Foundation

/// Carries a Hugging Face model's chat template into the `.bgpt` (`tokenizer.chat_template`).
///
/// The template comes from the `chat_template` of a `tokenizer_config.json` beside the checkpoint
/// (or beside the `--tokenizer` file): a string, or a list of `{"name", "template"}` objects, of
/// which the one named `default` (else the first) is taken.
public enum ChatTemplateImport {
    /// Largest `tokenizer_config.json` read.
    static let maxConfigBytes = 16 << 20

    /// The template of the first `tokenizer_config.json` in the folders of `paths`, or nil when
    /// there is none or it has no `chat_template`.
    ///
    /// - Parameter paths: the checkpoint and tokenizer files.
    /// - Returns: the template text and the config file it came from.
    /// - Throws: ``ConvertError/tokenizer(_:)`` for a config that is too large, not JSON, or whose
    ///   `chat_template` is neither a string nor a list of named templates, or is too long.
    public static func find(besides paths: [String]) throws(ConvertError) -> (template: String, file: String)? {
        var seen = Set<String>()
        for p in paths {
            let dir = URL(fileURLWithPath: p).deletingLastPathComponent().path
            let config = dir + "/tokenizer_config.json"
            guard seen.insert(config).inserted, FileManager.default.fileExists(atPath: config) else { continue }
            if let t = try read(config) { return (t, config) }
        }
        return nil
    }

    /// The `chat_template` of one `tokenizer_config.json`, or nil when it has none.
    /// - Throws: ``ConvertError/tokenizer(_:)``.
    public static func read(_ path: String) throws(ConvertError) -> String? {
        let file = try SourceFile(path: path)
        guard file.bytes.count <= maxConfigBytes else { throw .tokenizer("\(path): \(file.bytes.count) bytes, too large for a tokenizer_config.json") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(file.bytes))) as? [String: Any] else {
            throw .tokenizer("\(path): not a JSON object")
        }
        guard let value = object["chat_template"], !(value is NSNull) else { return nil }
        let text: String
        if let s = value as? String {
            text = s
        } else if let list = value as? [[String: Any]], !list.isEmpty {
            let chosen = list.first { $0["name"] as? String == "default" } ?? list[0]
            guard let t = chosen["template"] as? String else { throw .tokenizer("\(path): a chat_template entry has no \"template\" string") }
            text = t
        } else {
            throw .tokenizer("\(path): chat_template is neither a string nor a list of {name, template}")
        }
        guard text.utf8.count <= ChatTemplate.maxSourceBytes else {
            throw .tokenizer("\(path): the chat template has \(text.utf8.count) bytes, more than the \(ChatTemplate.maxSourceBytes) allowed")
        }
        return text
    }
}
