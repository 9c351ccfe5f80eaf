package wssc.metro;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;

/** Metro's passwordHandler (wsit-client.xml): the password comes from -Dwssc.password. */
public final class PasswordHandler implements CallbackHandler {
    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        for (Callback cb : callbacks) {
            if (cb instanceof PasswordCallback pc) {
                pc.setPassword(System.getProperty("wssc.password", "").toCharArray());
            } else {
                throw new UnsupportedCallbackException(cb);
            }
        }
    }
}
