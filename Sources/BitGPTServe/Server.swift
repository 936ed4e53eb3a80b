import BitGPT
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `lm-serve`: an OpenAI-compatible HTTP server over one model.
public enum LMServer {
    /// Serves until SIGTERM or SIGINT: then refuses new requests (503), lets running ones finish
    /// for up to `timeout` seconds, cancels the rest, and returns.
    ///
    /// - Parameters:
    ///   - config: the settings (checked with ``ServerConfiguration/problem()`` first).
    ///   - model: the loaded model.
    ///   - logger: one line per request, and start-up and shutdown notes.
    ///   - onListening: called with the address once the server accepts connections
    ///     (`127.0.0.1:8080`; with `--port 0`, the port picked).
    public static func run(config: ServerConfiguration, model: ServedModel, logger: Logger,
                           onListening: @escaping @Sendable (String) -> Void) async throws {
        let metrics = ServerMetrics()
        metrics.slots.set(Double(config.parallel))
        let decoder = try BatchDecoder(model: model.transformer, pool: WorkerPool(threads: config.threads), slots: config.parallel,
                                       kvType: config.cacheType)
        let scheduler = Scheduler(decoder: decoder, queue: config.queue, metrics: metrics)
        let routes = Routes(model: model, scheduler: scheduler, metrics: metrics, config: config)
        let app = Application(
            router: routes.router(logger: logger),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "lm-serve"),
            onServerRunning: { channel in
                let address: String
                if let a = channel.localAddress, let ip = a.ipAddress, let port = a.port {
                    address = a.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
                } else {
                    address = "\(config.host):\(config.port)"
                }
                onListening(address)
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [app, SchedulerService(scheduler: scheduler, timeout: config.timeout, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

/// Runs the scheduler's thread for the life of the server. On graceful shutdown (it is shut down
/// before the HTTP server, being listed after it) it refuses new requests, waits for the running
/// ones or cancels them at the deadline, then stops the thread.
struct SchedulerService: Service {
    let scheduler: Scheduler
    let timeout: Double
    let logger: Logger

    func run() async throws {
        scheduler.start()
        try? await gracefulShutdown()
        logger.info("shutting down: refusing new requests, \(timeout) s for those running")
        scheduler.beginShutdown(timeout: timeout)
        await scheduler.waitUntilIdle()
        scheduler.stop()
    }
}
