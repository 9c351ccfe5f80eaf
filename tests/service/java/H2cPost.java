// POSTs a file to a URL with Java's HttpClient, as CXF 4 does by default: its default version
// HTTP_2 offers "Upgrade: h2c" on http:// URLs. Run in source-launch mode:
//   java H2cPost.java URL CONTENT-TYPE BODY-FILE [COUNT]
// Prints, per request, one line "verdict status=N version=HTTP_x" and then the reply body.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

public class H2cPost {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20)).build();
        if (client.version() != HttpClient.Version.HTTP_2) {
            throw new IllegalStateException("HttpClient's default version is " + client.version());
        }
        int count = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        for (int i = 0; i < count; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(args[0]))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", args[1])
                .POST(HttpRequest.BodyPublishers.ofFile(Path.of(args[2])))
                .build();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println("verdict status=" + response.statusCode() + " version=" + response.version());
            System.out.println(response.body());
        }
    }
}
