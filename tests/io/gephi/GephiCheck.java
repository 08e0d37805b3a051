import java.io.File;
import java.util.Map;
import java.util.TreeMap;
import org.gephi.graph.api.Column;
import org.gephi.graph.api.DirectedGraph;
import org.gephi.graph.api.Edge;
import org.gephi.graph.api.GraphController;
import org.gephi.graph.api.GraphModel;
import org.gephi.io.importer.api.Container;
import org.gephi.io.importer.api.EdgeMergeStrategy;
import org.gephi.io.importer.api.ImportController;
import org.gephi.io.processor.plugin.DefaultProcessor;
import org.gephi.project.api.ProjectController;
import org.gephi.project.api.Workspace;
import org.openide.util.Lookup;

/** Import a GraphML file with Gephi's importer, as the Gephi application does, and print what
 *  Gephi holds: issues of the import, node and edge counts, each column's title and type, and the
 *  edges per edge type. Arguments: FILE [MERGE], MERGE one of Gephi's edge merge strategies
 *  (default: Gephi's own default; NO_MERGE is "Don't merge" in the import dialog). */
public class GephiCheck {
    public static void main(String[] args) throws Exception {
        ProjectController projects = Lookup.getDefault().lookup(ProjectController.class);
        projects.newProject();
        Workspace workspace = projects.getCurrentWorkspace();
        ImportController importer = Lookup.getDefault().lookup(ImportController.class);
        Container container = importer.importFile(new File(args[0]));
        if (args.length > 1) {
            container.getLoader().setEdgesMergeStrategy(EdgeMergeStrategy.valueOf(args[1]));
        }
        container.getReport().getIssues(100).forEachRemaining(
                issue -> System.out.println("issue " + issue.getLevel() + ": " + issue.getMessage()));
        importer.process(container, new DefaultProcessor(), workspace);
        GraphModel model = Lookup.getDefault().lookup(GraphController.class).getGraphModel(workspace);
        DirectedGraph graph = model.getDirectedGraph();
        System.out.println("nodes " + graph.getNodeCount() + ", edges " + graph.getEdgeCount());
        for (Column column : model.getNodeTable()) {
            System.out.println("node column " + column.getTitle() + ": " + column.getTypeClass().getSimpleName());
        }
        for (Column column : model.getEdgeTable()) {
            System.out.println("edge column " + column.getTitle() + ": " + column.getTypeClass().getSimpleName());
        }
        Map<String, Integer> types = new TreeMap<>();
        for (Edge edge : graph.getEdges()) {
            types.merge(String.valueOf(edge.getTypeLabel()), 1, Integer::sum);
        }
        System.out.println("edges by type " + types);
    }
}
