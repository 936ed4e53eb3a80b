import BitGPT
import CMPI
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The processes of a data-parallel run: MPI_COMM_WORLD under `mpirun`, or this process alone.
///
/// A process started by Open MPI's `mpirun` (it sets `OMPI_COMM_WORLD_SIZE`, or `PMIX_RANK`
/// under a PMIx launcher such as `srun`) initialises MPI once, on first use of ``world``, and
/// is rank `rank` of `size`. A process started any other way never touches MPI: it is rank 0
/// of 1, every collective is a no-op, and `lm-train` behaves exactly as without MPI.
///
/// Every collective (``sum(_:count:)``, ``sum(_:)``, ``broadcast(_:)``) must be called by all
/// ranks in the same order; a communication error aborts the whole job (MPI's default
/// `MPI_ERRORS_ARE_FATAL`). Not thread-safe: call from the thread that trains.
public final class Communicator {
    /// This process's rank, 0 ..< ``size``.
    public let rank: Int
    /// Processes in the run.
    public let size: Int
    /// Whether MPI was initialised (launched by `mpirun`), even with one rank.
    public let usesMPI: Bool

    /// Rank 0: the one that writes checkpoints, logs and plots, and prints.
    public var isRoot: Bool { rank == 0 }

    private init(rank: Int, size: Int, usesMPI: Bool) {
        self.rank = rank; self.size = size; self.usesMPI = usesMPI
    }

    /// This process alone (rank 0 of 1, no MPI).
    public static let single = Communicator(rank: 0, size: 1, usesMPI: false)

    /// MPI_COMM_WORLD when launched by `mpirun`, else ``single``. MPI_Init runs on first use.
    public static let world: Communicator = {
        guard launchedByMPI else { return single }
        let rc = bitgpt_mpi_init()
        guard rc == 0 else {
            FileHandle.standardError.write("Error: MPI_Init failed with code \(rc)\n".data(using: .utf8) ?? Data())
            exit(1)
        }
        return Communicator(rank: Int(bitgpt_mpi_rank()), size: Int(bitgpt_mpi_size()), usesMPI: true)
    }()

    /// Whether an MPI launcher started this process.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Replaces `buffer[0 ..< count]` on every rank by its element-wise sum over the ranks
    /// (MPI_Allreduce, MPI_SUM, in place). No-op for one process.
    ///
    /// Every rank receives the same bits (Open MPI reduces each element in one order and
    /// distributes it, or pairs ranks symmetrically, and float addition is commutative);
    /// ``checkReplicas(_:)`` verifies this where it matters.
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard usesMPI, size > 1 else { return }
        _ = bitgpt_mpi_sum_floats(buffer, Int64(count))
    }

    /// The sum of `x` over the ranks. Returns `x` itself for one process.
    public func sum(_ x: Double) -> Double {
        guard usesMPI, size > 1 else { return x }
        var v = x
        _ = bitgpt_mpi_sum_doubles(&v, 1)
        return v
    }

    /// Rank 0's `x`, on every rank. Returns `x` itself for one process.
    public func broadcast(_ x: UInt64) -> UInt64 {
        guard usesMPI, size > 1 else { return x }
        var v = x
        _ = withUnsafeMutableBytes(of: &v) { bitgpt_mpi_broadcast($0.baseAddress, Int32($0.count), 0) }
        return v
    }

    /// Checks that this rank holds the same bytes as rank 0 (replicas are bit-identical).
    ///
    /// Collective: every rank calls it with its copy of the same buffer.
    /// - Parameter bytes: this rank's copy (parameters, optimizer moments).
    /// - Throws: ``TrainError/replicaMismatch(_:)`` on a rank whose bytes differ from rank 0's.
    public func checkReplicas(_ bytes: UnsafeRawBufferPointer, what: String) throws(TrainError) {
        guard usesMPI, size > 1 else { return }
        let mine = XXHash64.hash(bytes)
        let root = broadcast(mine)
        guard mine == root else {
            throw .replicaMismatch("rank \(rank) of \(size): its \(what) differ from rank 0's (xxh64 \(String(mine, radix: 16)) vs \(String(root, radix: 16)))")
        }
    }

    /// Runs `body` as the whole program of one rank: on success finalises MPI; on error prints
    /// `Error: rank R of N: <error>` to stderr and aborts the whole job (MPI_Abort, exit code
    /// 1), so `mpirun` ends instead of waiting on the ranks still inside a collective.
    ///
    /// Without MPI it only runs `body`, rethrowing its error unchanged.
    /// - Throws: `body`'s error, without MPI only.
    public func runAsRank(_ body: () throws -> Void) rethrows {
        guard usesMPI else { return try body() }
        do {
            try body()
        } catch {
            FileHandle.standardError.write("Error: rank \(rank) of \(size): \(error)\n".data(using: .utf8) ?? Data())
            bitgpt_mpi_abort(1)
            exit(1)
        }
        _ = bitgpt_mpi_finalize()
    }
}
