package wssc.cxf;

import jakarta.annotation.Resource;
import jakarta.xml.ws.Provider;
import jakarta.xml.ws.Service;
import jakarta.xml.ws.ServiceMode;
import jakarta.xml.ws.WebServiceContext;
import jakarta.xml.ws.WebServiceProvider;
import jakarta.xml.ws.soap.SOAPBinding;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.xml.namespace.QName;
import javax.xml.transform.Source;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMResult;
import javax.xml.transform.stream.StreamSource;
import org.apache.cxf.Bus;
import org.apache.cxf.BusFactory;
import org.apache.cxf.jaxws.EndpointImpl;
import org.apache.cxf.message.Message;
import org.apache.cxf.phase.AbstractPhaseInterceptor;
import org.apache.cxf.phase.Phase;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * An Apache CXF SPNEGO service of the demo contract's Add, in the shape CXF serves without
 * help: its own system tests' policy (resource {@code spnego-service.wsdl}), where the
 * {@code sp:SpnegoContextToken} is the SymmetricBinding's protection token and the negotiated
 * token protects the application messages directly. CXF's {@code SpnegoContextTokenInInterceptor}
 * answers the negotiation (RST/Issue with a BinaryExchange) over Java's own Kerberos: JAAS
 * {@code Krb5LoginModule} with the service's keytab, the JDK's GSS-API acceptor.
 *
 * <pre>
 * java -cp CLASSPATH wssc.cxf.CxfSpnegoService --port N --krb5-conf PATH --keytab PATH
 *      --principal HTTP/host@REALM --spn HTTP@host [--suite Basic256] [--derived-keys]
 *      [--binding ws2007|wshttp]
 * </pre>
 *
 * Prints {@code LISTENING url}, then {@code EVENT call a b principal} per Add it ran and
 * {@code EVENT fault …} per fault it sent. At end of stdin it prints its verdict
 * {@code RESULT {json}} ({@code calls}: each Add with the caller's principal as CXF saw it,
 * {@code faults}, {@code errors}, {@code final}) and exits 0, or 2 when its own code failed.
 */
public final class CxfSpnegoService {
    static final String TNS = "http://tempuri.org/";
    static final String JAAS_NAME = "wssc-spnego-service";
    static final List<Object> CALLS = new ArrayList<>();
    static final List<Object> FAULTS = new ArrayList<>();
    static final List<Object> ERRORS = new ArrayList<>();

    private CxfSpnegoService() {
    }

    static synchronized void event(List<Object> into, String kind, Object detail) {
        System.out.println("EVENT " + kind + " " + detail);
        System.out.flush();
        into.add(detail);
    }

    /** Add(a, b), and who called (the principal CXF's security context names, if any). */
    @WebServiceProvider(serviceName = "Service", portName = "CalculatorPort", targetNamespace = TNS)
    @ServiceMode(Service.Mode.PAYLOAD)
    public static final class Calculator implements Provider<Source> {
        @Resource
        WebServiceContext context;

        @Override
        public Source invoke(Source request) {
            try {
                DOMResult dom = new DOMResult();
                TransformerFactory.newInstance().newTransformer().transform(request, dom);
                org.w3c.dom.Node n = dom.getNode();
                Element root = n instanceof Document d ? d.getDocumentElement() : (Element) n;
                if (!"Add".equals(root.getLocalName())) {
                    throw new IllegalArgumentException("unknown operation " + root.getLocalName());
                }
                int a = Integer.parseInt(child(root, "a"));
                int b = Integer.parseInt(child(root, "b"));
                Principal who = context == null ? null : context.getUserPrincipal();
                Map<String, Object> call = new HashMap<>();
                call.put("a", a);
                call.put("b", b);
                call.put("principal", who == null ? null : who.getName());
                event(CALLS, "call", Result.json(call));
                CALLS.set(CALLS.size() - 1, call);
                return new StreamSource(new StringReader(
                        "<AddResponse xmlns=\"" + TNS + "\"><AddResult>" + (a + b) + "</AddResult></AddResponse>"));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                event(ERRORS, "error", e.toString());
                throw new IllegalStateException(e);
            }
        }

        static String child(Element e, String local) {
            for (org.w3c.dom.Node c = e.getFirstChild(); c != null; c = c.getNextSibling()) {
                if (c instanceof Element ce && local.equals(ce.getLocalName())) {
                    return ce.getTextContent();
                }
            }
            throw new IllegalArgumentException("no " + local);
        }
    }

    /** Records each fault CXF sends (its message), for the verdict. */
    static final class Faults extends AbstractPhaseInterceptor<Message> {
        Faults() {
            super(Phase.PREPARE_SEND);
        }

        @Override
        public void handleMessage(Message message) {
            Exception e = message.getContent(Exception.class);
            event(FAULTS, "fault", e == null ? "fault" : Result.describe(e));
        }
    }

    static String resource(String name) throws Exception {
        try (InputStream in = CxfSpnegoService.class.getResourceAsStream("/wssc/cxf/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The acceptor's JAAS login (by name): Krb5LoginModule with the service's keytab. */
    static void installJaas(String principal, String keytab) {
        Map<String, String> options = new HashMap<>();
        options.put("principal", principal);
        options.put("useKeyTab", "true");
        options.put("keyTab", keytab);
        options.put("storeKey", "true");
        options.put("doNotPrompt", "true");
        options.put("isInitiator", "false");
        options.put("refreshKrb5Config", "true");
        AppConfigurationEntry entry = new AppConfigurationEntry(
                "com.sun.security.auth.module.Krb5LoginModule",
                AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, options);
        Configuration.setConfiguration(new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return JAAS_NAME.equals(name) ? new AppConfigurationEntry[] {entry} : null;
            }
        });
    }

    public static void main(String[] argv) throws Exception {
        int port = Integer.parseInt(CxfClient.opt(argv, "--port", "8080"));
        String krb5 = CxfClient.opt(argv, "--krb5-conf", null);
        String keytab = CxfClient.opt(argv, "--keytab", null);
        String principal = CxfClient.opt(argv, "--principal", null);
        String spn = CxfClient.opt(argv, "--spn", null);
        if (krb5 == null || keytab == null || principal == null || spn == null) {
            throw new IllegalArgumentException("--krb5-conf, --keytab, --principal and --spn are required");
        }
        boolean sp12 = "ws2007".equals(CxfClient.opt(argv, "--binding", "ws2007"));
        System.setProperty("java.security.krb5.conf", krb5);
        System.setProperty("javax.security.auth.useSubjectCredsOnly", "true");
        installJaas(principal, keytab);

        String address = "http://127.0.0.1:" + port + "/svc";
        String sp = sp12 ? "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
                : "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy";
        String doc = resource("spnego-service.wsdl")
                .replace("@SP@", sp)
                .replace("@DK@", CxfClient.flag(argv, "--derived-keys") ? "<sp:RequireDerivedKeys/>" : "")
                .replace("@SUITE@", CxfClient.opt(argv, "--suite", "Basic256"))
                .replace("@TRUST@", sp12 ? "Trust13" : "Trust10")
                .replace("@ADDRESS@", address);
        Path wsdl = Files.createTempFile("wssc-cxf-spnego-", ".wsdl");
        wsdl.toFile().deleteOnExit();
        Files.writeString(wsdl, doc);

        Bus bus = BusFactory.getDefaultBus();
        bus.getOutFaultInterceptors().add(new Faults());
        Map<String, Object> props = new HashMap<>();
        props.put(org.apache.cxf.ws.security.SecurityConstants.KERBEROS_JAAS_CONTEXT_NAME, JAAS_NAME);
        props.put(org.apache.cxf.ws.security.SecurityConstants.KERBEROS_SPN, spn);
        EndpointImpl ep = new EndpointImpl(bus, new Calculator(), SOAPBinding.SOAP12HTTP_BINDING);
        ep.setWsdlLocation(wsdl.toUri().toString());
        ep.setServiceName(new QName(TNS, "Service"));
        ep.setEndpointName(new QName(TNS, "CalculatorPort"));
        ep.setProperties(props);
        ep.publish(address);
        System.out.println("LISTENING " + address);
        System.out.flush();

        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (stdin.readLine() != null) {
            // the verdict comes at end of stdin
        }
        Result r = new Result();
        synchronized (CxfSpnegoService.class) {
            r.put("ok", ERRORS.isEmpty());
            r.put("calls", new ArrayList<>(CALLS));
            r.put("faults", new ArrayList<>(FAULTS));
            r.put("errors", new ArrayList<>(ERRORS));
        }
        r.put("final", true);
        r.print();
        System.exit(ERRORS.isEmpty() ? Result.OK : Result.ERROR);
    }
}
