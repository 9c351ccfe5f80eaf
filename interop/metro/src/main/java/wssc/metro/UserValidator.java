package wssc.metro;

import com.sun.xml.wss.impl.callback.PasswordValidationCallback;
import java.util.HashMap;
import java.util.Map;

/** Metro's usernameValidator: the users come from -Dwssc.users=name:password,name:password. */
public final class UserValidator implements PasswordValidationCallback.PasswordValidator {
    @Override
    public boolean validate(PasswordValidationCallback.Request request) {
        if (!(request instanceof PasswordValidationCallback.PlainTextPasswordRequest plain)) {
            return false;
        }
        Map<String, String> users = new HashMap<>();
        for (String u : System.getProperty("wssc.users", "alice:secret").split(",")) {
            int i = u.indexOf(':');
            if (i > 0) {
                users.put(u.substring(0, i), u.substring(i + 1));
            }
        }
        boolean ok = plain.getPassword() != null && plain.getPassword().equals(users.get(plain.getUsername()));
        System.out.println("AUTH " + plain.getUsername() + " " + (ok ? "ok" : "refused"));
        System.out.flush();
        return ok;
    }
}
