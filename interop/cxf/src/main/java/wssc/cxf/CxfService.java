package wssc.cxf;

import jakarta.xml.ws.Provider;
import jakarta.xml.ws.Service;
import jakarta.xml.ws.ServiceMode;
import jakarta.xml.ws.WebServiceProvider;
import jakarta.xml.ws.soap.SOAPBinding;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.KeyManagerFactory;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.xml.namespace.QName;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.Source;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMResult;
import javax.xml.transform.stream.StreamSource;
import org.apache.cxf.Bus;
import org.apache.cxf.BusFactory;
import org.apache.cxf.configuration.jsse.TLSServerParameters;
import org.apache.cxf.interceptor.Fault;
import org.apache.cxf.jaxws.EndpointImpl;
import org.apache.cxf.message.Message;
import org.apache.cxf.phase.AbstractPhaseInterceptor;
import org.apache.cxf.phase.Phase;
import org.apache.cxf.rt.security.SecurityConstants;
import org.apache.cxf.transport.http_jetty.JettyHTTPServerEngineFactory;
import org.apache.cxf.ws.addressing.AddressingProperties;
import org.apache.wss4j.common.crypto.Merlin;
import org.apache.wss4j.common.ext.WSPasswordCallback;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * An Apache CXF secure-conversation service of the demo contract (ICalculator: Add, Echo), for
 * wssc's client. Its WSDL carries a WS-SecurityPolicy in CXF's own shapes (resources
 * wssc/cxf/*.policy, service.wsdl); CXF reads it and runs the STS side of WS-SC itself (issue,
 * renew, cancel of its SCTs). CXF's defaults are kept (WS-I BSP compliance on).
 *
 * <pre>
 * java -cp CLASSPATH wssc.cxf.CxfService --binding wshttp|ws2007 --port N --cert PEM
 *      --key PEM(PKCS8) [--bootstrap afc|unot|unfc|mc|mc10|cot] [--trust-client-cert PEM,…]
 *      [--no-derived-keys] [--no-require-cancellation] [--no-secure-context]
 *      [--suite Basic256 | --suites A,B,…] [--soap 1.1|1.2] [--sc-lifetime-ms MS] [--users name:pw,…] [--body-only]
 * </pre>
 *
 * wshttp is SP 2005/07 with SC 2005/02 and Trust 2005/02; ws2007 is SP 1.2 with SC 1.3 and
 * Trust 1.3. The bootstrap: afc AnonymousForCertificate, unfc UserNameForCertificate, mc
 * MutualCertificate (WS-Security 1.1 shape: the client's X.509 endorses), each under the
 * symmetric binding; mc10 MutualCertificate's WS-Security 1.0 shape (an AsymmetricBinding with
 * X.509 initiator and recipient tokens under sp:Wss10, in the SCT's bootstrap or, with
 * --no-secure-context, on every message); unot UserNameOverTransport and cot CertificateOverTransport over HTTPS
 * with the same key. --trust-client-cert: the client certificates mc, mc10 and cot trust.
 * --no-secure-context: no SCT, the bootstrap's symmetric binding on every message (afc, unfc,
 * mc). Prints {@code LISTENING url}, then one
 * {@code EVENT} line per thing CXF did (issue, renew, cancel, call, auth, fault). A line
 * {@code REPORT} on stdin makes it print its verdict since the last report: one line
 * {@code RESULT {json}} (what CXF issued, renewed, cancelled, the calls it ran, the faults it
 * sent); at end of stdin it prints the verdict for its whole run and exits 0, or 2 when its
 * own code failed (an error that is no SOAP fault to a client).
 */
public final class CxfService {
    static final String TNS = "http://tempuri.org/";

    private CxfService() {
    }

    /** What CXF did, counted since the last report and over the whole run. */
    static final class Tally {
        final Map<String, Integer> counts = new LinkedHashMap<>();
        final List<Object> calls = new ArrayList<>();
        final List<Object> faults = new ArrayList<>();
        final List<Object> auth = new ArrayList<>();
        final List<Object> errors = new ArrayList<>();

        Tally() {
            for (String k : List.of("issued", "renewed", "cancelled")) {
                counts.put(k, 0);
            }
        }

        Result result() {
            Result r = new Result();
            r.put("ok", errors.isEmpty());
            counts.forEach(r::put);
            r.put("calls", calls);
            r.put("auth", auth);
            r.put("faults", faults);
            r.put("errors", errors);
            return r;
        }
    }

    static Tally since = new Tally();
    static final Tally TOTAL = new Tally();

    static synchronized void event(String kind, Object detail) {
        System.out.println("EVENT " + kind + (detail == null ? "" : " " + detail));
        System.out.flush();
        for (Tally t : new Tally[] {since, TOTAL}) {
            switch (kind) {
                case "issued", "renewed", "cancelled" -> t.counts.merge(kind, 1, Integer::sum);
                case "call" -> t.calls.add(detail);
                case "auth" -> t.auth.add(detail);
                case "fault" -> t.faults.add(detail);
                default -> t.errors.add(kind + " " + detail);
            }
        }
    }

    static synchronized void report() {
        since.result().print();
        since = new Tally();
    }

    /** The demo contract, on the payload: Add(a, b) and Echo(text). */
    @WebServiceProvider(serviceName = "Service", portName = "CalculatorPort", targetNamespace = TNS)
    @ServiceMode(Service.Mode.PAYLOAD)
    public static final class Calculator implements Provider<Source> {
        @Override
        public Source invoke(Source request) {
            try {
                DOMResult dom = new DOMResult();
                TransformerFactory.newInstance().newTransformer().transform(request, dom);
                Node root = Node.of(dom);
                String reply;
                if ("Add".equals(root.name())) {
                    int a = Integer.parseInt(root.child("a"));
                    int b = Integer.parseInt(root.child("b"));
                    event("call", "Add " + a + " " + b);
                    reply = "<AddResponse xmlns=\"" + TNS + "\"><AddResult>" + (a + b) + "</AddResult></AddResponse>";
                } else if ("Echo".equals(root.name())) {
                    String text = root.child("text");
                    event("call", "Echo");
                    reply = "<EchoResponse xmlns=\"" + TNS + "\"><EchoResult>" + escape(text == null ? "" : text)
                            + "</EchoResult></EchoResponse>";
                } else {
                    event("error", "unknown operation " + root.name());
                    throw new IllegalArgumentException("unknown operation " + root.name());
                }
                return new StreamSource(new StringReader(reply));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                event("error", e.toString());
                throw new IllegalStateException(e);
            }
        }
    }

    /** The payload's root element, and its children's text by local name. */
    record Node(Element element) {
        static Node of(DOMResult dom) {
            org.w3c.dom.Node n = dom.getNode();
            Element e = n instanceof Document d ? d.getDocumentElement() : (Element) n;
            return new Node(e);
        }

        String name() {
            return element.getLocalName();
        }

        String child(String local) {
            for (org.w3c.dom.Node c = element.getFirstChild(); c != null; c = c.getNextSibling()) {
                if (c instanceof Element e && local.equals(e.getLocalName())) {
                    return e.getTextContent();
                }
            }
            return null;
        }
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /**
     * Records what CXF answered, by the action of the request: the SCT's issue, renew and
     * cancel (CXF's STS side of WS-SC), and the faults it sent.
     */
    static final class Recorder extends AbstractPhaseInterceptor<Message> {
        private final boolean faultChain;

        Recorder(boolean faultChain) {
            super(Phase.PRE_STREAM);
            this.faultChain = faultChain;
        }

        @Override
        public void handleMessage(Message message) throws Fault {
            if (faultChain) {
                Exception e = message.getContent(Exception.class);
                Throwable root = e;
                while (root != null && root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                event("fault", (e == null ? "?" : e.getMessage()) + (root != e && root != null ? " <- " + root : ""));
                return;
            }
            Message in = message.getExchange() == null ? null : message.getExchange().getInMessage();
            Object maps = in == null ? null : in.get("jakarta.xml.ws.addressing.context.inbound");
            String action = maps instanceof AddressingProperties ap && ap.getAction() != null
                    ? ap.getAction().getValue() : "";
            if (System.getProperty("wssc.debug") != null) {
                System.out.println("DEBUG out " + action + " maps=" + maps + " in=" + (in == null ? null : in.keySet()));
            }
            if (action.endsWith("/RST/SCT")) {
                event("issued", null);
            } else if (action.endsWith("/RST/SCT/Renew")) {
                event("renewed", null);
            } else if (action.endsWith("/RST/SCT/Cancel")) {
                event("cancelled", null);
            }
        }
    }

    static String opt(String[] argv, String name, String dflt) {
        for (int i = 0; i < argv.length - 1; i++) {
            if (argv[i].equals(name)) {
                return argv[i + 1];
            }
        }
        return dflt;
    }

    static boolean flag(String[] argv, String name) {
        return List.of(argv).contains(name);
    }

    static String resource(String name) throws Exception {
        try (InputStream in = CxfService.class.getResourceAsStream(name)) {
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

    /** The WSDL of one variant, in CXF's policy shapes. */
    static String wsdl(String bootstrap, boolean sp12, boolean derived, boolean cancel, String suite, boolean soap12,
                       boolean signHeaders, String address, boolean oneShot) throws Exception {
        boolean unot = isTransport(bootstrap);
        String sp = sp12 ? "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
                : "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy";
        String cancelAssertion = cancel ? "" : sp12 ? "<sp:MustNotSendCancel/>"
                : "<mssp:MustNotSendCancel xmlns:mssp=\"http://schemas.microsoft.com/ws/2005/07/securitypolicy\"/>";
        String supporting = switch (bootstrap) {
            case "unot", "unfc" -> resource("username.supporting");
            case "mc", "cot" -> resource("certificate.supporting");
            default -> "";
        };
        String shape = unot ? "transport" : "symmetric";
        if ("mc10".equals(bootstrap)) {
            shape = "mc10";
        }
        String policy = resource(oneShot ? (unot ? "transport" : shape.equals("mc10") ? "mc10-oneshot" : "oneshot") + ".policy"
                : shape + ".policy")
                .replace("@BOOT_SUPPORTING@", supporting)
                .replace("@DK@", derived ? "<sp:RequireDerivedKeys/>" : "")
                .replace("@CANCEL@", cancelAssertion)
                .replace("@TRUST@", sp12 ? "Trust13" : "Trust10")
                .replace("@SUITE@", suite);
        // CXF's systests sign the Body alone (the WS-Addressing headers are commented out
        // there); wssc then refuses the reply's unsigned RelatesTo. --body-only keeps that shape.
        StringBuilder headers = new StringBuilder();
        if (signHeaders) {
            for (String h : List.of("To", "From", "FaultTo", "ReplyTo", "MessageID", "RelatesTo", "Action")) {
                headers.append("<sp:Header Name=\"").append(h).append("\" Namespace=\"http://www.w3.org/2005/08/addressing\"/>");
            }
        }
        String in = unot ? "" : "<wsp:PolicyReference URI=\"#CalculatorInputPolicy\"/>";
        String out = unot ? "" : "<wsp:PolicyReference URI=\"#CalculatorOutputPolicy\"/>";
        return resource("service.wsdl")
                .replace("@BINDING_POLICY@", policy)
                .replace("@MESSAGE_POLICIES@", unot ? "" : resource("message.policy"))
                .replace("@IN_REF@", in)
                .replace("@OUT_REF@", out)
                .replace("@ADDRESS@", address)
                .replace("@SIGNED_HEADERS@", headers.toString())
                .replace("@SOAPNS@", soap12 ? "http://schemas.xmlsoap.org/wsdl/soap12/"
                        : "http://schemas.xmlsoap.org/wsdl/soap/")
                .replace("@SP@", sp);
    }

    /** The bootstraps over HTTPS (a TransportBinding): unot, cot. */
    static boolean isTransport(String bootstrap) {
        return "unot".equals(bootstrap) || "cot".equals(bootstrap);
    }

    public static void main(String[] argv) throws Exception {
        String bootstrap = opt(argv, "--bootstrap", "afc");
        if (!List.of("afc", "unot", "unfc", "mc", "mc10", "cot").contains(bootstrap)) {
            throw new IllegalArgumentException("--bootstrap afc|unot|unfc|mc|mc10|cot");
        }
        boolean unot = isTransport(bootstrap);
        boolean sp12 = "ws2007".equals(opt(argv, "--binding", "ws2007"));
        boolean soap12 = !"1.1".equals(opt(argv, "--soap", "1.2"));
        int port = Integer.parseInt(opt(argv, "--port", "8080"));
        X509Certificate cert = Certs.readPem(Path.of(opt(argv, "--cert", null)));
        PrivateKey key = readKey(Path.of(opt(argv, "--key", null)));
        Map<String, String> users = new HashMap<>();
        for (String pair : opt(argv, "--users", "alice:secret").split(",")) {
            int colon = pair.indexOf(':');
            users.put(pair.substring(0, colon), pair.substring(colon + 1));
        }

        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("wssc", key, "changeit".toCharArray(), new Certificate[] {cert});
        Merlin crypto = new Merlin(new Properties(), CxfService.class.getClassLoader(), null);
        crypto.setKeyStore(ks);
        crypto.setTrustStore(ks);
        // mc, cot: the client certificates WSS4J trusts (direct trust: the store holds them)
        String trusted = opt(argv, "--trust-client-cert", null);
        if (trusted != null) {
            int n = 0;
            for (String pem : trusted.split(",")) {
                ks.setCertificateEntry("client" + n++, Certs.readPem(Path.of(pem)));
            }
        }

        String base = (unot ? "https" : "http") + "://127.0.0.1:" + port + "/svc";
        // --suites A,B,…: one endpoint per suite in this JVM, at /svc/<suite> (the matrix of
        // tests/interop/test_suites.py); otherwise one endpoint at /svc with --suite.
        String suites = opt(argv, "--suites", null);
        Map<String, Path> wsdls = new LinkedHashMap<>();
        for (String suite : suites == null ? new String[] {opt(argv, "--suite", "Basic256")} : suites.split(",")) {
            String address = suites == null ? base : base + "/" + suite;
            String doc = wsdl(bootstrap, sp12, !flag(argv, "--no-derived-keys"), !flag(argv, "--no-require-cancellation"),
                    suite, soap12, !flag(argv, "--body-only"), address, flag(argv, "--no-secure-context"));
            Path wsdlFile = Files.createTempFile("wssc-cxf-service-", ".wsdl");
            wsdlFile.toFile().deleteOnExit();
            Files.writeString(wsdlFile, doc);
            wsdls.put(address, wsdlFile);
        }

        Bus bus = BusFactory.getDefaultBus();
        if (unot) {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "changeit".toCharArray());
            TLSServerParameters tls = new TLSServerParameters();
            tls.setKeyManagers(kmf.getKeyManagers());
            bus.getExtension(JettyHTTPServerEngineFactory.class).setTLSServerParametersForPort("127.0.0.1", port, tls);
        }

        CallbackHandler passwords = (Callback[] callbacks) -> {
            for (Callback c : callbacks) {
                if (c instanceof WSPasswordCallback pc) {
                    if (pc.getUsage() == WSPasswordCallback.USERNAME_TOKEN) {
                        String pw = users.get(pc.getIdentifier());
                        event("auth", pc.getIdentifier() + (pw == null ? " unknown" : ""));
                        if (pw != null) {
                            pc.setPassword(pw);
                        }
                    } else {
                        pc.setPassword("changeit");
                    }
                }
            }
        };

        Map<String, Object> props = new HashMap<>();
        props.put(SecurityConstants.SIGNATURE_CRYPTO, crypto);
        props.put(SecurityConstants.ENCRYPT_CRYPTO, crypto);
        props.put(SecurityConstants.SIGNATURE_USERNAME, "wssc");
        props.put(SecurityConstants.CALLBACK_HANDLER, passwords);
        if ("mc10".equals(bootstrap)) {
            // AsymmetricBinding: CXF's documented setting for a service that encrypts its reply
            // to the certificate that signed the request.
            props.put(SecurityConstants.ENCRYPT_USERNAME, "useReqSigCert");
        }
        String lifetime = opt(argv, "--sc-lifetime-ms", null);
        if (lifetime != null) {
            // CXF's lifetime of the SCTs its service issues (ms; its default is 300000).
            props.put(org.apache.cxf.ws.security.SecurityConstants.SECURITY_TOKEN_LIFETIME, String.valueOf(Long.parseLong(lifetime)));
        }
        // On the bus: CXF answers RST/SCT, Renew and Cancel from an STS endpoint of its own.
        bus.getOutInterceptors().add(new Recorder(false));
        if (System.getProperty("wssc.debug") != null) {
            bus.getInInterceptors().add(new AbstractPhaseInterceptor<Message>(Phase.PRE_PROTOCOL) {
                @Override
                public void handleMessage(Message m) {
                    Object aim = m.get(org.apache.cxf.ws.policy.AssertionInfoMap.class);
                    System.out.println("DEBUG in tls=" + m.get(org.apache.cxf.security.transport.TLSSessionInfo.class)
                            + " https-assertions=" + (aim == null ? null
                            : org.apache.cxf.ws.security.policy.PolicyUtils.getAllAssertionsByLocalname(
                                    (org.apache.cxf.ws.policy.AssertionInfoMap) aim, "HttpsToken").size()));
                }
            });
        }
        bus.getOutFaultInterceptors().add(new Recorder(true));
        for (Map.Entry<String, Path> e : wsdls.entrySet()) {
            EndpointImpl ep = new EndpointImpl(bus, new Calculator(),
                    soap12 ? SOAPBinding.SOAP12HTTP_BINDING : SOAPBinding.SOAP11HTTP_BINDING);
            ep.setWsdlLocation(e.getValue().toUri().toString());
            ep.setServiceName(new QName(TNS, "Service"));
            ep.setEndpointName(new QName(TNS, "CalculatorPort"));
            ep.setProperties(new HashMap<>(props));
            ep.publish(e.getKey());
        }
        System.out.println("LISTENING " + base);
        System.out.flush();

        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = stdin.readLine(); line != null; line = stdin.readLine()) {
            if ("REPORT".equals(line.trim())) {
                report();
            }
        }
        Result total;
        synchronized (CxfService.class) {
            total = TOTAL.result();
        }
        total.put("final", true);
        total.print();
        boolean ok = Boolean.TRUE.equals(TOTAL.result().fields().get("ok"));
        System.exit(ok ? Result.OK : Result.ERROR);
    }
}
