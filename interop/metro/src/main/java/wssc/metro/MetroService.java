package wssc.metro;

import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import jakarta.xml.ws.Endpoint;
import jakarta.xml.ws.soap.SOAPBinding;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.xml.transform.Source;
import javax.xml.transform.stream.StreamSource;

/**
 * A Metro (WSIT) secure-conversation service of the demo contract, for wssc's client.
 *
 * <pre>
 * java -cp CLASSPATH wssc.metro.MetroService --bootstrap afc|unfc|mc|mc10|mc10-oneshot|unot|it|it-oneshot|it-cert|it-cert-oneshot|it-transport|it-transport-oneshot --binding wshttp|ws2007
 *      --port N --cert PEM --key PEM(PKCS8) [--users name:pw,…] [--no-derived-keys]
 *      [--trust-client-cert PEM]  (mc*: the client certificate Metro's trust store holds)
 *      [--trust-sts-cert PEM] [--issuer URL]  (it: the STS Metro trusts, and the sp:Issuer)
 *  it: IssuedToken (WCF's federation binding), a SAML token from an STS bootstraps the session;
 *  it-oneshot: the IssuedToken SymmetricBinding alone (EstablishSecurityContext=false).
 *  it-cert: IssuedTokenForCertificate (WCF's federation bindings' real shape): the service's
 *  X.509 protects, the SAML token endorses; it-cert-oneshot: the same binding without a session.
 *  it-transport / it-transport-oneshot: IssuedTokenOverTransport (HTTPS, the SAML token endorsing).
 *  mc10: MutualCertificate under WS-Security 1.0 (WCF's AsymmetricBinding, sp:Wss10) as the
 *  bootstrap of a session; mc10-oneshot: the same binding alone, without a session.
 *      [--no-require-cancellation] [--sc-lifetime-ms MS] [--suite Basic256 | --suites A,B,…]
 * </pre>
 *
 * The WSDL is written by hand in WCF's policy shapes (resources wssc/metro/*.policy,
 * service.wsdl) and given to the endpoint as its primary WSDL; its private assertions carry
 * Metro's key store ($WSIT_HOME/server.p12) and username validator. unot serves HTTPS with the
 * same key. Prints {@code LISTENING url}, then one line per call or authentication.
 */
public final class MetroService {
    private MetroService() {
    }

    private static String opt(String[] argv, String name, String dflt) {
        for (int i = 0; i < argv.length - 1; i++) {
            if (argv[i].equals(name)) {
                return argv[i + 1];
            }
        }
        return dflt;
    }

    private static boolean flag(String[] argv, String name) {
        return List.of(argv).contains(name);
    }

    static String resource(String name) throws Exception {
        try (InputStream in = MetroService.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static PrivateKey readKey(Path pem) throws Exception {
        String text = Files.readString(pem);
        String b64 = text.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
    }

    /** afc.policy with the bootstrap's X509Token replaced by WCF's federation IssuedToken. */
    static String issuedToken(String policy, boolean sp12, String issuer) {
        String token = issuedTokenAssertion(sp12, issuer);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?s)<sp:X509Token .*?</sp:X509Token>").matcher(policy);
        if (!m.find()) {
            throw new IllegalStateException("afc.policy has no X509Token");
        }
        return policy.substring(0, m.start()) + token + policy.substring(m.end());
    }

    /** WCF's federation sp:IssuedToken: SAML 2.0, a 256-bit symmetric proof key, sp:Issuer. */
    static String issuedTokenAssertion(boolean sp12, String issuer) {
        String trust = sp12 ? "http://docs.oasis-open.org/ws-sx/ws-trust/200512" : "http://schemas.xmlsoap.org/ws/2005/02/trust";
        return "<sp:IssuedToken sp:IncludeToken=\"@SP@/IncludeToken/AlwaysToRecipient\">"
                + (issuer == null ? "" : "<sp:Issuer><wsa10:Address>" + issuer + "</wsa10:Address></sp:Issuer>")
                + "<sp:RequestSecurityTokenTemplate xmlns:t=\"" + trust + "\">"
                + "<t:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0</t:TokenType>"
                + "<t:KeyType>" + trust + "/SymmetricKey</t:KeyType><t:KeySize>256</t:KeySize>"
                + "</sp:RequestSecurityTokenTemplate>"
                + "<wsp:Policy>@DK@<sp:RequireInternalReference/></wsp:Policy></sp:IssuedToken>";
    }

    /** The WSDL for one variant: WCF's policy shapes, SP 1.1 (wshttp) or SP 1.2 (ws2007). */
    static String wsdl(String bootstrap, boolean sp12, boolean derived, boolean cancel, String address,
                       X509Certificate cert, String lifetimeMs, String suite) throws Exception {
        return wsdl(bootstrap, sp12, derived, cancel, address, cert, lifetimeMs, suite, null);
    }

    static String wsdl(String bootstrap, boolean sp12, boolean derived, boolean cancel, String address,
                       X509Certificate cert, String lifetimeMs, String suite, String issuer) throws Exception {
        boolean unot = "unot".equals(bootstrap) || bootstrap.startsWith("it-transport");
        boolean username = "unot".equals(bootstrap) || "unfc".equals(bootstrap);
        String sp = sp12 ? "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
                : "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy";
        boolean itCert = bootstrap.startsWith("it-cert");
        String policy = resource(unot ? "unot.policy" : "it-cert-oneshot".equals(bootstrap) ? "it-oneshot.policy"
                : bootstrap.startsWith("mc10") || "it-oneshot".equals(bootstrap) ? bootstrap + ".policy" : "afc.policy")
                .replace("<sp:Basic256/>", "<sp:" + suite + "/>");
        // UserNameForCertificate: AnonymousForCertificate's bootstrap binding plus the
        // UsernameToken as a signed (SP 1.2: signed encrypted) supporting token of the
        // bootstrap policy, where WCF puts it.
        String usernameTokens = !"unfc".equals(bootstrap) ? ""
                : "<sp:@SIGNED_TOKENS@><wsp:Policy>"
                + "<sp:UsernameToken sp:IncludeToken=\"@SP@/IncludeToken/AlwaysToRecipient\">"
                + "<wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken>"
                + "</wsp:Policy></sp:@SIGNED_TOKENS@>";
        // MutualCertificate (WSS 1.1): the client's X.509 as an endorsing supporting token of
        // the bootstrap policy, and the reply's SignatureConfirmation, as WCF writes them.
        if ("mc".equals(bootstrap)) {
            usernameTokens = "<sp:EndorsingSupportingTokens><wsp:Policy>"
                    + "<sp:X509Token sp:IncludeToken=\"@SP@/IncludeToken/AlwaysToRecipient\">"
                    + "<wsp:Policy><sp:RequireThumbprintReference/><sp:WssX509V3Token10/></wsp:Policy>"
                    + "</sp:X509Token></wsp:Policy></sp:EndorsingSupportingTokens>";
            policy = policy.replace("<sp:MustSupportRefEncryptedKey/>\n                          </wsp:Policy>\n"
                    + "                        </sp:Wss11>",
                    "<sp:MustSupportRefEncryptedKey/>\n<sp:RequireSignatureConfirmation/>\n"
                    + "                          </wsp:Policy>\n                        </sp:Wss11>");
        }
        // IssuedTokenForCertificate (WCF's ws(2007)FederationHttpBinding, Message security): the
        // service's X.509 stays the protection token, the STS's SAML token endorses, and the
        // reply confirms both signatures, as WCF writes it. it-cert-oneshot: no session.
        if (itCert) {
            usernameTokens = "<sp:EndorsingSupportingTokens><wsp:Policy>"
                    + issuedTokenAssertion(sp12, issuer) + "</wsp:Policy></sp:EndorsingSupportingTokens>";
            String wss11 = "<sp:MustSupportRefEncryptedKey/>\n";
            int at = policy.indexOf(wss11);
            policy = policy.substring(0, at) + wss11 + "<sp:RequireSignatureConfirmation/>\n"
                    + policy.substring(at + wss11.length());
            if (!policy.contains("@BOOTSTRAP_TOKENS@")) {  // it-oneshot.policy: before its sp:Wss11
                int wss = policy.indexOf("<sp:Wss11>");
                policy = policy.substring(0, wss) + "@BOOTSTRAP_TOKENS@\n        " + policy.substring(wss);
            }
        }
        policy = policy.replace("@BOOTSTRAP_TOKENS@", usernameTokens);
        // IssuedToken (WCF's ws(2007)FederationHttpBinding): the bootstrap's protection token is
        // the STS's SAML token, its proof key the key; sp:Issuer names the STS.
        // IssuedTokenOverTransport (the federation bindings' TransportWithMessageCredential):
        // UserNameOverTransport's policy with the SAML token, without derived keys, endorsing
        // instead of the UsernameToken (it-transport: in the session's bootstrap policy;
        // it-transport-oneshot: in place of the SecureConversationToken).
        if (bootstrap.startsWith("it-transport")) {
            String token = "<sp:EndorsingSupportingTokens><wsp:Policy>"
                    + issuedTokenAssertion(sp12, issuer).replace("@DK@", "")
                    + "</wsp:Policy></sp:EndorsingSupportingTokens>";
            String pattern = bootstrap.endsWith("oneshot")
                    ? "(?s)<sp:EndorsingSupportingTokens>.*</sp:EndorsingSupportingTokens>"
                    : "(?s)<sp:@SIGNED_TOKENS@>.*?</sp:@SIGNED_TOKENS@>";
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(pattern).matcher(policy);
            if (!m.find()) {
                throw new IllegalStateException("unot.policy changed shape");
            }
            policy = policy.substring(0, m.start()) + token + policy.substring(m.end());
        } else if (bootstrap.startsWith("it") && !itCert) {
            policy = issuedToken(policy, sp12, issuer);
        }
        String cancelAssertion = cancel ? "" : sp12 ? "<sp:MustNotSendCancel/>"
                : "<mssp:MustNotSendCancel xmlns:mssp=\"http://schemas.microsoft.com/ws/2005/07/securitypolicy\"/>";
        String https = sp12 ? "<sp:HttpsToken><wsp:Policy/></sp:HttpsToken>"
                : "<sp:HttpsToken RequireClientCertificate=\"false\"/>";
        policy = policy.replace("@DK@", derived ? "<sp:RequireDerivedKeys/>" : "")
                .replace("@CANCEL@", cancelAssertion)
                .replace("@AMEND@", sp12 ? "<sp:MustNotSendAmend/>" : "")
                .replace("@TRUST@", sp12 ? "Trust13" : "Trust10")
                .replace("@SIGNED_TOKENS@", sp12 ? "SignedEncryptedSupportingTokens" : "SignedSupportingTokens")
                .replace("@HTTPS@", https);
        String config = "        <sc:KeyStore wspp:visibility=\"private\" location=\"$WSIT_HOME/server.p12\""
                + " type=\"PKCS12\" storepass=\"changeit\" alias=\"wssc\" keypass=\"changeit\"/>\n";
        if (bootstrap.startsWith("mc") || bootstrap.startsWith("it")) {
            config += "        <sc:TrustStore wspp:visibility=\"private\" location=\"$WSIT_HOME/trust.p12\""
                    + " type=\"PKCS12\" storepass=\"changeit\"/>\n";
        }
        if (lifetimeMs != null) {
            config += "        <scs:SCConfiguration wspp:visibility=\"private\""
                    + " xmlns:scs=\"http://schemas.sun.com/ws/2006/05/sc/server\">"
                    + "<scs:LifeTime>" + Long.parseLong(lifetimeMs) + "</scs:LifeTime></scs:SCConfiguration>\n";
        }
        if (username) {
            config += "        <sc:ValidatorConfiguration wspp:visibility=\"private\">"
                    + "<sc:Validator name=\"usernameValidator\" classname=\"wssc.metro.UserValidator\"/>"
                    + "</sc:ValidatorConfiguration>\n";
        }
        String in = unot ? "" : "<wsp:PolicyReference URI=\"#WSHttpBinding_ICalculator_Input_policy\"/>";
        String out = unot ? "" : "<wsp:PolicyReference URI=\"#WSHttpBinding_ICalculator_Output_policy\"/>";
        return resource("service.wsdl")
                .replace("@BINDING_POLICY@", policy)
                .replace("@SERVER_CONFIG@", config)
                .replace("@MESSAGE_POLICIES@", unot ? "" : resource("message.policy"))
                .replace("@IN_REF@", in)
                .replace("@OUT_REF@", out)
                .replace("@ADDRESS@", address)
                .replace("@CERT@", Base64.getEncoder().encodeToString(cert.getEncoded()))
                .replace("@SP@", sp);
    }

    public static void main(String[] argv) throws Exception {
        String bootstrap = opt(argv, "--bootstrap", "afc");
        boolean unot = "unot".equals(bootstrap) || bootstrap.startsWith("it-transport");
        boolean sp12 = "ws2007".equals(opt(argv, "--binding", "ws2007"));
        int port = Integer.parseInt(opt(argv, "--port", "8080"));
        X509Certificate cert = Certs.readPem(Path.of(opt(argv, "--cert", null)));
        PrivateKey key = readKey(Path.of(opt(argv, "--key", null)));
        System.setProperty("wssc.users", opt(argv, "--users", "alice:secret"));

        Path home = Files.createTempDirectory("wssc-metro-service-");
        System.setProperty("WSIT_HOME", home.toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("wssc", key, "changeit".toCharArray(), new Certificate[] {cert});
        Certs.save(ks, home.resolve("server.p12"));
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        String clientPem = opt(argv, "--trust-client-cert", null);
        if (clientPem != null) {
            trust.setCertificateEntry("client", Certs.readPem(Path.of(clientPem)));
        }
        // it: the STS whose signed SAML tokens Metro trusts (the signature's certificate is
        // validated against this store).
        String stsPem = opt(argv, "--trust-sts-cert", null);
        if (stsPem != null) {
            trust.setCertificateEntry("sts", Certs.readPem(Path.of(stsPem)));
        }
        Certs.save(trust, home.resolve("trust.p12"));

        String base = (unot ? "https" : "http") + "://127.0.0.1:" + port + "/svc";
        // --suites A,B,…: one endpoint per suite in this JVM, at /svc/<suite> (the matrix of
        // tests/interop/test_suites.py); otherwise one endpoint at /svc with --suite.
        String suites = opt(argv, "--suites", null);
        Map<String, Path> wsdls = new LinkedHashMap<>();
        if (suites != null) {
            // The endpoints share their service and port names, and so the names of Metro's
            // JMX beans (InstanceAlreadyExistsException): no monitoring beans here.
            System.setProperty("com.sun.xml.ws.monitoring.endpoint", "false");
        }
        for (String suite : suites == null ? new String[] {opt(argv, "--suite", "Basic256")} : suites.split(",")) {
            String path = suites == null ? "/svc" : "/svc/" + suite;
            String address = (unot ? "https" : "http") + "://127.0.0.1:" + port + path;
            String doc = wsdl(bootstrap, sp12, !flag(argv, "--no-derived-keys"),
                    !flag(argv, "--no-require-cancellation"), address, cert, opt(argv, "--sc-lifetime-ms", null), suite,
                    opt(argv, "--issuer", null));
            Path wsdlFile = home.resolve("Service" + (suites == null ? "" : "-" + suite) + ".wsdl");
            Files.writeString(wsdlFile, doc);
            wsdls.put(path, wsdlFile);
        }

        HttpServer server;
        if (unot) {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "changeit".toCharArray());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(kmf.getKeyManagers(), null, null);
            HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        } else {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        }
        for (Map.Entry<String, Path> e : wsdls.entrySet()) {
            Endpoint endpoint = Endpoint.create(SOAPBinding.SOAP12HTTP_BINDING, new CalculatorService());
            StreamSource primary = new StreamSource(e.getValue().toFile());
            primary.setSystemId(e.getValue().toUri().toString());
            endpoint.setMetadata(List.<Source>of(primary));
            HttpContext context = server.createContext(e.getKey());
            endpoint.publish(context);
        }
        server.start();
        System.out.println("LISTENING " + base);
        System.out.flush();
    }
}
