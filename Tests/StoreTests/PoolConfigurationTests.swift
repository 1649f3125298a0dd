import PostgresNIO
import Store
import Testing

/// The pool reads the same connection strings as libpq, through libpq's own parser.
@Suite struct PoolConfigurationTests {
    @Test func keywordsAndURIsGiveTheSameServer() throws {
        let socket = try PostgresClient.Configuration(conninfo: "host=/run/pg port=6543 user=akis dbname=ticks password=s3cret")
        #expect(socket.unixSocketPath == "/run/pg/.s.PGSQL.6543")
        #expect(socket.username == "akis" && socket.database == "ticks" && socket.password == "s3cret")

        let uri = try PostgresClient.Configuration(conninfo: "postgresql://akis:s3cret@db.example:6432/ticks?sslmode=disable&connect_timeout=3")
        #expect(uri.host == "db.example" && uri.port == 6432 && uri.unixSocketPath == nil)
        #expect(uri.username == "akis" && uri.password == "s3cret" && uri.database == "ticks")
        #expect(uri.options.connectTimeout == .seconds(3))

        // The last of a repeated keyword wins, as in libpq (the tests' scratch databases rely on it).
        #expect(try PostgresClient.Configuration(conninfo: "host=/tmp dbname=postgres dbname=t_1").database == "t_1")
    }

    @Test func badStringsAreRefusedWithoutRepeatingThem() {
        for (text, message) in [
            ("host=/tmp password=hunter2 nonsense", "not valid libpq syntax"),
            ("host=/tmp port=99999 password=hunter2", "port \"99999\" is not a port number"),
            ("host=a,b password=hunter2", "several hosts"),
            ("host=db sslmode=sometimes password=hunter2", "sslmode \"sometimes\" is not one of"),
        ] {
            #expect { try PostgresClient.Configuration(conninfo: text) } throws: { error in
                "\(error)".contains(message) && !"\(error)".contains("hunter2")
            }
        }
    }
}
