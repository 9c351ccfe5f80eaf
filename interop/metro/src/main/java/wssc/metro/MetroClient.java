package wssc.metro;

import jakarta.xml.ws.BindingProvider;
import java.io.Closeable;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.HttpsURLConnection;
import wssc.metro.gen.ICalculator;
import wssc.metro.gen.Service;

/**
 * A Metro (WSIT) client of wssc's demo service, through a generated port (wsimport), so the
 * whole WSIT pipeline runs: RST/SCT on the first call, secured calls, Cancel on close.
 *
 * <pre>
 * java -cp CLASSPATH wssc.metro.MetroClient --wsdl URL?wsdl [--server-cert PEM] [--tls-cert PEM[,PEM…]]
 *      [--username U --password P] [--calls N] [--sleep SECONDS[,SECONDS…]] [--address URL] [--no-close]
 *      [--client-cert PEM --client-key PEM(PKCS8)]
 * </pre>
 *
 * The policy comes from the LIVE WSDL; META-INF/wsit-client.xml adds the trust store
 * ($WSIT_HOME/trust.p12, written here from --server-cert), the client's key store
 * ($WSIT_HOME/client.p12, alias "client", from --client-cert/--client-key: MutualCertificate)
 * and the username/password handlers.
 * {@code --sleep S} sleeps S seconds before every call after the first; {@code --sleep A,B} sleeps A
 * before call 2, B before call 3, and nothing before the later calls (a renewal test thus crosses
 * the key expiry once and then calls at once, so a slow machine cannot make it cross twice).
 * Prints one line {@code RESULT {json}}; exit 0 ok, 1 a SOAP fault from the service, 2 other.
 */
public final class MetroClient {
    private MetroClient() {
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

    private static String opt(String[] argv, String name, String dflt) {
        for (int i = 0; i < argv.length - 1; i++) {
            if (argv[i].equals(name)) {
                return argv[i + 1];
            }
        }
        return dflt;
    }

    private static boolean flag(String[] argv, String name) {
        for (String a : argv) {
            if (a.equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** One Add through a {@code Dispatch<Source>} (PAYLOAD mode) instead of the generated port. */
    static int dispatch(String wsdl, String address, Result result) {
        try {
            jakarta.xml.ws.Service svc = jakarta.xml.ws.Service.create(new URL(wsdl),
                    new javax.xml.namespace.QName("http://tempuri.org/", "Service"));
            jakarta.xml.ws.Dispatch<javax.xml.transform.Source> d = svc.createDispatch(
                    new javax.xml.namespace.QName("http://tempuri.org/", "WSHttpBinding_ICalculator"),
                    javax.xml.transform.Source.class, jakarta.xml.ws.Service.Mode.PAYLOAD);
            d.getRequestContext().put(BindingProvider.SOAPACTION_USE_PROPERTY, true);
            d.getRequestContext().put(BindingProvider.SOAPACTION_URI_PROPERTY, "http://tempuri.org/ICalculator/Add");
            if (address != null) {
                d.getRequestContext().put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, address);
            }
            javax.xml.transform.Source reply = d.invoke(new javax.xml.transform.stream.StreamSource(
                    new java.io.StringReader("<Add xmlns=\"http://tempuri.org/\"><a>1</a><b>100</b></Add>")));
            java.io.StringWriter w = new java.io.StringWriter();
            javax.xml.transform.TransformerFactory.newInstance().newTransformer()
                    .transform(reply, new javax.xml.transform.stream.StreamResult(w));
            result.put("reply", w.toString());
            ((java.io.Closeable) d).close();
        } catch (Throwable t) {
            return result.failure("dispatch", t);
        }
        result.put("ok", true);
        result.put("phase", "done");
        return Result.OK;
    }

    static int run(String[] argv, Result result) throws Exception {
        String wsdl = opt(argv, "--wsdl", null);
        if (wsdl == null) {
            throw new IllegalArgumentException("--wsdl URL is required");
        }
        int calls = Integer.parseInt(opt(argv, "--calls", "3"));
        String[] sleepArg = opt(argv, "--sleep", "0").split(",");
        double[] sleeps = new double[sleepArg.length];
        for (int i = 0; i < sleepArg.length; i++) {
            sleeps[i] = Double.parseDouble(sleepArg[i]);
        }
        String serverCert = opt(argv, "--server-cert", null);
        String tlsCert = opt(argv, "--tls-cert", serverCert);
        String address = opt(argv, "--address", null);
        String username = opt(argv, "--username", null);
        String password = opt(argv, "--password", null);
        if (username != null) {
            System.setProperty("wssc.username", username);
        }
        if (password != null) {
            System.setProperty("wssc.password", password);
        }

        Path home = Files.createTempDirectory("wssc-metro-");
        System.setProperty("WSIT_HOME", home.toString());
        X509Certificate service = serverCert == null ? null : Certs.readPem(Path.of(serverCert));
        Certs.save(Certs.trustStore(service, "wssc"), home.resolve("trust.p12"));
        KeyStore mine = KeyStore.getInstance("PKCS12");
        mine.load(null, null);
        String clientCert = opt(argv, "--client-cert", null);
        if (clientCert != null) {
            mine.setKeyEntry("client", MetroService.readKey(Path.of(opt(argv, "--client-key", null))),
                    "changeit".toCharArray(), new java.security.cert.Certificate[] {Certs.readPem(Path.of(clientCert))});
        }
        Certs.save(mine, home.resolve("client.p12"));
        if (tlsCert != null) {
            // --tls-cert A,B: each trusted (an STS and a relying party over HTTPS with their own keys)
            String[] pems = tlsCert.split(",");
            KeyStore tlsTrust = Certs.trustStore(Certs.readPem(Path.of(pems[0])), "tls");
            for (int i = 1; i < pems.length; i++) {
                tlsTrust.setCertificateEntry("tls" + i, Certs.readPem(Path.of(pems[i])));
            }
            HttpsURLConnection.setDefaultSSLSocketFactory(Certs.tls(tlsTrust).getSocketFactory());
        }

        if (flag(argv, "--dispatch")) {
            return dispatch(wsdl, address, result);
        }
        ICalculator port;
        try {
            port = new Service(new URL(wsdl)).getWSHttpBindingICalculator();
        } catch (Throwable t) {
            return result.failure("wsdl", t);
        }
        if (address != null) {
            ((BindingProvider) port).getRequestContext().put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, address);
        }
        List<Object> results = new ArrayList<>();
        result.put("results", results);
        for (int i = 1; i <= calls; i++) {
            double sleep = i == 1 ? 0 : sleeps.length == 1 ? sleeps[0] : i - 2 < sleeps.length ? sleeps[i - 2] : 0;
            if (sleep > 0) {
                Thread.sleep((long) (sleep * 1000));
            }
            int got;
            try {
                got = port.add(i, 100);
            } catch (Throwable t) {
                result.put("calls", i - 1);
                return result.failure("call " + i, t);
            }
            results.add(got);
            if (got != i + 100) {
                result.put("calls", i);
                return result.failure("call " + i,
                        new IllegalStateException("Add(" + i + ", 100) returned " + got));
            }
        }
        String echoed;
        try {
            echoed = port.echo("metro \u00e9\u00e8 <&>");
        } catch (Throwable t) {
            result.put("calls", calls);
            return result.failure("echo", t);
        }
        result.put("calls", calls);
        result.put("echo", echoed);
        if (!"metro \u00e9\u00e8 <&>".equals(echoed)) {
            return result.failure("echo", new IllegalStateException("Echo returned " + echoed));
        }
        if (flag(argv, "--no-close")) {
            result.put("closed", false);
        } else {
            try {
                ((Closeable) port).close();
            } catch (Throwable t) {
                result.put("closed", false);
                return result.failure("close", t);
            }
            result.put("closed", true);
        }
        result.put("ok", true);
        result.put("phase", "done");
        return Result.OK;
    }
}
