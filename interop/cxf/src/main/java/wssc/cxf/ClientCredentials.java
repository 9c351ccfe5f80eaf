package wssc.cxf;

import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import org.apache.cxf.BusFactory;
import org.apache.cxf.configuration.jsse.TLSClientParameters;
import org.apache.cxf.rt.security.SecurityConstants;
import org.apache.cxf.transport.http.HTTPConduitConfigurer;
import org.apache.wss4j.common.crypto.Merlin;
import org.apache.wss4j.common.ext.WSPasswordCallback;

/**
 * The CXF client's credentials for the certificate bootstraps, set the way a CXF user sets them
 * (CXF's documented {@code security.*} properties): a UsernameToken (UserNameForCertificate), or
 * a client key pair that signs as an endorsing X.509 token (MutualCertificate,
 * CertificateOverTransport); and TLS trust limited to the service's certificate for https.
 */
final class ClientCredentials {
    static final String ALIAS = "client";
    static final String PASSWORD = "changeit";

    private ClientCredentials() {
    }

    static void apply(Map<String, Object> ctx, String user, String certPem, String keyPem, X509Certificate server,
                      Result result) throws Exception {
        if (user != null) {
            int colon = user.indexOf(':');
            ctx.put(SecurityConstants.USERNAME, user.substring(0, colon));
            ctx.put(SecurityConstants.PASSWORD, user.substring(colon + 1));
            result.put("user", user.substring(0, colon));
        }
        if (certPem != null) {
            X509Certificate cert = Certs.readPem(Path.of(certPem));
            PrivateKey key = CxfService.readKey(Path.of(keyPem));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, PASSWORD.toCharArray(), new Certificate[] {cert});
            ks.setCertificateEntry("wssc", server);
            Merlin m = new Merlin(new Properties(), ClientCredentials.class.getClassLoader(), null);
            m.setKeyStore(ks);
            m.setTrustStore(ks);
            ctx.put(SecurityConstants.SIGNATURE_CRYPTO, m);
            ctx.put(SecurityConstants.SIGNATURE_USERNAME, ALIAS);
            CallbackHandler keyPassword = (Callback[] callbacks) -> {
                for (Callback c : callbacks) {
                    if (c instanceof WSPasswordCallback pc && pc.getUsage() != WSPasswordCallback.USERNAME_TOKEN) {
                        pc.setPassword(PASSWORD);
                    }
                }
            };
            ctx.put(SecurityConstants.CALLBACK_HANDLER, keyPassword);
            result.put("client", cert.getSubjectX500Principal().getName());
        }
    }

    /** TLS (WSDL fetch and every CXF conduit of the bus) trusting exactly {@code server}. */
    static void trustTls(X509Certificate server) throws Exception {
        KeyStore trust = Certs.trustStore(server, "wssc");
        SSLContext tls = Certs.tls(trust);
        SSLContext.setDefault(tls);
        HttpsURLConnection.setDefaultSSLSocketFactory(tls.getSocketFactory());
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        TLSClientParameters params = new TLSClientParameters();
        params.setTrustManagers(tmf.getTrustManagers());
        HTTPConduitConfigurer configurer = (name, address, conduit) -> conduit.setTlsClientParameters(params);
        BusFactory.getDefaultBus().setExtension(configurer, HTTPConduitConfigurer.class);
    }
}
