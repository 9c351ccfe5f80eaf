import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HexFormat;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A TLS peer on the JDK's own TLS (JSSE's SSLEngine), for wssc's TLSNEGO tests: an independent
 * TLS implementation on the other side of Python's ssl. One command a line on stdin, one answer a
 * line on stdout; TLS records travel in base64 ("-" for none).
 *
 * <pre>
 *   java TlsPeer server|client PROTOCOLS [KEYSTORE.p12 PASSWORD] [need-client-auth]
 *   HS b64      feed records, run the handshake as far as it goes: "b64-out done|more"
 *   WRAP hex    seal application data: one record, b64
 *   UNWRAP b64  open one record: hex
 *   INFO        the protocol and cipher suite negotiated
 *   PEER        the peer's certificate (DER, b64) or "-"
 * </pre>
 *
 * It accepts any peer certificate (the test checks it): its trust decision is not under test.
 */
public class TlsPeer {
    private static SSLEngine engine;
    private static ByteBuffer pending = ByteBuffer.allocate(0);

    public static void main(String[] args) throws Exception {
        boolean server = args[0].equals("server");
        SSLContext ctx = SSLContext.getInstance("TLS");
        KeyManager[] keys = null;
        if (args.length > 3) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (FileInputStream in = new FileInputStream(args[2])) {
                ks.load(in, args[3].toCharArray());
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, args[3].toCharArray());
            keys = kmf.getKeyManagers();
        }
        TrustManager[] anyPeer = {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] chain, String type) {}
            public void checkServerTrusted(X509Certificate[] chain, String type) {}
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }};
        ctx.init(keys, anyPeer, null);
        engine = ctx.createSSLEngine();
        engine.setUseClientMode(!server);
        engine.setEnabledProtocols(args[1].split(","));
        if (server && args.length > 4 && args[4].equals("need-client-auth")) {
            engine.setNeedClientAuth(true);
        }
        engine.beginHandshake();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        PrintStream out = System.out;
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split(" ", 2);
            String arg = parts.length > 1 ? parts[1] : "-";
            switch (parts[0]) {
                case "HS" -> {
                    byte[] sent = handshake(decode(arg));
                    boolean done = engine.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING;
                    out.println(encode(sent) + (done ? " done" : " more"));
                }
                case "WRAP" -> out.println(encode(wrap(HexFormat.of().parseHex(arg))));
                case "UNWRAP" -> out.println(HexFormat.of().formatHex(unwrap(decode(arg))));
                case "INFO" -> out.println(engine.getSession().getProtocol() + " " + engine.getSession().getCipherSuite());
                case "PEER" -> {
                    Certificate[] chain;
                    try {
                        chain = engine.getSession().getPeerCertificates();
                    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                        chain = new Certificate[0];
                    }
                    out.println(chain.length == 0 ? "-" : encode(chain[0].getEncoded()));
                }
                default -> out.println("ERROR unknown command");
            }
            out.flush();
        }
    }

    private static byte[] decode(String s) {
        return s.equals("-") ? new byte[0] : Base64.getDecoder().decode(s);
    }

    private static String encode(byte[] b) {
        return b.length == 0 ? "-" : Base64.getEncoder().encodeToString(b);
    }

    private static byte[] handshake(byte[] input) throws Exception {
        ByteBuffer data = ByteBuffer.allocate(pending.remaining() + input.length);
        data.put(pending).put(input).flip();
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        ByteBuffer net = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        ByteBuffer app = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        while (true) {
            HandshakeStatus hs = engine.getHandshakeStatus();
            if (hs == HandshakeStatus.NEED_TASK) {
                Runnable task;
                while ((task = engine.getDelegatedTask()) != null) {
                    task.run();
                }
            } else if (hs == HandshakeStatus.NEED_WRAP) {
                net.clear();
                SSLEngineResult r = engine.wrap(ByteBuffer.allocate(0), net);
                net.flip();
                sent.write(net.array(), 0, net.limit());
                if (r.getStatus() != SSLEngineResult.Status.OK) {
                    throw new IllegalStateException("wrap: " + r.getStatus());
                }
            } else if (hs == HandshakeStatus.NEED_UNWRAP || hs == HandshakeStatus.NEED_UNWRAP_AGAIN) {
                if (hs == HandshakeStatus.NEED_UNWRAP && !data.hasRemaining()) {
                    break;
                }
                app.clear();
                SSLEngineResult r = engine.unwrap(data, app);
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                    break;
                }
                if (r.getStatus() != SSLEngineResult.Status.OK) {
                    throw new IllegalStateException("unwrap: " + r.getStatus());
                }
            } else {
                break;
            }
        }
        pending = ByteBuffer.allocate(data.remaining()).put(data).flip();
        return sent.toByteArray();
    }

    private static byte[] wrap(byte[] plain) throws Exception {
        ByteBuffer net = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        SSLEngineResult r = engine.wrap(ByteBuffer.wrap(plain), net);
        if (r.getStatus() != SSLEngineResult.Status.OK) {
            throw new IllegalStateException("wrap: " + r.getStatus());
        }
        net.flip();
        byte[] out = new byte[net.limit()];
        net.get(out);
        return out;
    }

    private static byte[] unwrap(byte[] record) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(record);
        ByteBuffer app = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        while (in.hasRemaining()) {
            SSLEngineResult r = engine.unwrap(in, app);
            if (r.getStatus() != SSLEngineResult.Status.OK) {
                throw new IllegalStateException("unwrap: " + r.getStatus());
            }
        }
        app.flip();
        byte[] out = new byte[app.limit()];
        app.get(out);
        return out;
    }
}
