/// A PyTorch checkpoint written by `torch.save` (the ZIP format of PyTorch ≥ 1.6), read without Python.
///
/// Layout (pytorch `docs/source/notes/serialization.rst` and
/// `torch/serialization.py` `_save`): a stored
/// ZIP whose entries share a top-level folder of any name: `<dir>/data.pkl` (the pickle, found by
/// its suffix), `<dir>/data/<key>` (one entry per storage, raw little-endian elements), `<dir>/byteorder`
/// (optional, must be `little`), `<dir>/version` and a few more. The pickle runs in the restricted
/// ``PickleMachine``; tensors stay in the mapped file and are read in place.
///
/// The model's tensors are taken from the state dict at `ckpt["model"]` (nanoGPT, BitGPT, lilLM,
/// LightGPT, llama2.c trainers), `ckpt["state_dict"]`, or the top level when the file is a bare
/// state dict; a leading `_orig_mod.` (torch.compile) is stripped from every name.
public final class TorchCheckpoint: CheckpointSource {
    /// The mapped file.
    public let file: SourceFile
    /// The archive's entries.
    public let archive: ZipArchive
    /// The folder prefix of every entry, e.g. `ckpt/`.
    public let prefix: String
    /// The unpickled object (a dict for every checkpoint the seed projects write).
    public let root: PickleValue
    /// The state dict's tensors (prefix-stripped names), in pickle order.
    public let tensors: [SourceTensor]
    /// `ckpt["config"]` entries overlaid with `ckpt["model_args"]`.
    public let hyperParameters: [String: PickleValue]
    /// The file's path.
    public var path: String { file.path }
    /// Always `pytorch`.
    public var container: String { "pytorch" }

    /// Opens and parses `path`.
    ///
    /// - Parameter opaqueClasses: classes the pickle may instantiate as opaque records
    ///   (``PickleMachine/defaultOpaqueClasses`` plus any the user allowed).
    /// - Throws: ``ConvertError`` naming the first problem (I/O, ZIP, pickle, checkpoint structure).
    public convenience init(path: String, opaqueClasses: Set<String> = PickleMachine.defaultOpaqueClasses) throws(ConvertError) {
        try self.init(file: try SourceFile(path: path), opaqueClasses: opaqueClasses)
    }

    /// Parses an already mapped (or copied) file.
    public init(file: SourceFile, opaqueClasses: Set<String> = PickleMachine.defaultOpaqueClasses) throws(ConvertError) {
        self.file = file
        if file.count >= 2, file.bytes[0] == 0x80, file.bytes[1] == 0x02 {
            throw .checkpoint("\(file.path) is a legacy (pre-1.6) torch.save stream; re-save it with a recent PyTorch (zip format)")
        }
        guard file.count >= 4, file.le(0, UInt32.self) == 0x0403_4b50 else {
            throw .checkpoint("\(file.path) is not a torch.save ZIP archive (no PK signature)")
        }
        let zip = try ZipArchive(file)
        archive = zip
        let pickles = zip.entries.filter { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }
        guard pickles.count == 1, let pkl = pickles.first else {
            if zip.entries.contains(where: { $0.name.hasSuffix("constants.pkl") }) {
                throw .checkpoint("\(file.path) is a TorchScript archive, not a torch.save checkpoint")
            }
            throw .checkpoint("\(file.path) has \(pickles.count) data.pkl entries, expected exactly one")
        }
        let pre = String(pkl.name.dropLast("data.pkl".count))
        prefix = pre
        if let bo = zip.entry(pre + "byteorder") {
            let text = String(decoding: zip.data(bo, in: file), as: UTF8.self)
            guard text == "little" else { throw .checkpoint("byteorder is \"\(text)\"; only little-endian checkpoints are read") }
        }
        let pklBytes = zip.data(pkl, in: file)
        guard ZipArchive.crc32(pklBytes) == pkl.crc32 else { throw .zip(offset: pkl.dataOffset, reason: "CRC-32 of \(pkl.name) does not match (corrupted)") }

        // Storage keys and sizes: entries `<prefix>data/<key>`.
        var storages: [String: Int] = [:]
        let dataPrefix = pre + "data/"
        for e in zip.entries where e.name.hasPrefix(dataPrefix) {
            storages[String(e.name.dropFirst(dataPrefix.count))] = e.size
        }
        let machine = PickleMachine(bytes: pklBytes, storages: storages, opaqueClasses: opaqueClasses)
        let root = try machine.run()
        self.root = root

        // The state dict.
        let stateDict: PickleDict
        if case let .dict(d)? = root["model"] { stateDict = d }
        else if case let .dict(d)? = root["state_dict"] { stateDict = d }
        else if case let .dict(d) = root, d.entries.contains(where: { if case .tensor = $0.value { return true } else { return false } }) { stateDict = d }
        else { throw .checkpoint("no state dict found (looked for ckpt[\"model\"], ckpt[\"state_dict\"] and a bare state dict)") }

        var out: [SourceTensor] = []
        for (k, v) in stateDict.entries {
            guard var name = k.stringValue else { throw .checkpoint("state dict key \(k) is not a string") }
            if name.hasPrefix("_orig_mod.") { name.removeFirst("_orig_mod.".count) }
            guard case let .tensor(t) = v else { throw .checkpoint("state dict entry \"\(name)\" is \(v), not a tensor") }
            out.append(TorchCheckpoint.sourceTensor(t, name: name, file: file, archive: zip, prefix: pre))
        }
        tensors = out

        var hp: [String: PickleValue] = [:]
        func merge(_ v: PickleValue?) {
            switch v {
            case let .dict(d)?: for (k, x) in d.entries { if let s = k.stringValue { hp[s] = x } }
            case let .object(o)?: merge(o.state)
            default: break
            }
        }
        merge(root["config"])
        merge(root["model_args"])
        hyperParameters = hp
    }

    /// The bytes of tensor `t` in place. Bounds were checked when the pickle was read.
    static func sourceTensor(_ t: TensorRef, name: String, file: SourceFile, archive: ZipArchive, prefix: String) -> SourceTensor {
        // The machine only accepts storage keys that have an entry, so this lookup succeeds.
        let e = archive.entry(prefix + "data/" + t.storage.key) ?? ZipArchive.Entry(name: "", dataOffset: 0, size: 0, crc32: 0)
        let w = t.dtype.byteWidth
        let start = e.dataOffset + t.offset * w
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + t.elementCount * w)])
        return SourceTensor(name: name, shape: t.shape, dtype: t.dtype, bytes: bytes, storageID: "\(t.storage.key)@\(t.offset)")
    }

    /// A tensor reference elsewhere in the checkpoint (e.g. BitGPT's `ckpt["meta"]` scales) as a source tensor.
    public func sourceTensor(_ t: TensorRef, name: String) -> SourceTensor {
        TorchCheckpoint.sourceTensor(t, name: name, file: file, archive: archive, prefix: prefix)
    }
}
