import CLibPQ
import Foundation
import Ingest
import NIOSSL
import PostgresNIO

extension PostgresClient.Configuration {
    /// What a libpq connection string says (`host=… port=… dbname=…` or a `postgresql://` URI),
    /// read by libpq's own parser so that the pool and the libpq side of the daemon reach the
    /// same server the same way. Unset keys fall back as libpq's do: PGHOST, PGPORT, PGUSER,
    /// PGPASSWORD, PGDATABASE, PGSSLMODE, then the local socket, 5432, the user's name.
    /// `sslmode` maps to postgres-nio's TLS: disable, prefer/allow (no certificate check, as
    /// libpq), require (no check), verify-ca, verify-full.
    ///
    /// Errors never repeat the string: it may hold a password.
    public init(conninfo: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(conninfo, &message) else {
            if let message { PQfreemem(message) }
            throw StoreError("the database connection string is not valid libpq syntax (keyword=value pairs or a postgresql:// URI)")
        }
        defer { PQconninfoFree(parsed) }
        var given: [String: String] = [:]
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { given[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        let environment = ProcessInfo.processInfo.environment
        func value(_ key: String, _ variable: String) -> String? {
            (given[key] ?? environment[variable]).flatMap { $0.isEmpty ? nil : $0 }
        }
        let host = value("host", "PGHOST") ?? "/var/run/postgresql"
        guard !host.contains(",") else { throw StoreError("the database connection string names several hosts; the pool takes one") }
        let portText = value("port", "PGPORT") ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else { throw StoreError("the database port \(Sanitized(portText)) is not a port number") }
        let user = value("user", "PGUSER") ?? Self.systemUser
        let password = value("password", "PGPASSWORD")
        let database = value("dbname", "PGDATABASE") ?? user
        if host.hasPrefix("/") {
            self.init(unixSocketPath: "\(host)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            let mode = value("sslmode", "PGSSLMODE") ?? "prefer"
            var tls = TLSConfiguration.makeClientConfiguration()
            switch mode {
            case "disable": self.init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
            case "allow", "prefer", "require", "verify-ca":
                tls.certificateVerification = mode == "verify-ca" ? .noHostnameVerification : .none
                self.init(host: host, port: port, username: user, password: password, database: database,
                          tls: mode == "allow" || mode == "prefer" ? .prefer(tls) : .require(tls))
            case "verify-full":
                self.init(host: host, port: port, username: user, password: password, database: database, tls: .require(tls))
            default:
                throw StoreError("sslmode \(Sanitized(mode)) is not one of disable, allow, prefer, require, verify-ca, verify-full")
            }
        }
        if let timeout = value("connect_timeout", "PGCONNECT_TIMEOUT").flatMap(Int.init), timeout > 0 {
            options.connectTimeout = .seconds(timeout)
        }
        if let name = value("application_name", "PGAPPNAME") { options.additionalStartupParameters.append(("application_name", name)) }
    }

    private static var systemUser: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "postgres" }
        return String(cString: name)
    }
}
