import BitGPT
import Foundation

/// What a request's stream receives from the ``Scheduler``.
enum JobEvent: Sendable {
    /// A token was drawn.
    case token(TokenEvent)
    /// The sequence ended (its slot is free).
    case finished(FinishReason)
    /// The decoder refused the request or failed.
    case failed(String)
}

/// Owns the ``BatchDecoder`` on one dedicated thread and bridges it to async code.
///
/// Requests wait in a bounded FIFO queue until a slot is free; the thread admits them between
/// decode steps (the decoder runs their prompts in chunks), steps while any slot is busy, and
/// sleeps otherwise. Each request gets an `AsyncStream` of ``JobEvent``s; when the consumer goes
/// away (a client disconnects) the stream's termination cancels the sequence, which frees its slot
/// before the next step.
final class Scheduler: @unchecked Sendable {
    private let decoder: BatchDecoder
    private let slotCount: Int  // decoder.slots, readable from any thread
    private let metrics: ServerMetrics
    private let queueLimit: Int
    private let condition = NSCondition()

    // Shared state, under `condition`.
    private var pending: [Job] = []
    private var cancelRequests: [Int] = []
    private var nextID = 0
    private var draining = false
    private var deadline: ContinuousClock.Instant?
    private var stopping = false
    private var live = 0  // jobs queued or in a slot
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    // The decoder thread's own state.
    private var bySlot: [Int: Job] = [:]
    private var ignoreCancelled: [Int: Int] = [:]  // slot → .cancelled events still to come for jobs already ended
    private var thread: Thread?
    private var rate = RateWindow()

    private final class Job {
        let id: Int
        let request: SequenceRequest
        let continuation: AsyncStream<JobEvent>.Continuation
        init(id: Int, request: SequenceRequest, continuation: AsyncStream<JobEvent>.Continuation) {
            self.id = id
            self.request = request
            self.continuation = continuation
        }
    }

    /// - Parameters:
    ///   - decoder: the decoder; from now on only the scheduler's thread touches it.
    ///   - queue: requests that may wait for a slot.
    ///   - metrics: gauges and counters to keep current.
    init(decoder: BatchDecoder, queue: Int, metrics: ServerMetrics) {
        self.decoder = decoder
        self.slotCount = decoder.slots
        self.queueLimit = queue
        self.metrics = metrics
    }

    /// Starts the decoder thread.
    func start() {
        let t = Thread { [self] in loop() }
        t.name = "lm-serve decoder"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// A queued sequence: its id (for ``cancel(_:)``) and its events.
    struct Ticket: Sendable {
        let id: Int
        let events: AsyncStream<JobEvent>
    }

    /// Queues a sequence.
    ///
    /// - Returns: its id and events, ending with `.finished` or `.failed`. Dropping the stream cancels it.
    /// - Throws: ``APIError/overloaded(retryAfter:)`` when every slot is busy and the queue is
    ///   full; ``APIError/shuttingDown`` after ``beginShutdown(timeout:)``.
    func submit(_ request: SequenceRequest) throws(APIError) -> Ticket {
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        if draining { throw APIError.shuttingDown }
        // Free slots count as room: a request admitted at the next iteration never waits.
        let busy = live - pending.count
        let free = max(0, slotCount - busy)
        if pending.count >= queueLimit + free { throw APIError.overloaded(retryAfter: 1) }
        let job = Job(id: nextID, request: request, continuation: continuation)
        nextID += 1
        pending.append(job)
        live += 1
        metrics.queueDepth.set(Double(pending.count))
        let id = job.id
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(id) }
        }
        condition.signal()
        return Ticket(id: id, events: stream)
    }

    /// Cancels a job (queued or running); its slot is free before the next decode step.
    func cancel(_ id: Int) {
        condition.lock()
        cancelRequests.append(id)
        condition.signal()
        condition.unlock()
    }

    /// Refuses new requests from now on and cancels what is still running `timeout` seconds later.
    func beginShutdown(timeout: Double) {
        condition.lock()
        draining = true
        deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        condition.signal()
        condition.unlock()
    }

    /// Whether new requests are refused.
    var isDraining: Bool {
        condition.lock()
        defer { condition.unlock() }
        return draining
    }

    /// Returns once no request is queued or running.
    func waitUntilIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            if live == 0 { condition.unlock(); c.resume(); return }
            idleWaiters.append(c)
            condition.unlock()
        }
    }

    /// Ends the decoder thread (after the current step).
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    // MARK: - The decoder thread

    private func loop() {
        while true {
            condition.lock()
            applyCancellations()
            if let d = deadline, ContinuousClock.now >= d { cancelEverything() }
            admitPending()
            metrics.queueDepth.set(Double(pending.count))
            metrics.busySlots.set(Double(decoder.activeSlots))
            if decoder.activeSlots == 0 && bySlot.isEmpty {
                rate.idle()
                metrics.tokensPerSecond.set(0.0)
                if stopping { condition.unlock(); return }
                condition.wait()
                condition.unlock()
                continue
            }
            condition.unlock()

            let events: [(slot: Int, event: SequenceEvent)]
            do { events = try decoder.step() } catch {
                failEverything("the decoder failed: \(error)")
                continue
            }
            deliver(events)
        }
    }

    /// Under the lock: ends the jobs whose clients went away.
    private func applyCancellations() {
        guard !cancelRequests.isEmpty else { return }
        let ids = Set(cancelRequests)
        cancelRequests = []
        pending.removeAll { job in
            guard ids.contains(job.id) else { return false }
            job.continuation.finish()
            jobEnded()
            return true
        }
        for (slot, job) in bySlot where ids.contains(job.id) {
            endRunning(slot: slot, job: job, event: nil)
        }
    }

    /// Under the lock: cancels every queued and running job (the shutdown deadline has passed).
    private func cancelEverything() {
        for job in pending {
            job.continuation.yield(.finished(.cancelled))
            job.continuation.finish()
            jobEnded()
        }
        pending = []
        for (slot, job) in bySlot { endRunning(slot: slot, job: job, event: .finished(.cancelled)) }
    }

    /// Under the lock: cancels the sequence in `slot` and ends its job's stream.
    private func endRunning(slot: Int, job: Job, event: JobEvent?) {
        decoder.cancel(slot: slot)
        ignoreCancelled[slot, default: 0] += 1
        bySlot[slot] = nil
        if let e = event { job.continuation.yield(e) }
        job.continuation.finish()
        jobEnded()
    }

    /// Under the lock: moves queued jobs into free slots, oldest first.
    private func admitPending() {
        while decoder.freeSlots > 0 && !pending.isEmpty {
            let job = pending.removeFirst()
            do {
                let slot = try decoder.admit(job.request)
                bySlot[slot] = job
                metrics.promptTokens.increment(by: Int64(job.request.prompt.count))
            } catch {
                job.continuation.yield(.failed("\(error)"))
                job.continuation.finish()
                jobEnded()
            }
        }
    }

    /// Hands a step's events to their jobs.
    private func deliver(_ events: [(slot: Int, event: SequenceEvent)]) {
        // The metrics first, so a client that reads /metrics after its answer sees its tokens.
        let tokens = events.reduce(0) { n, e in
            if case .token = e.event, bySlot[e.slot] != nil { return n + 1 }
            return n
        }
        metrics.generatedTokens.increment(by: Int64(tokens))
        metrics.tokensPerSecond.set(rate.add(tokens))
        metrics.busySlots.set(Double(decoder.activeSlots))
        condition.lock()
        defer { condition.unlock() }
        for (slot, event) in events {
            if case .finished(.cancelled) = event, let n = ignoreCancelled[slot], n > 0 {
                ignoreCancelled[slot] = n > 1 ? n - 1 : nil
                continue
            }
            guard let job = bySlot[slot] else { continue }
            switch event {
            case .token(let t):
                job.continuation.yield(.token(t))
            case .finished:
                job.continuation.yield(.finished(eventReason(event)))
                job.continuation.finish()
                bySlot[slot] = nil
                jobEnded()
            }
        }
    }

    private func eventReason(_ e: SequenceEvent) -> FinishReason {
        if case .finished(let r) = e { return r }
        return .stop
    }

    /// Ends every job with an error (the decoder threw; it is not used again).
    private func failEverything(_ message: String) {
        condition.lock()
        for job in pending + Array(bySlot.values) {
            job.continuation.yield(.failed(message))
            job.continuation.finish()
            jobEnded()
        }
        pending = []
        bySlot = [:]
        draining = true
        condition.unlock()
    }

    /// Under the lock: one job fewer; wakes ``waitUntilIdle()`` callers at zero.
    private func jobEnded() {
        live -= 1
        if live == 0 {
            let w = idleWaiters
            idleWaiters = []
            for c in w { c.resume() }
        }
    }
}

/// Generated tokens per second over the last few seconds of decoding.
struct RateWindow {
    private var samples: [(ContinuousClock.Instant, Int)] = []
    private let span: Duration = .seconds(5)

    /// Records `tokens` generated now; returns the rate over the window.
    mutating func add(_ tokens: Int) -> Double {
        let now = ContinuousClock.now
        samples.append((now, tokens))
        samples.removeAll { now - $0.0 > span }
        guard let first = samples.first, samples.count > 1 else { return 0 }
        let total = samples.dropFirst().reduce(0) { $0 + $1.1 }
        return Double(total) / max(seconds(now - first.0), 1e-6)
    }

    /// Decoding paused: the next rate starts afresh.
    mutating func idle() { samples = [] }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
