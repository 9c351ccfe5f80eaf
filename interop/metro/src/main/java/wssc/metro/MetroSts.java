package wssc.metro;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import jakarta.xml.ws.Endpoint;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.xml.transform.Source;
import javax.xml.transform.stream.StreamSource;

/**
 * Metro's STS (WSIT {@code com.sun.xml.ws.security.trust}) on the JDK HTTPS server, for wssc's
 * client: an ADFS stand-in.
 *
 * <pre>
 * java -cp CLASSPATH wssc.metro.MetroSts --port N --cert PEM --key PEM(PKCS8)
 *      --relying-party URL=PEM[,URL=PEM…] [--users name:pw,…] [--binding ws2007|wshttp]
 *      [--token-type URI] [--lifetime-ms MS] [--issuer NAME] [--no-line-breaks]
 *      [--bootstrap unot|unfc]  (unfc: UserNameForCertificate over HTTP, Metro's basic sample)
 * </pre>
 *
 * The key pair serves TLS (unot) or decrypts the RST (unfc), and signs the assertions. Each relying party's certificate goes to
 * the STS's trust store; its proof keys are encrypted to it. Prints {@code LISTENING url}, then
 * {@code AUTH name ok|refused} per sign-in.
 */
public final class MetroSts {
    static final String SAML20 = "urn:oasis:names:tc:SAML:2.0:assertion";

    private MetroSts() {
    }

    private static String opt(String[] argv, String name, String dflt) {
        for (int i = 0; i < argv.length - 1; i++) {
            if (argv[i].equals(name)) {
                return argv[i + 1];
            }
        }
        return dflt;
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace("\"", "&quot;");
    }

    public static void main(String[] argv) throws Exception {
        if (List.of(argv).contains("--no-line-breaks")) {
            // Santuario's switch: base64 in the assertion (certificates, CipherValue) without
            // its CRLF every 76 characters. Metro's own streaming verifier drops the CRs
            // (FINDINGS.md M15), so a Metro relying party needs this; wssc does not.
            System.setProperty("org.apache.xml.security.ignoreLineBreaks", "true");
        }
        boolean sp12 = "ws2007".equals(opt(argv, "--binding", "ws2007"));
        int port = Integer.parseInt(opt(argv, "--port", "8443"));
        X509Certificate cert = Certs.readPem(Path.of(opt(argv, "--cert", null)));
        PrivateKey key = MetroService.readKey(Path.of(opt(argv, "--key", null)));
        System.setProperty("wssc.users", opt(argv, "--users", "alice:secret"));
        String tokenType = opt(argv, "--token-type", SAML20);

        Path home = Files.createTempDirectory("wssc-metro-sts-");
        System.setProperty("WSIT_HOME", home.toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("sts", key, "changeit".toCharArray(), new Certificate[] {cert});
        Certs.save(ks, home.resolve("sts.p12"));

        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        StringBuilder providers = new StringBuilder();
        int n = 0;
        for (String rp : opt(argv, "--relying-party", "").split(",")) {
            if (rp.isBlank()) {
                continue;
            }
            int eq = rp.lastIndexOf('=');
            String alias = "rp" + n++;
            trust.setCertificateEntry(alias, Certs.readPem(Path.of(rp.substring(eq + 1))));
            providers.append("            <tc:ServiceProvider endPoint=\"").append(xml(rp.substring(0, eq)))
                    .append("\"><tc:CertAlias>").append(alias).append("</tc:CertAlias><tc:TokenType>")
                    .append(xml(tokenType)).append("</tc:TokenType></tc:ServiceProvider>\n");
        }
        Certs.save(trust, home.resolve("trust.p12"));

        // unot (default): UserNameOverTransport over HTTPS; unfc: UserNameForCertificate over
        // HTTP, the RST signed and encrypted with a key sent to the STS's certificate.
        boolean unfc = "unfc".equals(opt(argv, "--bootstrap", "unot"));
        String address = (unfc ? "http" : "https") + "://127.0.0.1:" + port + "/sts";
        String trustNs = sp12 ? "http://docs.oasis-open.org/ws-sx/ws-trust/200512" : "http://schemas.xmlsoap.org/ws/2005/02/trust";
        String doc = MetroService.resource("sts.wsdl")
                .replace("@STS_BINDING@", MetroService.resource(unfc ? "sts-unfc.policy" : "sts-unot.policy"))
                .replace("@MESSAGE_POLICIES@", unfc ? MetroService.resource("message.policy") : "")
                .replace("@IN_REF@", unfc ? "<wsp:PolicyReference URI=\"#WSHttpBinding_ICalculator_Input_policy\"/>" : "")
                .replace("@OUT_REF@", unfc ? "<wsp:PolicyReference URI=\"#WSHttpBinding_ICalculator_Output_policy\"/>" : "")
                .replace("@SIGNED_TOKENS@", sp12 ? "SignedEncryptedSupportingTokens" : "SignedSupportingTokens")
                .replace("@SP@", sp12 ? "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
                        : "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy")
                .replace("@HTTPS@", sp12 ? "<sp:HttpsToken><wsp:Policy/></sp:HttpsToken>"
                        : "<sp:HttpsToken RequireClientCertificate=\"false\"/>")
                .replace("@TRUST@", sp12 ? "Trust13" : "Trust10")
                .replace("@TRUST_NS@", trustNs)
                .replace("@RSTR_ACTION@", sp12 ? trustNs + "/RSTRC/IssueFinal" : trustNs + "/RSTR/Issue")
                .replace("@LIFETIME@", Long.toString(Long.parseLong(opt(argv, "--lifetime-ms", "3600000"))))
                .replace("@ISSUER@", xml(opt(argv, "--issuer", "MetroSTS")))
                .replace("@SERVICE_PROVIDERS@", providers.toString())
                .replace("@ADDRESS@", address);
        Path wsdlFile = home.resolve("sts.wsdl");
        Files.writeString(wsdlFile, doc);

        HttpServer server;
        if (unfc) {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        } else {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "changeit".toCharArray());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(kmf.getKeyManagers(), null, null);
            HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        }

        Endpoint endpoint = Endpoint.create(new StsProvider());
        StreamSource primary = new StreamSource(wsdlFile.toFile());
        primary.setSystemId(wsdlFile.toUri().toString());
        endpoint.setMetadata(List.<Source>of(primary));
        endpoint.publish(server.createContext("/sts"));
        server.start();
        System.out.println("LISTENING " + address);
        System.out.flush();
    }
}
