import BitGPT
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads, and atomic whole-file writes through the core's ``AtomicFile`` (temp file in
/// the same directory, fsync, rename, fsync of the directory), each failure turned into a
/// ``TrainError/io(path:reason:)``.
enum FileIO {
    static func read(_ path: String) throws(TrainError) -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file")
        }
        return [UInt8](d)
    }

    /// Writes `chunks` one after another to `path`, atomically (the core's ``AtomicFile``).
    static func writeAtomically(_ path: String, _ chunks: [UnsafeRawBufferPointer]) throws(TrainError) {
        do throws(FormatError) { try AtomicFile.write(path: path, chunks: chunks) } catch {
            switch error {
            case let .badDestination(p, kind): throw .io(path: p, reason: RenameDestination.message(kind: kind))
            case let .io(call, p, message): throw .io(path: p, reason: "\(call): \(message)")
            default: throw .io(path: path, reason: error.description)
            }
        }
    }

    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(TrainError) {
        var failure: TrainError?
        bytes.withUnsafeBytes { b in
            do throws(TrainError) { try writeAtomically(path, [b]) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// `path` as an absolute path: a relative one is resolved against the current directory now
    /// (a leading `./` dropped), so it still names the same file from another directory later.
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var p = Substring(path)
        while p.hasPrefix("./") { p = p.dropFirst(2) }
        return FileManager.default.currentDirectoryPath + "/" + p
    }
}
