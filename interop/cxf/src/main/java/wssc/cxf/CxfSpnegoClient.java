package wssc.cxf;

import jakarta.xml.ws.BindingProvider;
import jakarta.xml.ws.Dispatch;
import jakarta.xml.ws.Service;
import java.net.URL;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.xml.namespace.QName;
import javax.xml.transform.Source;
import org.apache.cxf.message.Message;
import org.apache.cxf.phase.AbstractPhaseInterceptor;
import org.apache.cxf.phase.Phase;
import org.apache.cxf.rt.security.SecurityConstants;
import org.apache.cxf.ws.policy.AssertionInfo;
import org.apache.cxf.ws.policy.AssertionInfoMap;
import org.apache.cxf.ws.policy.PolicyVerificationInInterceptor;

/**
 * A CXF SPNEGO client (CXF's {@code SpnegoContextTokenOutInterceptor}, over Java's own
 * Kerberos: JAAS {@code Krb5LoginModule} and the JDK's GSS-API), built like {@link CxfClient}
 * from a service's LIVE {@code ?wsdl}: CXF reads the {@code sp:SpnegoContextToken} in its
 * policy and negotiates it itself (as the protection token of the application messages, or as
 * the bootstrap of a SecureConversationToken, whichever the WSDL says).
 *
 * <pre>
 * java -cp CLASSPATH wssc.cxf.CxfSpnegoClient --wsdl URL?wsdl --krb5-conf PATH
 *      --principal alice@REALM (--password PW | --keytab PATH) --spn HTTP@host
 *      [--address URL] [--calls N] [--no-cancel] [--http11] [--service NAME --port NAME]
 *      [--no-assert-sp12-flags]
 * </pre>
 *
 * {@code --spn} is the service's name in GSS host-based form ({@code service@host}, as WSS4J's
 * {@code DefaultSpnegoClientAction} reads it). Nothing of Kerberos is configured but the
 * krb5.conf, the client's principal and its secret: no ticket cache is read or written.
 * Prints one line {@code RESULT {json}}; exit 0 ok, 1 a SOAP fault from the service, 2
 * anything else.
 */
public final class CxfSpnegoClient {
    static final String JAAS_NAME = "wssc-spnego-client";

    private CxfSpnegoClient() {
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

    /** The JAAS login CXF runs (by name): Krb5LoginModule with a keytab, or a password. */
    static void installJaas(String principal, String keytab) {
        Map<String, String> options = new HashMap<>();
        options.put("principal", principal);
        options.put("isInitiator", "true");
        options.put("refreshKrb5Config", "true");
        options.put("useTicketCache", "false");
        options.put("storeKey", "false");
        if (keytab != null) {
            options.put("useKeyTab", "true");
            options.put("keyTab", keytab);
            options.put("doNotPrompt", "true");
        }
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

    /** SP 1.2's flags of an sp:SpnegoContextToken (WCF exports them, FINDINGS S7). */
    static final String SP12 = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
    static final List<QName> UNASSERTED = List.of(
            new QName(SP12, "MustNotSendCancel"), new QName(SP12, "MustNotSendAmend"),
            new QName(SP12, "MustNotSendRenew"));

    /**
     * CXF's SPNEGO code never asserts the SP 1.2 flags MustNotSendCancel/Amend/Renew of an
     * {@code sp:SpnegoContextToken} (it has nothing to do for them), so its inbound policy
     * verification refuses every reply under WCF's SP 1.2 policy. This marks them asserted,
     * on the inbound path only, just before that verification: nothing else is changed.
     * Off with {@code --no-assert-sp12-flags} (FINDINGS S7).
     */
    static final class AssertSp12Flags extends AbstractPhaseInterceptor<Message> {
        AssertSp12Flags() {
            super(Phase.PRE_INVOKE);
            addBefore(PolicyVerificationInInterceptor.class.getName());
        }

        @Override
        public void handleMessage(Message message) {
            AssertionInfoMap aim = message.get(AssertionInfoMap.class);
            if (aim == null) {
                return;
            }
            for (QName q : UNASSERTED) {
                java.util.Collection<AssertionInfo> ais = aim.get(q);
                if (ais != null) {
                    for (AssertionInfo ai : ais) {
                        ai.setAsserted(true);
                    }
                }
            }
        }
    }

    /** Answers Krb5LoginModule's name and password prompts. */
    static CallbackHandler passwordHandler(String principal, String password) {
        return (Callback[] callbacks) -> {
            for (Callback cb : callbacks) {
                if (cb instanceof NameCallback nc) {
                    nc.setName(principal);
                } else if (cb instanceof PasswordCallback pc) {
                    pc.setPassword(password == null ? new char[0] : password.toCharArray());
                } else {
                    throw new UnsupportedCallbackException(cb);
                }
            }
        };
    }

    static int run(String[] argv, Result result) throws Exception {
        String wsdl = CxfClient.opt(argv, "--wsdl", null);
        String krb5 = CxfClient.opt(argv, "--krb5-conf", null);
        String principal = CxfClient.opt(argv, "--principal", null);
        String password = CxfClient.opt(argv, "--password", null);
        String keytab = CxfClient.opt(argv, "--keytab", null);
        String spn = CxfClient.opt(argv, "--spn", null);
        if (wsdl == null || krb5 == null || principal == null || spn == null || (password == null) == (keytab == null)) {
            throw new IllegalArgumentException(
                    "--wsdl URL, --krb5-conf PATH, --principal NAME, --spn service@host and one of "
                    + "--password PW or --keytab PATH are required");
        }
        System.setProperty("java.security.krb5.conf", krb5);
        System.setProperty("javax.security.auth.useSubjectCredsOnly", "true");
        installJaas(principal, keytab);
        int calls = Integer.parseInt(CxfClient.opt(argv, "--calls", "3"));
        String address = CxfClient.opt(argv, "--address", null);
        String serviceName = CxfClient.opt(argv, "--service", "Service");
        String portName = CxfClient.opt(argv, "--port", null);
        String tns = CxfClient.opt(argv, "--tns", CxfClient.TNS);
        if (CxfClient.flag(argv, "--http11")) {
            // See CxfClient: keeps Java's HttpClient from offering h2c to uvicorn.
            org.apache.cxf.BusFactory.getDefaultBus()
                    .setProperty("org.apache.cxf.transport.http.forceVersion", "1.1");
            result.put("http11", true);
        }
        result.put("principal", principal);
        result.put("spn", spn);
        boolean assertFlags = !CxfClient.flag(argv, "--no-assert-sp12-flags");
        if (assertFlags) {
            // On the bus: the STS client CXF creates for the RST/SCT uses it too.
            org.apache.cxf.BusFactory.getDefaultBus().getInInterceptors().add(new AssertSp12Flags());
        }
        result.put("assert_sp12_flags", assertFlags);

        Dispatch<Source> d;
        try {
            Service svc = Service.create(new URL(wsdl), new QName(tns, serviceName));
            QName port = portName != null ? new QName(tns, portName) : svc.getPorts().next();
            result.put("port", port.getLocalPart());
            d = svc.createDispatch(port, Source.class, Service.Mode.PAYLOAD);
        } catch (Throwable t) {
            return result.failure("wsdl", t);
        }
        Map<String, Object> ctx = d.getRequestContext();
        if (address != null) {
            ctx.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, address);
        }
        ctx.put(org.apache.cxf.ws.security.SecurityConstants.KERBEROS_JAAS_CONTEXT_NAME, JAAS_NAME);
        ctx.put(org.apache.cxf.ws.security.SecurityConstants.KERBEROS_SPN, spn);
        ctx.put(SecurityConstants.CALLBACK_HANDLER, passwordHandler(principal, password));
        ctx.put(SecurityConstants.STS_TOKEN_DO_CANCEL, !CxfClient.flag(argv, "--no-cancel"));

        List<Object> results = new ArrayList<>();
        result.put("results", results);
        for (int i = 1; i <= calls; i++) {
            String reply;
            try {
                reply = CxfClient.invoke(d, tns + "ICalculator/Add",
                        "<Add xmlns=\"" + tns + "\"><a>" + i + "</a><b>100</b></Add>");
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
