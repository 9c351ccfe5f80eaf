package wssc.cxf;

import jakarta.xml.soap.SOAPFault;
import jakarta.xml.ws.soap.SOAPFaultException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.namespace.QName;

/** The one machine-readable line a peer program prints: {@code RESULT {json}}. */
final class Result {
    /** Exit codes: 0 ok, 1 the peer answered with a SOAP fault, 2 any other failure. */
    static final int OK = 0;
    static final int FAULT = 1;
    static final int ERROR = 2;

    private final Map<String, Object> fields = new LinkedHashMap<>();

    Map<String, Object> fields() {
        return fields;
    }

    Result put(String key, Object value) {
        fields.put(key, value);
        return this;
    }

    /** Record a failure; returns the exit code it maps to (FAULT only for a real SOAP fault). */
    int failure(String phase, Throwable error) {
        put("ok", false);
        put("phase", phase);
        put("error", describe(error));
        SOAPFault fault = findFault(error);
        if (fault == null) {
            put("fault", null);
            return ERROR;
        }
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("code", clark(fault.getFaultCodeAsQName()));
        List<Object> subcodes = new ArrayList<>();
        try {
            Iterator<QName> it = fault.getFaultSubcodes();
            while (it.hasNext()) {
                subcodes.add(clark(it.next()));
            }
        } catch (UnsupportedOperationException soap11) {
            // SOAP 1.1 has no subcodes: the code itself carries the QName
        }
        f.put("subcodes", subcodes);
        f.put("reason", fault.getFaultString());
        put("fault", f);
        return FAULT;
    }

    static String clark(QName q) {
        return q == null ? null : "{" + q.getNamespaceURI() + "}" + q.getLocalPart();
    }

    static SOAPFault findFault(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SOAPFaultException sfe) {
                return sfe.getFault();
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        for (Throwable c = t; c != null && depth < 6; c = c.getCause(), depth++) {
            if (depth > 0) {
                sb.append(" <- ");
            }
            sb.append(c.getClass().getName()).append(": ").append(c.getMessage());
        }
        return sb.toString();
    }

    void print() {
        System.out.println("RESULT " + json(fields));
        System.out.flush();
    }

    static String json(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Boolean || v instanceof Number) {
            return v.toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                sb.append(json(String.valueOf(e.getKey()))).append(": ").append(json(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                sb.append(json(l.get(i)));
            }
            return sb.append(']').toString();
        }
        String s = v.toString();
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
