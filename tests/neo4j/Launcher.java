import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * A throwaway Neo4j 5 for graphscore's tests: an embedded DBMS whose Bolt connector listens on
 * 127.0.0.1 at a port the operating system picks (so two runs never race for one port), with
 * authentication on, so a wrong password is refused as it would be by any real server.
 *
 * Usage: java -Xmx... -cp 'lib/*:classes' Launcher HOME_DIR PLUGIN_DIR URI_FILE
 * The password of user neo4j comes from GRAPHSCORE_NEO4J_PASSWORD (never from the command
 * line, which other users of the machine can read). Once Bolt accepts connections, the URI
 * (bolt://127.0.0.1:PORT) is written to URI_FILE. Runs until SIGTERM, then shuts down cleanly.
 */
public final class Launcher {
    /** Bytes one transaction may use: GRAPHSCORE_NEO4J_TX_MAX_MB, default 192; 0 means no limit. */
    private static long transactionMax() {
        String mb = System.getenv().getOrDefault("GRAPHSCORE_NEO4J_TX_MAX_MB", "192");
        return Long.parseLong(mb) * 1024 * 1024;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Launcher HOME_DIR PLUGIN_DIR URI_FILE");
            System.exit(2);
        }
        String password = System.getenv("GRAPHSCORE_NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {  // Neo4j's default minimum length
            System.err.println("GRAPHSCORE_NEO4J_PASSWORD must be set, 8 characters or more");
            System.exit(2);
        }
        Path home = Path.of(args[0]);
        Path uriFile = Path.of(args[2]);
        long started = System.nanoTime();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", 0))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.plugin_dir, Path.of(args[1]).toAbsolutePath())
                // GDS reaches into the kernel: its procedures must run unrestricted
                .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("gds.*"))
                .setConfig(GraphDatabaseSettings.pagecache_memory, 256L * 1024 * 1024)
                // a bound on one transaction's memory, so a test can meet the limit with little data
                .setConfig(GraphDatabaseSettings.memory_transaction_max_size, transactionMax())
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
        GraphDatabaseAPI system = (GraphDatabaseAPI) dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        // The embedded API runs with full rights, so it can set the password that Bolt clients must give.
        system.executeTransactionally("ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("password", password));
        var port = system.getDependencyResolver().resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT);
        String uri = "bolt://127.0.0.1:" + port.getPort();
        Path tmp = uriFile.resolveSibling(uriFile.getFileName() + ".tmp");
        Files.writeString(tmp, uri + "\n");
        Files.move(tmp, uriFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);  // readers never see half a URI
        System.out.printf("neo4j listening at %s after %.1f s%n", uri, (System.nanoTime() - started) / 1e9);
        Thread.currentThread().join();  // until SIGTERM: the shutdown hook stops the DBMS
    }
}
