import PostgresNIO

extension Database {
    /// Runs `body` while a dedicated connection LISTENs on `channels`; every
    /// NOTIFY on them is passed to the ``Wakeups`` the body waits on.
    ///
    /// The connection is held for the body's whole run. When it drops, the
    /// body is not interrupted: its waits simply fall back to their timeouts.
    public func withListener<T: Sendable>(channels: [String], _ body: @Sendable (Wakeups) async throws -> T) async throws -> T {
        let wakeups = Wakeups()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [client, logger] in
                try? await client.withConnection { connection in
                    try await withThrowingTaskGroup(of: Void.self) { listeners in
                        for channel in channels {
                            let notifications = try await connection.listen(channel)
                            listeners.addTask {
                                for try await notification in notifications {
                                    await wakeups.signal(notification.payload)
                                }
                            }
                        }
                        try await listeners.waitForAll()
                    }
                }
                logger.debug("listener connection closed", metadata: ["channels": "\(channels)"])
            }
            defer { group.cancelAll() }
            return try await body(wakeups)
        }
    }
}
