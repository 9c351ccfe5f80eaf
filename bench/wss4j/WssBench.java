// The WSS4J side of bench/bench_wss4j.py: protect + verify of one SOAP message in a warmed JVM.
//
// The message and its protection are those of wssc.security.protect with its defaults: a
// wsu:Timestamp, the SecurityContextToken, a DerivedKeyToken (P_SHA1, 24 bytes) for an
// HMAC-SHA1 signature over the Timestamp, the WS-Addressing Action, MessageID and To and the
// Body (exclusive c14n, SHA-1), a second DerivedKeyToken (32 bytes) for AES-256-CBC of the
// Body content and of the ds:Signature. Built on Debian's libwss4j-java 1.6.19 (the WSS4J
// peer under ../shared/peers/wss4j); nothing here is copied from it.
//
// Protocol, one command a line on stdin, one answer a line on stdout:
//   run N          N x (parse plain -> secure -> serialize; parse -> verify -> check)
//                  -> "ok <thread CPU ns> <wall ns>"
//   protect OUT    one secured message written to OUT -> "ok <bytes>"
//   verify IN OUT  verify IN (e.g. wssc's message), write the processed envelope to OUT
//                  -> "ok" or "fail <reason>"
//   quit
// Arguments: <plain.xml> <secret base64> <SCT identifier> <wsa namespace>

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.xml.XMLConstants;
import javax.xml.namespace.QName;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.apache.ws.security.WSConstants;
import org.apache.ws.security.WSDataRef;
import org.apache.ws.security.WSEncryptionPart;
import org.apache.ws.security.WSPasswordCallback;
import org.apache.ws.security.WSSConfig;
import org.apache.ws.security.WSSecurityEngine;
import org.apache.ws.security.WSSecurityEngineResult;
import org.apache.ws.security.conversation.ConversationConstants;
import org.apache.ws.security.message.WSSecDKEncrypt;
import org.apache.ws.security.message.WSSecDKSign;
import org.apache.ws.security.message.WSSecHeader;
import org.apache.ws.security.message.WSSecSecurityContextToken;
import org.apache.ws.security.message.WSSecTimestamp;
import org.apache.ws.security.util.WSSecurityUtil;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

public class WssBench {
    final byte[] plain;
    final byte[] secret;
    final String sctId;
    final String wsa;
    final DocumentBuilder builder;
    final Transformer transformer;
    final WSSConfig cfg = WSSConfig.getNewInstance();
    final WSSecurityEngine engine = new WSSecurityEngine();
    final CallbackHandler cb;

    WssBench(byte[] plain, byte[] secret, String sctId, String wsa) throws Exception {
        this.plain = plain;
        this.secret = secret;
        this.sctId = sctId;
        this.wsa = wsa;
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        f.setExpandEntityReferences(false);
        builder = f.newDocumentBuilder();
        transformer = TransformerFactory.newInstance().newTransformer();
        transformer.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
        transformer.setOutputProperty(OutputKeys.INDENT, "no");
        transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
        engine.setWssConfig(cfg);
        cb = new CallbackHandler() {
            @Override
            public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
                for (Callback c : callbacks) {
                    if (!(c instanceof WSPasswordCallback)) {
                        throw new UnsupportedCallbackException(c);
                    }
                    WSPasswordCallback pc = (WSPasswordCallback) c;
                    if (WssBench.this.sctId.equals(pc.getIdentifier())) {
                        pc.setKey(WssBench.this.secret);
                    }
                }
            }
        };
    }

    Document parse(byte[] b) throws Exception {
        return builder.parse(new ByteArrayInputStream(b));
    }

    byte[] serialize(Document doc) throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(4096);
        transformer.transform(new DOMSource(doc), new StreamResult(bos));
        return bos.toByteArray();
    }

    byte[] protect() throws Exception {
        Document doc = parse(plain);
        String soapNs = WSSecurityUtil.getSOAPNamespace(doc.getDocumentElement());
        WSSecHeader secHeader = new WSSecHeader();
        secHeader.setMustUnderstand(true);
        Element sec = secHeader.insertSecurityHeader(doc);
        WSSecTimestamp ts = new WSSecTimestamp(cfg);
        ts.setTimeToLive(300);
        ts.prepare(doc);
        sec.appendChild(ts.getElement());
        String sctWsuId = "SCT-1";
        WSSecSecurityContextToken sct = new WSSecSecurityContextToken();
        sct.setWscVersion(ConversationConstants.VERSION_05_02);
        sct.setIdentifier(sctId);
        sct.setSctId(sctWsuId);
        sct.prepare(doc, null);
        sec.appendChild(sct.getSct().getElement());

        WSSecDKSign sig = new WSSecDKSign(cfg);
        sig.setWscVersion(ConversationConstants.VERSION_05_02);
        sig.setExternalKey(secret, sctWsuId);
        sig.setCustomValueType(WSConstants.WSC_SCT);
        sig.setSignatureAlgorithm(WSConstants.HMAC_SHA1);
        sig.setDerivedKeyLength(24);
        List<WSEncryptionPart> parts = new ArrayList<WSEncryptionPart>();
        parts.add(new WSEncryptionPart("Timestamp", WSConstants.WSU_NS, ""));
        parts.add(new WSEncryptionPart("Action", wsa, ""));
        parts.add(new WSEncryptionPart("MessageID", wsa, ""));
        parts.add(new WSEncryptionPart("To", wsa, ""));
        parts.add(new WSEncryptionPart(WSConstants.ELEM_BODY, soapNs, ""));
        sig.setParts(parts);
        sig.prepare(doc, secHeader);
        sig.appendDKElementToHeader(secHeader);
        List<javax.xml.crypto.dsig.Reference> refs = sig.addReferencesToSign(parts, secHeader);
        sig.computeSignature(refs, false, null);
        Element sigElem = sig.getSignatureElement();

        WSSecDKEncrypt enc = new WSSecDKEncrypt(cfg);
        enc.setWscVersion(ConversationConstants.VERSION_05_02);
        enc.setExternalKey(secret, sctWsuId);
        enc.setCustomValueType(WSConstants.WSC_SCT);
        enc.setSymmetricEncAlgorithm(WSConstants.AES_256);
        enc.prepare(doc);
        Element encDkt = enc.getdktElement();
        sec.insertBefore(encDkt, sigElem);
        List<WSEncryptionPart> encParts = new ArrayList<WSEncryptionPart>();
        encParts.add(new WSEncryptionPart(WSConstants.ELEM_BODY, soapNs, "Content"));
        encParts.add(new WSEncryptionPart(sig.getSignatureId(), "Element"));
        Element refList = enc.encryptForExternalRef(null, encParts);
        sec.insertBefore(refList, encDkt.getNextSibling());
        return serialize(doc);
    }

    /** Verify; null if the Body was signed and its content decrypted, else the reason. */
    String verify(Document doc) throws Exception {
        List<WSSecurityEngineResult> results = engine.processSecurityHeader(doc, null, cb, null, null);
        if (results == null) {
            return "no Security header";
        }
        boolean bodySigned = false, bodyEncrypted = false, tsSigned = false;
        for (WSSecurityEngineResult r : results) {
            int action = (Integer) r.get(WSSecurityEngineResult.TAG_ACTION);
            @SuppressWarnings("unchecked")
            List<WSDataRef> drefs = (List<WSDataRef>) r.get(WSSecurityEngineResult.TAG_DATA_REF_URIS);
            if (drefs == null) {
                continue;
            }
            for (WSDataRef d : drefs) {
                QName qn = d.getName();
                String local = qn == null ? "" : qn.getLocalPart();
                if (action == WSConstants.SIGN) {
                    bodySigned |= WSConstants.ELEM_BODY.equals(local);
                    tsSigned |= "Timestamp".equals(local);
                } else if (action == WSConstants.ENCR) {
                    bodyEncrypted |= WSConstants.ELEM_BODY.equals(local) || d.isContent();
                }
            }
        }
        if (!bodySigned) {
            return "Body not signed";
        }
        if (!tsSigned) {
            return "Timestamp not signed";
        }
        if (!bodyEncrypted) {
            return "Body not encrypted";
        }
        return null;
    }

    void roundTrip() throws Exception {
        String why = verify(parse(protect()));
        if (why != null) {
            throw new IllegalStateException(why);
        }
    }

    public static void main(String[] argv) throws Exception {
        Logger.getLogger("").setLevel(Level.OFF);
        byte[] plain = Files.readAllBytes(Paths.get(argv[0]));
        WssBench b = new WssBench(plain, Base64.getDecoder().decode(argv[1]), argv[2], argv[3]);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            try {
                switch (w[0]) {
                    case "run": {
                        int n = Integer.parseInt(w[1]);
                        long c0 = mx.getCurrentThreadCpuTime();
                        long t0 = System.nanoTime();
                        for (int i = 0; i < n; i++) {
                            b.roundTrip();
                        }
                        long t1 = System.nanoTime();
                        long c1 = mx.getCurrentThreadCpuTime();
                        System.out.println("ok " + (c1 - c0) + " " + (t1 - t0));
                        break;
                    }
                    case "protect": {
                        byte[] m = b.protect();
                        Files.write(Paths.get(w[1]), m);
                        System.out.println("ok " + m.length);
                        break;
                    }
                    case "verify": {
                        Document doc = b.parse(Files.readAllBytes(Paths.get(w[1])));
                        String why = b.verify(doc);
                        Files.write(Paths.get(w[2]), b.serialize(doc));
                        System.out.println(why == null ? "ok" : "fail " + why);
                        break;
                    }
                    case "quit":
                        return;
                    default:
                        System.out.println("fail unknown command " + w[0]);
                }
            } catch (Exception e) {
                System.out.println("fail " + e.getClass().getSimpleName() + ": "
                    + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
            System.out.flush();
        }
    }
}
