import BitGPT
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks, before any long work (tokenizer training, data loading, the steps), that every file
/// a run writes can be written, so a bad path costs seconds, not a whole run.
///
/// The output folder is created as the run would create it; then, in the output folder and in
/// the folder of `--export`, a temporary file is created and removed exactly where the writers
/// put theirs (`.NAME.tmp-PID`, renamed over `NAME`). Every destination must also be a regular
/// file or a new name (``RenameDestination``). Each failure is one ``TrainError/io(path:reason:)``
/// naming the path and the flag.
enum OutputCheck {
    /// The files a run writes into its output folder (`ckpt.*`, `loss.*`, the default export).
    static let runFiles = ["ckpt.safetensors", "ckpt.optim.safetensors", "ckpt.optim.next.safetensors", "loss.csv", "loss.svg",
                           "tokenizer.json", "tokenizer.tiktoken", "tokenizer.model", LoRAAdapterExport.fileName,
                           LoRACheckpoint.optimName]

    /// The files that mark a folder as holding a run (one `--resume` can continue): training into
    /// it afresh needs `--overwrite`. A `loss.csv` alone is a run killed before its first
    /// checkpoint, which only a fresh start can redo.
    static let runMarkers = ["ckpt.safetensors", "ckpt.optim.safetensors", LoRAAdapterExport.fileName]

    /// - Throws: ``TrainError/io(path:reason:)`` for the first path that cannot be written, or
    ///   for an `out` folder that holds a run when neither `resume` nor `overwrite` is set.
    static func check(_ o: TrainOptions) throws(TrainError) {
        if !o.resume && !o.overwrite, let f = runMarkers.first(where: { FileManager.default.fileExists(atPath: o.out + "/" + $0) }) {
            throw .io(path: o.out, reason: "already holds a run (\(f)); continue it with --resume or replace it with --overwrite")
        }
        try makeFolder(o.out)
        var files = runFiles.map { o.out + "/" + $0 }
        if o.export == nil { files.append(o.out + "/model.bgpt") }
        for f in files {
            if let kind = RenameDestination.unsuitableKind(f) { throw .io(path: f, reason: RenameDestination.message(kind: kind)) }
        }
        try probe(o.out + "/loss.csv", naming: o.out, what: "into the --out folder")
        if let e = o.export {
            if let kind = RenameDestination.unsuitableKind(e) { throw .io(path: e, reason: RenameDestination.message(kind: kind)) }
            try probe(e, naming: e, what: "--export")
        }
    }

    /// Creates `dir` and its parents, or throws naming the reason.
    static func makeFolder(_ dir: String) throws(TrainError) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            // FileManager's error is a multi-line dump; mkdir of the last component names the reason.
            if mkdir(dir, 0o755) == 0 { return }
            throw .io(path: dir, reason: "cannot create the --out folder: \(String(cString: strerror(errno)))")
        }
    }

    /// Creates and removes the temporary file a writer of `path` would create beside it; a
    /// failure is reported against `name` (`NAME: cannot write WHAT: REASON`).
    static func probe(_ path: String, naming name: String, what: String) throws(TrainError) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        // A suffix no writer counts up to; left behind by a crash, StaleTemporaryFiles removes it.
        let temp = (dir.isEmpty ? "." : dir) + "/." + url.lastPathComponent + ".tmp-\(getpid())-4294967295"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 && errno == EEXIST { return }
        guard fd >= 0 else { throw .io(path: name, reason: "cannot write \(what): \(String(cString: strerror(errno)))") }
        close(fd)
        unlink(temp)
    }
}
