import PostgresNIO

extension Database {
    /// Runs `body` while a dedicated connection LISTENs on `channels`; every
    /// NOTIFY on them is passed to the ``Wakeups`` the body waits on.
    ///
    /// The connection is held for the body's whole run. When it drops (the
    /// database restarted), the body is not interrupted: its waits fall back
    /// to their timeouts while the listener reconnects with back-off, and a
    /// wake-up is signalled on reconnection, since notifications sent
    /// meanwhile were lost.
    public func withListener<T: Sendable>(channels: [String], _ body: @Sendable (Wakeups) async throws -> T) async throws -> T {
        let wakeups = Wakeups()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [client, logger] in
                var delay = Duration.milliseconds(100)
                var connected = false
                while !Task.isCancelled {
                    do {
                        try await client.withConnection { connection in
                            try await withThrowingTaskGroup(of: Void.self) { listeners in
                                for channel in channels {
                                    let notifications = try await connection.listen(channel)
                                    listeners.addTask {
                                        for try await notification in notifications {
                                            await wakeups.signal(notification.payload)
                                        }
                                    }
                                }
                                if connected { await wakeups.signal("reconnected") }
                                connected = true
                                delay = .milliseconds(100)
                                try await listeners.waitForAll()
                            }
                        }
                    } catch {
                        if Task.isCancelled { return }
                        logger.debug("listener connection lost; reconnecting", metadata: ["channels": "\(channels)", "error": "\(error)"])
                    }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                }
            }
            defer { group.cancelAll() }
            return try await body(wakeups)
        }
    }
}
