package wssc.cxf;

import jakarta.xml.ws.BindingProvider;
import jakarta.xml.ws.Dispatch;
import jakarta.xml.ws.Service;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.namespace.QName;
import javax.xml.transform.Source;
import org.apache.cxf.ws.security.SecurityConstants;

/**
 * A CXF client of {@code wssc serve --bootstrap kerberos} (WCF's Kerberos bootstrap:
 * {@code sp:KerberosToken}, {@code WssGssKerberosV5ApReqToken11}, in the bootstrap policy of
 * the secure conversation token), built from the service's LIVE {@code ?wsdl} as
 * {@link CxfClient} is, with Java's own Kerberos (JGSS, a JAAS login from a keytab).
 *
 * <pre>
 * java -cp CLASSPATH wssc.cxf.CxfKerberosClient --wsdl URL?wsdl --krb5-conf PATH
 *      --keytab PATH --principal NAME@REALM --spn HTTP/host [--calls N] [--no-cancel]
 * </pre>
 *
 * The JAAS configuration (Krb5LoginModule, the keytab, no prompt) is written to a temporary
 * file; {@code --krb5-conf} is the realm's krb5.conf (the KDC). The SPN is given in the
 * user-name form ({@code HTTP/host}, CXF's {@code ws-security.kerberos.is.username.in.servicename.form}).
 * Prints one line {@code RESULT {json}}; exit 0 ok, 1 a SOAP fault from the service, 2 anything else.
 */
public final class CxfKerberosClient {
    static final String JAAS_NAME = "wssc-kerberos";

    private CxfKerberosClient() {
    }

    public static void main(String[] argv) {
        Result result = new Result();
        int code;
        try {
            code = run(argv, result);
        } catch (Throwable t) {
            code = result.failure("setup", t);
        }
        result.print();
        System.exit(code);
    }

    static String required(String[] argv, String name) {
        String v = CxfClient.opt(argv, name, null);
        if (v == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return v;
    }

    static Path jaasConfig(String keytab, String principal) throws Exception {
        Path f = Files.createTempFile("wssc-jaas", ".conf");
        f.toFile().deleteOnExit();
        String conf = JAAS_NAME + " {\n  com.sun.security.auth.module.Krb5LoginModule required\n"
                + "  useKeyTab=true storeKey=true doNotPrompt=true refreshKrb5Config=true\n"
                + "  keyTab=\"" + keytab + "\"\n  principal=\"" + principal + "\";\n};\n";
        Files.writeString(f, conf, StandardCharsets.UTF_8);
        return f;
    }

    static int run(String[] argv, Result result) throws Exception {
        String wsdl = required(argv, "--wsdl");
        String krb5conf = required(argv, "--krb5-conf");
        String keytab = required(argv, "--keytab");
        String principal = required(argv, "--principal");
        String spn = required(argv, "--spn");
        int calls = Integer.parseInt(CxfClient.opt(argv, "--calls", "2"));
        System.setProperty("java.security.krb5.conf", krb5conf);
        System.setProperty("java.security.auth.login.config", jaasConfig(keytab, principal).toString());
        System.setProperty("javax.security.auth.useSubjectCredsOnly", "false");
        result.put("principal", principal);

        Dispatch<Source> d;
        try {
            Service svc = Service.create(new URL(wsdl), new QName(CxfClient.TNS, "Service"));
            QName port = svc.getPorts().next();
            result.put("port", port.getLocalPart());
            d = svc.createDispatch(port, Source.class, Service.Mode.PAYLOAD);
        } catch (Throwable t) {
            return result.failure("wsdl", t);
        }
        Map<String, Object> ctx = d.getRequestContext();
        ctx.put(SecurityConstants.KERBEROS_JAAS_CONTEXT_NAME, JAAS_NAME);
        ctx.put(SecurityConstants.KERBEROS_SPN, spn);
        ctx.put(SecurityConstants.KERBEROS_IS_USERNAME_IN_SERVICENAME_FORM, true);
        ctx.put(org.apache.cxf.rt.security.SecurityConstants.STS_TOKEN_DO_CANCEL,
                !CxfClient.flag(argv, "--no-cancel"));

        List<Object> results = new ArrayList<>();
        result.put("results", results);
        for (int i = 1; i <= calls; i++) {
            String reply;
            try {
                reply = CxfClient.invoke(d, CxfClient.TNS + "ICalculator/Add",
                        "<Add xmlns=\"" + CxfClient.TNS + "\"><a>" + i + "</a><b>100</b></Add>");
            } catch (Throwable t) {
                result.put("calls", i - 1);
                return result.failure("call " + i, t);
            }
            String got = CxfClient.text(reply, "AddResult");
            results.add(got == null ? reply : Integer.valueOf(got));
            if (!String.valueOf(i + 100).equals(got)) {
                result.put("calls", i);
                return result.failure("call " + i,
                        new IllegalStateException("Add(" + i + ", 100) returned " + reply));
            }
        }
        result.put("calls", calls);
        try {
            ((java.io.Closeable) d).close();
        } catch (Throwable t) {
            result.put("closed", false);
            return result.failure("close", t);
        }
        result.put("closed", true);
        result.put("ok", true);
        result.put("phase", "done");
        return Result.OK;
    }
}
